"""The embedded default dataset: English from the standard library's docstrings, built locally and cached.

No downloads: the text ships with every Python install. Module, class and function docstrings are read by
parsing the standard library's `.py` sources with `ast` (nothing is imported), plus the `pydoc_data`
topic pages; each text of at least `MIN_DOC_CHARS` characters is a document. Documents are ordered by the
SHA-256 of their text (a deterministic shuffle, like FineWeb's pre-shuffled file), the shortest prefix
holding a tenth of the text is the val split, and a SentencePiece BPE tokenizer with the official trainer arguments is trained on the train
split only. Shards use the official format and layout (`reference.data`).
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import logging
import os
import shutil
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm

from reference.data import SHARD_SIZE, DatasetPaths, write_split
from reference.tokenizer import assert_standalone_space

logger = logging.getLogger(__name__)

BUILD_VERSION = 1  # bump when the corpus recipe or the output layout changes
EMBEDDED_VOCAB_SIZE = 1024
MIN_DOC_CHARS = 200
VAL_FRACTION = 0.1  # val = the shortest prefix of documents holding at least this share of the text bytes
SPM_SEED = 1337
TOKENIZER_FILE = "tokenizer.model"
MANIFEST_FILE = "manifest.json"
VAL_DOCS_FILE = "val_documents.json"
# Test suites (odd or broken syntax, little prose), third-party code and demo scripts are not corpus.
SKIP_DIRS = frozenset({"site-packages", "dist-packages", "test", "tests", "idlelib", "lib2to3", "turtledemo", "__pycache__"})
TOPICS_FILE = "pydoc_data/topics.py"
_DOC_OWNERS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
_BLOCKS = (ast.If, ast.Try, ast.With, ast.For, ast.While)


@dataclass(frozen=True)
class EmbeddedDataset:
    """A built dataset: shards and tokenizer on disk, and the val documents' raw text."""

    root: Path
    data_path: Path  # directory holding the shards
    tokenizer_path: Path  # SentencePiece .model
    train_files: list[Path]
    val_files: list[Path]
    val_documents: list[str]
    vocab_size: int  # as trained (hard_vocab_limit=False may give fewer than requested)

    @property
    def paths(self) -> DatasetPaths:
        return DatasetPaths(self.data_path, self.tokenizer_path)


def stdlib_sources(stdlib: Path | None = None) -> list[tuple[str, Path]]:
    """`(relative posix path, path)` of every standard-library `.py` source outside SKIP_DIRS, sorted."""
    root = Path(stdlib or sysconfig.get_paths()["stdlib"])
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            if name.endswith(".py"):
                path = Path(dirpath) / name
                found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def _doc_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """Class and function definitions in source order, including nested and conditional ones."""
    nodes: list[ast.AST] = []
    for node in body:
        if isinstance(node, _DOC_OWNERS):
            nodes.append(node)
            nodes.extend(_doc_nodes(node.body))
        elif isinstance(node, _BLOCKS):
            for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                nodes.extend(_doc_nodes(block))
            for handler in getattr(node, "handlers", []):
                nodes.extend(_doc_nodes(handler.body))
    return nodes


def source_docstrings(source: bytes) -> list[str]:
    """Cleaned docstrings of a module and its classes and functions; [] if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    docs = (ast.get_docstring(node, clean=True) for node in [tree, *_doc_nodes(tree.body)])
    return [d for d in docs if d]


def topic_pages(source: bytes) -> list[str]:
    """The help pages of `pydoc_data/topics.py` (a dict literal), read without importing it, by key."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "topics" for t in node.targets):
            topics = ast.literal_eval(node.value)
            return [topics[k] for k in sorted(topics)]
    return []


def collect_documents(sources: Sequence[tuple[str, bytes]]) -> list[str]:
    """Deduplicated texts of at least MIN_DOC_CHARS characters, ordered by the SHA-256 of their UTF-8."""
    seen: set[str] = set()
    for rel, source in sources:
        texts = topic_pages(source) if rel == TOPICS_FILE else source_docstrings(source)
        seen.update(t for t in texts if len(t) >= MIN_DOC_CHARS)
    return sorted(seen, key=lambda t: hashlib.sha256(t.encode("utf-8")).digest())


def num_val_documents(docs: Sequence[str], fraction: float = VAL_FRACTION) -> int:
    """Length of the shortest prefix of `docs` holding at least `fraction` of their UTF-8 bytes."""
    sizes = [len(d.encode("utf-8")) for d in docs]
    target, total = fraction * sum(sizes), 0
    for k, size in enumerate(sizes, start=1):
        total += size
        if total >= target:
            return k
    return len(docs)


def trainer_args(vocab_size: int) -> dict[str, object]:
    """The official `build_sentencepiece_tokenizer` arguments (§1.2), single-threaded for determinism."""
    return {
        "model_type": "bpe",
        "vocab_size": vocab_size,
        "character_coverage": 0.999,
        "byte_fallback": True,
        "split_digits": True,
        "normalization_rule_name": "nmt_nfkc",
        "add_dummy_prefix": False,
        "pad_id": 0,
        "bos_id": 1,
        "eos_id": 2,
        "unk_id": 3,
        "hard_vocab_limit": False,
        "num_threads": 1,
        "minloglevel": 2,  # keep SentencePiece's INFO/WARNING chatter off stderr
    }


