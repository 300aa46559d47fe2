"""Token shards in the challenge's binary format, the baseline loaders, and dataset resolution.

Format (REFERENCE-STACK §1.3): a 1,024-byte header of 256 little-endian int32 (magic 20240520,
version 1, token count, zeros), then the tokens as little-endian uint16. Each document is stored as
`[BOS] + encode(text)` with no EOS; documents are concatenated and may straddle shard boundaries.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

SHARD_MAGIC = 20240520
SHARD_VERSION = 1
HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
SHARD_SIZE = 10**8  # tokens per shard in the official export
BOS_ID = 1
MAX_TOKEN_ID = 2**16 - 1


def shard_name(split: str, index: int) -> str:
    """Official file name of shard `index` of `split` ("train" or "val")."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    return f"fineweb_{split}_{index:06d}.bin"


def write_shard(path: Path, tokens: Sequence[int] | np.ndarray, vocab_size: int | None = None) -> None:
    """Write one shard; ids must fit uint16 (and `vocab_size` when given)."""
    arr = np.asarray(tokens, dtype=np.int64)
    if arr.ndim != 1:
        raise ValueError("tokens must be one-dimensional")
    if arr.size >= 2**31:
        raise ValueError(f"too many tokens for one shard: {arr.size}")
    limit = MAX_TOKEN_ID + 1 if vocab_size is None else min(vocab_size, MAX_TOKEN_ID + 1)
    if arr.size and (arr.min() < 0 or arr.max() >= limit):
        raise ValueError(f"token ids must lie in [0, {limit}); got [{arr.min()}, {arr.max()}]")
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[:3] = (SHARD_MAGIC, SHARD_VERSION, arr.size)
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(arr.astype("<u2").tobytes())


def read_shard(path: Path) -> np.ndarray:
    """Read one shard as uint16, with the baseline's header and size checks."""
    path = Path(path)
    header = np.fromfile(path, dtype="<i4", count=HEADER_INTS)
    if header.size != HEADER_INTS or int(header[0]) != SHARD_MAGIC or int(header[1]) != SHARD_VERSION:
        raise ValueError(f"unexpected shard header for {path}")
    num_tokens = int(header[2])
    expected = HEADER_BYTES + 2 * num_tokens
    if path.stat().st_size != expected:
        raise ValueError(f"shard size mismatch for {path}: expected {expected} bytes")
    return np.fromfile(path, dtype="<u2", count=num_tokens, offset=HEADER_BYTES).astype(np.uint16)


def load_data_shard(path: Path) -> torch.Tensor:
    """The baseline's `load_data_shard`: a uint16 tensor of the shard's tokens."""
    return torch.from_numpy(read_shard(path))


def write_split(
    docs_tokens: Iterable[Sequence[int]],
    out_dir: Path,
    split: str,
    *,
    shard_size: int = SHARD_SIZE,
    vocab_size: int | None = None,
) -> list[Path]:
    """Write `[BOS] + doc` for every document into full shards of `shard_size` tokens; the last is short."""
    out_dir = Path(out_dir)
    paths: list[Path] = []
    pending: list[np.ndarray] = []
    count = 0

    def flush(arr: np.ndarray) -> None:
        path = out_dir / shard_name(split, len(paths))
        write_shard(path, arr, vocab_size)
        paths.append(path)

    for doc in docs_tokens:
        arr = np.concatenate([[BOS_ID], np.asarray(doc, dtype=np.int64)]).astype(np.int64)
        pending.append(arr)
        count += arr.size
        while count >= shard_size:
            buf = np.concatenate(pending)
            flush(buf[:shard_size])
            pending, count = [buf[shard_size:]], buf.size - shard_size
    if count:
        flush(np.concatenate(pending))
    return paths


def shard_files(pattern: str) -> list[Path]:
    """`sorted(glob(pattern))`, excluding CaseOps `_bytes_` sidecars that a val glob also matches."""
    files = [Path(p) for p in sorted(glob.glob(pattern)) if "_bytes_" not in Path(p).name]
    if not files:
        raise FileNotFoundError(f"no files found for pattern: {pattern}")
    return files


