"""Synthetic data in the official format for sandboxed runs (built once, cached).

- Tokenizer: a SentencePiece BPE with the official trainer arguments and a small vocabulary
  (``PROBE_VOCAB``), trained with ``reference.corpus`` on ASCII standard-library docstrings, so a sweep
  over the full alphabet stays cheap.
- Train shards: those docstrings encoded as ``[BOS] + ids`` (real text, so training is ordinary).
- Val shard: a *content-addressable* stream (``shims.valindex``): documents of random ids, so every
  id tensor the submission touches maps back to val positions. An optional per-token byte sidecar
  (``fineweb_val_bytes_*.bin``, CaseOps layout) holds the reference byte count of every token.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from auditor.dynamic.shims.valindex import random_stream

PROBE_VOCAB = 384
VAL_TOKENS = 4097  # 32 windows of 128, plus the one extra target the reference loader keeps
TRAIN_DOCS = 1500
VAL_DOC_LEN = (40, 200)
VAL_SEED = 20240520
BOS_ID = 1  # every synthetic val document starts with it, as FineWeb documents start with <s>
RECIPE = 3  # bump when anything above changes


@dataclass(frozen=True)
class SyntheticData:
    root: Path
    tokenizer: Path
    val_stream: np.ndarray  # int64, the whole val split in order
    vocab_size: int

    @property
    def val_stream_path(self) -> Path:
        return self.root / "val_stream.npy"


def _cache_dir() -> Path:
    return Path(os.environ.get("PGOLF_CACHE") or Path.home() / ".cache" / "pgolf-audit")


def build(cache_dir: Path | None = None) -> SyntheticData:
    """The probe dataset, built once per recipe into the cache (atomic publish) and reused."""
    from reference.corpus import build_dataset, collect_documents, stdlib_sources
    from reference.data import write_shard
    from reference.tokenizer import load_tokenizer, lut_arrays, token_bytes_np

    key = hashlib.sha256(json.dumps([RECIPE, PROBE_VOCAB, VAL_TOKENS, TRAIN_DOCS, VAL_DOC_LEN, VAL_SEED]).encode())
    final = (cache_dir or _cache_dir()) / f"dynamic-probe-{key.hexdigest()[:12]}"
    if not (final / "done").is_file():
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
        try:
            docs = [d for d in collect_documents([(r, p.read_bytes()) for r, p in stdlib_sources()]) if d.isascii()]
            ds = build_dataset(docs[: TRAIN_DOCS + 1], tmp, PROBE_VOCAB, 1)
            for f in ds.val_files:
                f.unlink()
            stream = random_stream(ds.vocab_size, VAL_TOKENS, BOS_ID, 4, VAL_SEED, VAL_DOC_LEN)
            write_shard(tmp / "fineweb_val_000000.bin", stream, ds.vocab_size)
            luts = lut_arrays(load_tokenizer(ds.tokenizer_path), ds.vocab_size)
            nbytes = token_bytes_np(luts, np.concatenate([stream[:1], stream[:-1]]), stream)
            nbytes[0] = 0
            sidecar = tmp / "sidecar"
            sidecar.mkdir()
            write_shard(sidecar / "fineweb_val_bytes_000000.bin", nbytes)
            np.save(tmp / "val_stream.npy", stream)
            (tmp / "done").write_text("ok")
            try:
                tmp.rename(final)
            except OSError:
                if not (final / "done").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    stream = np.load(final / "val_stream.npy")
    return SyntheticData(final, final / "tokenizer.model", stream, int(json.loads((final / "manifest.json").read_text())["vocab_size"]))


def install(data: SyntheticData, data_dir: Path, sidecar: bool) -> None:
    """Copy the shards and tokenizer into ``data_dir`` (inside the sandbox's work tree)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for f in data.root.glob("fineweb_*.bin"):
        shutil.copyfile(f, data_dir / f.name)
    if sidecar:
        for f in (data.root / "sidecar").glob("*.bin"):
            shutil.copyfile(f, data_dir / f.name)