def train_tokenizer(train_docs: Sequence[str], vocab_size: int) -> bytes:
    """Serialized SentencePiece model trained on `train_docs` (NUL → space, stripped, empties skipped)."""
    texts = [t for t in (d.replace("\x00", " ").strip() for d in train_docs) if t]
    if not texts:
        raise ValueError("no non-empty training documents for the tokenizer")
    spm.set_random_generator_seed(SPM_SEED)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=model, **trainer_args(vocab_size))
    return model.getvalue()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_dataset(
    docs: Sequence[str], out_dir: Path, vocab_size: int, num_val_docs: int, *, shard_size: int = SHARD_SIZE
) -> EmbeddedDataset:
    """Train a tokenizer on `docs[num_val_docs:]` and export val (first `num_val_docs`) and train shards.

    Layout of `out_dir`: `tokenizer.model`, `fineweb_{val,train}_%06d.bin`, `val_documents.json` and
    `manifest.json` (sizes and file hashes; written last).
    """
    if not 0 < num_val_docs < len(docs):
        raise ValueError(f"num_val_docs must be in (0, {len(docs)}), got {num_val_docs}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.glob("fineweb_*.bin")):
        raise FileExistsError(f"{out_dir} already holds shards")
    val_docs, train_docs = list(docs[:num_val_docs]), list(docs[num_val_docs:])
    model = train_tokenizer(train_docs, vocab_size)
    (out_dir / TOKENIZER_FILE).write_bytes(model)
    sp = spm.SentencePieceProcessor(model_proto=model)
    assert_standalone_space(sp)
    vocab = int(sp.vocab_size())
    val_tokens, train_tokens = sp.encode(val_docs), sp.encode(train_docs)
    val_files = write_split(val_tokens, out_dir, "val", shard_size=shard_size, vocab_size=vocab)
    train_files = write_split(train_tokens, out_dir, "train", shard_size=shard_size, vocab_size=vocab)
    (out_dir / VAL_DOCS_FILE).write_text(json.dumps(val_docs, ensure_ascii=False), encoding="utf-8")
    manifest = {
        "build_version": BUILD_VERSION,
        "vocab_size": vocab,
        "requested_vocab_size": vocab_size,
        "num_docs": len(docs),
        "num_val_docs": num_val_docs,
        "val_text_bytes": sum(len(d.encode("utf-8")) for d in val_docs),
        "train_text_bytes": sum(len(d.encode("utf-8")) for d in train_docs),
        # shard tokens include one BOS per document
        "val_tokens": sum(len(t) + 1 for t in val_tokens),
        "train_tokens": sum(len(t) + 1 for t in train_tokens),
        "val_files": [p.name for p in val_files],
        "train_files": [p.name for p in train_files],
        "sha256": {p.name: _sha256(p) for p in [out_dir / TOKENIZER_FILE, *val_files, *train_files]},
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return load_dataset(out_dir)


def load_dataset(root: Path) -> EmbeddedDataset:
    """Open a dataset written by `build_dataset`."""
    root = Path(root)
    manifest = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8"))
    return EmbeddedDataset(
        root=root,
        data_path=root,
        tokenizer_path=root / TOKENIZER_FILE,
        train_files=[root / n for n in manifest["train_files"]],
        val_files=[root / n for n in manifest["val_files"]],
        val_documents=json.loads((root / VAL_DOCS_FILE).read_text(encoding="utf-8")),
        vocab_size=int(manifest["vocab_size"]),
    )


def default_cache_dir() -> Path:
    return Path(os.environ.get("PGOLF_CACHE") or Path.home() / ".cache" / "pgolf-audit")


def build_embedded_dataset(cache_dir: Path | None = None) -> EmbeddedDataset:
    """The embedded dataset, built once per content hash of its inputs into `cache_dir` and reused."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    sources = [(rel, path.read_bytes()) for rel, path in stdlib_sources()]
    key = hashlib.sha256(
        json.dumps([BUILD_VERSION, spm.__version__, EMBEDDED_VOCAB_SIZE, MIN_DOC_CHARS, VAL_FRACTION, SPM_SEED]).encode()
    )
    for rel, source in sources:
        key.update(rel.encode() + b"\0" + hashlib.sha256(source).digest())
    final = cache_dir / f"embedded-sp{EMBEDDED_VOCAB_SIZE}-{key.hexdigest()[:16]}"
    if (final / MANIFEST_FILE).is_file():
        return load_dataset(final)
    start = time.perf_counter()
    cache_dir.mkdir(parents=True, exist_ok=True)
    docs = collect_documents(sources)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_dir))
    try:
        build_dataset(docs, tmp, EMBEDDED_VOCAB_SIZE, num_val_documents(docs))
        try:
            tmp.rename(final)  # atomic publish; a concurrent builder may have won the race
        except OSError:
            if not (final / MANIFEST_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("built embedded dataset in %.1fs at %s", time.perf_counter() - start, final)
    return load_dataset(final)
