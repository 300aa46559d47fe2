"""The metric (REFERENCE-STACK §2.1), an independent byte ground truth, and the byte-accounting audit.

Two independent byte counts exist for a token stream produced by the official export:
- the challenge's rule, per token, from the lookup tables (`reference.tokenizer.ByteLuts`);
- the ground truth, per document: the UTF-8 length of SentencePiece's decoded (normalized) text.
They agree exactly on encoded text (§2.2), which the tests check on the whole embedded val set.
`audit_byte_function` measures a submission's byte accounting against the rule, token by token.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch

from reference.tokenizer import ByteLuts, as_processor, build_sentencepiece_luts

IntArray = torch.Tensor | np.ndarray | Sequence[int]
ByteFunction = Callable[[torch.Tensor, torch.Tensor], IntArray]  # (prev_ids, ids) -> bytes per target
LutArrays = tuple[IntArray, IntArray, IntArray]  # (base_bytes, has_leading_space, is_boundary)


def bits_per_byte(total_nll_nats: float, total_bytes: int) -> float:
    """`val_bpb = loss_sum / (ln 2 · bytes)`: summed natural-log NLL over summed target bytes."""
    if total_bytes <= 0:
        raise ValueError(f"total_bytes must be positive, got {total_bytes}")
    return float(total_nll_nats) / (math.log(2.0) * int(total_bytes))


def _as_long(values: IntArray) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach().to("cpu", torch.int64)
    return torch.as_tensor(np.asarray(values, dtype=np.int64))


def split_documents(sp: spm.SentencePieceProcessor, tokens: IntArray) -> list[list[int]]:
    """Split a stream at control tokens (BOS): the token runs between them, empty runs dropped."""
    stream = _as_long(tokens).reshape(-1).numpy()
    control = np.array([sp.is_control(i) for i in range(sp.vocab_size())], dtype=np.bool_)
    cuts = np.flatnonzero(control[np.minimum(stream, control.size - 1)] & (stream < control.size))
    bounds = [-1, *cuts.tolist(), stream.size]
    return [stream[a + 1 : b].tolist() for a, b in zip(bounds[:-1], bounds[1:]) if b > a + 1]


def ground_truth_document_bytes(sp: spm.SentencePieceProcessor, tokens: IntArray) -> list[int]:
    """UTF-8 length of the decoded text of every document in a `[BOS] + doc ...` stream.

    Valid for streams made by encoding text; a document cut inside a byte-fallback character (possible at
    the truncated end of a val stream) decodes to U+FFFD and is not comparable.
    """
    return [len(sp.decode(doc).encode("utf-8")) for doc in split_documents(sp, tokens)]


@dataclass(frozen=True)
class TokenMismatch:
    """One token id whose candidate byte count differs from the rule somewhere in the stream."""

    token_id: int
    piece: str
    count: int  # targets with this id whose bytes differ
    reference_bytes: int  # rule bytes summed over those targets
    candidate_bytes: int  # candidate bytes summed over those targets
    first_position: int  # stream index of the first such target


@dataclass(frozen=True)
class ByteAudit:
    """Result of `audit_byte_function` over the targets `tokens[1:]` of one stream."""

    num_targets: int
    reference_total: int  # the challenge's LUT rule
    ground_truth_total: int  # decoded text bytes of the targets' documents
    candidate_total: int
    mismatches: list[TokenMismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The candidate charges every target exactly what the rule does."""
        return not self.mismatches

    @property
    def reference_exact(self) -> bool:
        """The rule agrees with the decoded-text ground truth on this stream."""
        return self.reference_total == self.ground_truth_total

    @property
    def inflation(self) -> float:
        """`candidate_total / reference_total`; a claimed bpb is too low by this factor when > 1."""
        return self.candidate_total / self.reference_total

    @property
    def mismatched_ids(self) -> list[int]:
        return [m.token_id for m in self.mismatches]


def _candidate_bytes(candidate: LutArrays | ByteFunction, prev: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    if callable(candidate):
        out = _as_long(candidate(prev.clone(), ids.clone())).reshape(-1)
    else:
        base, space, boundary = (_as_long(a).reshape(-1) for a in candidate)
        luts = ByteLuts(base, space.bool(), boundary.bool())
        if int(max(ids.max(), prev.max())) >= min(base.numel(), space.numel(), boundary.numel()):
            raise ValueError("candidate LUTs are smaller than the token ids in the stream")
        out = luts.token_bytes(prev, ids)
    if out.numel() != ids.numel():
        raise ValueError(f"candidate returned {out.numel()} byte counts for {ids.numel()} targets")
    return out


def audit_byte_function(
    sp_or_model_path: spm.SentencePieceProcessor | Path | str,
    candidate: LutArrays | ByteFunction,
    tokens: IntArray,
) -> ByteAudit:
    """Compare a submission's byte accounting with the challenge's rule on one token stream.

    `candidate` is either the submission's LUTs `(base_bytes, has_leading_space, is_boundary)` (indexed by
    token id, any array type) or a function `(prev_ids, ids) -> bytes per target` over int64 tensors.
    Targets are `tokens[1:]` with previous tokens `tokens[:-1]`, as in the metric. Mismatches are grouped
    by target id, sorted by id, with the piece string, how often and by how much they differ.
    """
    sp = as_processor(sp_or_model_path)
    stream = _as_long(tokens).reshape(-1)
    if stream.numel() < 2:
        raise ValueError("the stream needs at least one target")
    prev, ids = stream[:-1], stream[1:]
    luts = build_sentencepiece_luts(sp, int(stream.max()) + 1)
    reference = luts.token_bytes(prev, ids)
    cand = _candidate_bytes(candidate, prev, ids)
    differs = (reference != cand).numpy()
    diff_ids = ids.numpy()[differs]
    positions = np.nonzero(differs)[0] + 1
    unique, first, counts = np.unique(diff_ids, return_index=True, return_counts=True)
    ref_sums = np.bincount(diff_ids, weights=reference.numpy()[differs], minlength=int(stream.max()) + 1)
    cand_sums = np.bincount(diff_ids, weights=cand.numpy()[differs], minlength=int(stream.max()) + 1)
    mismatches = [
        TokenMismatch(
            token_id=int(t),
            piece=sp.id_to_piece(int(t)) if t < sp.vocab_size() else "",
            count=int(c),
            reference_bytes=int(ref_sums[t]),
            candidate_bytes=int(cand_sums[t]),
            first_position=int(positions[f]),
        )
        for t, f, c in zip(unique, first, counts)
    ]
    return ByteAudit(
        num_targets=int(ids.numel()),
        reference_total=int(reference.sum()),
        ground_truth_total=sum(ground_truth_document_bytes(sp, stream[1:])),
        candidate_total=int(cand.sum()),
        mismatches=mismatches,
    )
