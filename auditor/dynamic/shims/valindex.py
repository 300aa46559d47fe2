"""Content-addressable validation stream: map any tensor of token ids back to val positions.

The synthetic val stream is random enough that every window of ``K`` consecutive ids occurs once, so
the position of each element of an id tensor is found by looking up the ``K``-grams that cover it.
Shared by the sandboxed child (to tag events) and the auditor (to build and check the stream); it
depends on numpy only.
"""

from __future__ import annotations

import numpy as np

K = 4  # window length: V**4 >> N**2 keeps accidental matches negligible for V >= 256
_SHIFTS = np.array([48, 32, 16, 0], dtype=np.uint64)


def _grams(ids: np.ndarray) -> np.ndarray:
    """Packed K-grams of a 1-D uint16-range array (length n-K+1)."""
    ids = ids.astype(np.uint64)
    n = ids.size - K + 1
    out = np.zeros(n, dtype=np.uint64)
    for j in range(K):
        out |= ids[j : j + n] << _SHIFTS[j]
    return out


class ValIndex:
    """Sorted K-gram keys of the val stream with their start positions."""

    def __init__(self, stream: np.ndarray) -> None:
        self.stream = np.asarray(stream, dtype=np.int64)
        grams = _grams(self.stream)
        order = np.argsort(grams, kind="stable")
        self.keys = grams[order]
        self.starts = order.astype(np.int64)
        if (self.keys[1:] == self.keys[:-1]).any():
            raise ValueError("val stream is not content-addressable (a K-gram repeats)")

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Val position of every element of ``ids`` (any shape; rows = last dim), -1 where unknown."""
        arr = np.asarray(ids)
        flat = arr.reshape(-1, arr.shape[-1]) if arr.ndim > 1 else arr.reshape(1, -1)
        out = np.full(flat.shape, -1, dtype=np.int64)
        n = flat.shape[1]
        if n < K:
            return out.reshape(arr.shape)
        valid = (flat >= 0) & (flat < 65536)
        for r in range(flat.shape[0]):
            g = _grams(np.where(valid[r], flat[r], 0))
            idx = np.searchsorted(self.keys, g)
            idx[idx >= self.keys.size] = 0
            hit = self.keys[idx] == g
            # a K-gram touching an invalid element cannot be trusted
            hit &= np.convolve(~valid[r], np.ones(K, dtype=np.int64), mode="valid") == 0
            start = np.where(hit, self.starts[idx], -1)
            cand = np.full((K, n), -1, dtype=np.int64)
            for d in range(K):  # element j is covered by the gram starting at j-d
                cand[d, d : d + start.size] = np.where(start >= 0, start + d, -1)
            row = out[r]
            for d in range(K):
                fill = (row < 0) & (cand[d] >= 0)
                row[fill] = cand[d][fill]
            # A gram spanning two stitched windows can match by one coincidence (overlapping windows
            # share content); where an element's grams disagree, keep the one continuing a neighbour.
            hi = np.where(cand >= 0, cand, -1).max(axis=0)
            lo = np.where(cand >= 0, cand, np.iinfo(np.int64).max).min(axis=0)
            for j in np.flatnonzero((hi >= 0) & (hi != lo)):
                options = set(cand[:, j][cand[:, j] >= 0].tolist())
                if j > 0 and row[j - 1] >= 0 and row[j - 1] + 1 in options:
                    row[j] = row[j - 1] + 1
                elif j + 1 < n and row[j + 1] >= 0 and row[j + 1] - 1 in options:
                    row[j] = row[j + 1] - 1
        return out.reshape(arr.shape)


def random_stream(vocab_size: int, n_tokens: int, bos_id: int, first_id: int, seed: int, doc_len: tuple[int, int]) -> np.ndarray:
    """Documents ``[BOS] + random ids in [first_id, vocab)`` of random lengths, concatenated; retried
    until every K-gram is unique."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        parts: list[np.ndarray] = []
        total = 0
        while total < n_tokens:
            n = int(rng.integers(doc_len[0], doc_len[1] + 1))
            parts.append(np.concatenate([[bos_id], rng.integers(first_id, vocab_size, size=n)]))
            total += parts[-1].size
        stream = np.concatenate(parts)[:n_tokens].astype(np.int64)
        try:
            ValIndex(stream)
        except ValueError:
            continue
        return stream
    raise RuntimeError("could not draw a content-addressable stream")