def load_validation_tokens(pattern: str, seq_len: int) -> torch.Tensor:
    """All val shards concatenated, cut to a whole number of `seq_len` windows plus one target token."""
    tokens = torch.cat([load_data_shard(f) for f in shard_files(pattern)]).contiguous()
    usable = ((tokens.numel() - 1) // seq_len) * seq_len
    if usable <= 0:
        raise ValueError(f"validation split is too short for seq_len={seq_len}")
    return tokens[: usable + 1]


class TokenStream:
    """The baseline stream: sorted shards read in order, wrapping around forever, no shuffling."""

    def __init__(self, pattern: str):
        self.files = shard_files(pattern)
        self.file_idx = 0
        self.tokens = load_data_shard(self.files[0])
        self.pos = 0

    def _advance_file(self) -> None:
        self.file_idx = (self.file_idx + 1) % len(self.files)
        self.tokens = load_data_shard(self.files[self.file_idx])
        self.pos = 0

    def take(self, n: int) -> torch.Tensor:
        """The next `n` tokens of the stream (crossing shard boundaries)."""
        chunks: list[torch.Tensor] = []
        remaining = n
        while remaining > 0:
            avail = self.tokens.numel() - self.pos
            if avail <= 0:
                self._advance_file()
                continue
            k = min(remaining, avail)
            chunks.append(self.tokens[self.pos : self.pos + k])
            self.pos += k
            remaining -= k
        return chunks[0] if len(chunks) == 1 else torch.cat(chunks)


class DistributedTokenLoader:
    """The baseline per-rank loader: every rank takes its own contiguous slice of one shared chunk."""

    def __init__(self, pattern: str, rank: int, world_size: int, device: torch.device | str = "cpu"):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world of size {world_size}")
        self.rank = rank
        self.world_size = world_size
        self.device = torch.device(device)
        self.stream = TokenStream(pattern)

    def next_batch(self, global_tokens: int, seq_len: int, grad_accum_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One micro-step's `(x, y)` of shape `[local // seq_len, seq_len]`, `y` = `x` shifted by one."""
        local_tokens = global_tokens // (self.world_size * grad_accum_steps)
        if local_tokens <= 0 or local_tokens % seq_len:
            raise ValueError(f"local batch of {local_tokens} tokens is not a positive multiple of {seq_len}")
        span = local_tokens + 1
        chunk = self.stream.take(span * self.world_size)
        local = chunk[self.rank * span : (self.rank + 1) * span].to(dtype=torch.int64)
        x = local[:-1].reshape(-1, seq_len)
        y = local[1:].reshape(-1, seq_len)
        return x.to(self.device), y.to(self.device)


@dataclass(frozen=True)
class DatasetPaths:
    """Where a dataset lives: the shard directory, its glob patterns and the tokenizer model."""

    data_path: Path
    tokenizer_path: Path

    @property
    def train_pattern(self) -> str:
        return str(self.data_path / "fineweb_train_*.bin")

    @property
    def val_pattern(self) -> str:
        return str(self.data_path / "fineweb_val_*.bin")


def resolve_dataset() -> DatasetPaths:
    """Real data when `DATA_PATH` and `TOKENIZER_PATH` are set, else the embedded dataset (built on demand)."""
    data_path, tokenizer_path = os.environ.get("DATA_PATH"), os.environ.get("TOKENIZER_PATH")
    if data_path and tokenizer_path:
        return DatasetPaths(Path(data_path), Path(tokenizer_path))
    if data_path or tokenizer_path:
        raise ValueError("set both DATA_PATH and TOKENIZER_PATH, or neither (for the embedded dataset)")
    from reference.corpus import build_embedded_dataset  # deferred: corpus itself writes shards with this module

    ds = build_embedded_dataset()
    return DatasetPaths(ds.data_path, ds.tokenizer_path)
