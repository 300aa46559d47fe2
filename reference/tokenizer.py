"""SentencePiece loading and the challenge's per-token byte lookup tables (REFERENCE-STACK §2.2).

`b(t) = base_bytes[y_t] + (has_leading_space[y_t] and not is_boundary[y_{t-1}])`: a leading `▁` is charged
as the one space byte it stands for, except right after a boundary (BOS/control) token; byte-fallback pieces
cost 1 byte; control, unknown and unused ids cost 0 and are boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch

from reference.data import BOS_ID

SPACE_PIECE = "\u2581"


def load_tokenizer(path: Path | str) -> spm.SentencePieceProcessor:
    """Load a SentencePiece model from a `.model` file."""
    return spm.SentencePieceProcessor(model_file=str(path))


def as_processor(sp_or_path: spm.SentencePieceProcessor | Path | str) -> spm.SentencePieceProcessor:
    return sp_or_path if isinstance(sp_or_path, spm.SentencePieceProcessor) else load_tokenizer(sp_or_path)


def assert_standalone_space(sp: spm.SentencePieceProcessor) -> None:
    """Issue #897: without a `▁` piece a bare space becomes 3 byte tokens and is over-charged."""
    space_id = sp.piece_to_id(SPACE_PIECE)
    if sp.id_to_piece(space_id) != SPACE_PIECE or sp.is_unknown(space_id):
        raise ValueError("tokenizer has no standalone '▁' piece; byte accounting would over-count spaces")


def encode_document(sp: spm.SentencePieceProcessor, text: str) -> list[int]:
    """A document as stored in the shards: `[BOS] + encode(text)`, no EOS."""
    return [BOS_ID, *sp.encode(text)]


@dataclass(frozen=True)
class ByteLuts:
    """The three lookup tables of `build_sentencepiece_luts`, indexed by token id."""

    base_bytes: torch.Tensor  # int16
    has_leading_space: torch.Tensor  # bool
    is_boundary: torch.Tensor  # bool

    def token_bytes(self, prev_ids: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Bytes charged to each target `ids[i]` whose previous token is `prev_ids[i]` (int64)."""
        base = self.base_bytes[ids].to(torch.int64)
        space = self.has_leading_space[ids] & ~self.is_boundary[prev_ids]
        return base + space.to(torch.int64)

    def to(self, device: torch.device | str) -> ByteLuts:
        return ByteLuts(self.base_bytes.to(device), self.has_leading_space.to(device), self.is_boundary.to(device))


def build_sentencepiece_luts(sp: spm.SentencePieceProcessor, vocab_size: int | None = None) -> ByteLuts:
    """The baseline's tables, of size `max(sp.vocab_size(), vocab_size)`; ids past the tokenizer are boundaries."""
    base, space, boundary = lut_arrays(sp, vocab_size)
    return ByteLuts(torch.from_numpy(base), torch.from_numpy(space), torch.from_numpy(boundary))


def token_bytes_np(luts: tuple[np.ndarray, np.ndarray, np.ndarray], prev_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """:meth:`ByteLuts.token_bytes` in numpy (int64), for callers that must not run torch ops (the auditor's
    worker processes, which may be forked from a process whose torch thread pool is already running)."""
    base, space, boundary = luts
    return base[ids].astype(np.int64) + (space[ids] & ~boundary[prev_ids]).astype(np.int64)


def lut_arrays(sp: spm.SentencePieceProcessor, vocab_size: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The baseline's tables as numpy arrays: bytes per piece, leading space, boundary."""
    sp_vocab = int(sp.vocab_size())
    size = max(sp_vocab, vocab_size or 0)
    base = np.zeros(size, dtype=np.int16)
    space = np.zeros(size, dtype=np.bool_)
    boundary = np.ones(size, dtype=np.bool_)
    for i in range(sp_vocab):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
            continue
        boundary[i] = False
        if sp.is_byte(i):
            base[i] = 1
            continue
        piece = sp.id_to_piece(i)
        if piece.startswith(SPACE_PIECE):
            space[i] = True
            piece = piece[1:]
        base[i] = len(piece.encode("utf-8"))
    return base, space, boundary
