"""Evaluators that produce the headline val_bpb, exposing every scored token (REFERENCE-STACK §2, §5.1, §5.7).

Each returns an `EvalResult`: per-target NLL (nats, float64), bytes charged and the target's index in the
val stream (`val_tokens[p]` is the target; `p` runs over 1..N for N = len(val_tokens) - 1), in scoring order.

Token bookkeeping runs on the CPU; only model inputs and outputs visit the model's device.
Models are `torch.nn.Module`s with `forward_logits(input_ids[B, T]) -> logits[B, T, V]` (causal), and, for
test-time training, `forward(input_ids, target_ids) -> mean cross-entropy`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from reference.bpb import bits_per_byte
from reference.tokenizer import ByteLuts

PositionHook = Callable[[torch.Tensor], None]


@dataclass(frozen=True)
class EvalResult:
    """Per-token scores of one evaluation pass and the totals the challenge reports."""

    nll: torch.Tensor  # float64 [n], natural log
    bytes: torch.Tensor  # int64 [n]
    positions: torch.Tensor  # int64 [n], index of each target in val_tokens

    @property
    def tokens(self) -> int:
        return int(self.nll.numel())

    @property
    def loss_sum(self) -> float:
        return float(self.nll.sum())

    @property
    def total_bytes(self) -> int:
        return int(self.bytes.sum())

    @property
    def val_loss(self) -> float:
        return self.loss_sum / self.tokens

    @property
    def val_bpb(self) -> float:
        return bits_per_byte(self.loss_sum, self.total_bytes)


def merge_results(parts: Sequence[EvalResult]) -> EvalResult:
    """Concatenate per-rank (or per-chunk) results in order; totals become the all-reduced sums."""
    return EvalResult(
        torch.cat([p.nll for p in parts]), torch.cat([p.bytes for p in parts]), torch.cat([p.positions for p in parts])
    )


def _collect(batches: Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> EvalResult:
    parts = list(batches)
    if not parts:  # a rank with no work
        empty = torch.zeros(0, dtype=torch.int64)
        return EvalResult(empty.to(torch.float64), empty, empty)
    nll, nbytes, positions = (torch.cat(list(t)) for t in zip(*parts))
    return EvalResult(nll, nbytes, positions)


def _token_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-token cross-entropy computed in fp32, returned in fp64 for accumulation (§2.1)."""
    flat = logits.reshape(-1, logits.size(-1)).float()
    return F.cross_entropy(flat, targets.reshape(-1), reduction="none").to(torch.float64)


def _device(model: torch.nn.Module) -> torch.device:
    """Inputs go where the model's weights are; scores always come back on the CPU."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _rank_range(total: int, rank: int, world_size: int) -> tuple[int, int]:
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside world of size {world_size}")
    return total * rank // world_size, total * (rank + 1) // world_size


class _EvalMode:
    """`model.eval()` for the block, restoring the previous training flag afterwards."""

    def __init__(self, model: torch.nn.Module):
        self.model, self.was_training = model, model.training

    def __enter__(self) -> None:
        self.model.eval()

    def __exit__(self, *exc: object) -> None:
        self.model.train(self.was_training)


def eval_standard(
    model: torch.nn.Module,
    val_tokens: torch.Tensor,
    seq_len: int,
    luts: ByteLuts,
    *,
    batch_seqs: int = 64,
    rank: int = 0,
    world_size: int = 1,
) -> EvalResult:
    """The baseline `eval_val`: non-overlapping `seq_len` windows, split contiguously over ranks."""
    val_tokens, luts = val_tokens.to("cpu", torch.int64), luts.to("cpu")
    total_seqs = (val_tokens.numel() - 1) // seq_len
    first, last = _rank_range(total_seqs, rank, world_size)
    device = _device(model)

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        for s in range(first, last, batch_seqs):
            e = min(s + batch_seqs, last)
            raw_start, raw_end = s * seq_len, e * seq_len + 1
            local = val_tokens[raw_start:raw_end]
            x, y = local[:-1].reshape(-1, seq_len), local[1:].reshape(-1, seq_len)
            nll = _token_nll(model.forward_logits(x.to(device)), y.to(device)).cpu()
            yield nll, luts.token_bytes(x.reshape(-1), y.reshape(-1)), torch.arange(raw_start + 1, raw_end)

    with _EvalMode(model), torch.inference_mode():
        return _collect(batches())


@dataclass(frozen=True)
class Window:
    """Inputs `val_tokens[start:end]`, targets `val_tokens[start+1:end+1]`; targets from offset `score_from` are scored."""

    start: int
    end: int
    score_from: int

    @property
    def scored_positions(self) -> range:
        """Val-stream indices of the scored targets."""
        return range(self.start + 1 + self.score_from, self.end + 1)


def sliding_windows(num_targets: int, seq_len: int, stride: int) -> list[Window]:
    """Windows every `stride` targets scoring each target exactly once, tail included (the PR #1218 rule, §2.5).

    Keep a start `ws` iff `ws == 0` or `ws + seq_len - stride < num_targets`; the first window scores all its
    targets, the others their last `stride` (the last one: up to the end of the stream).
    """
    if not 0 < stride <= seq_len:
        raise ValueError(f"stride must be in (0, {seq_len}], got {stride}")
    context = seq_len - stride
    return [
        Window(ws, min(ws + seq_len, num_targets), 0 if ws == 0 else context)
        for ws in range(0, num_targets, stride)
        if ws == 0 or ws + context < num_targets
    ]


@dataclass(frozen=True)
class _WindowBatch:
    """One forward over a batch of windows: full `[B, T]` tensors and which `(row, from, to)` slices are scored."""

    logits: torch.Tensor  # on the model's device
    nll: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    rows: list[tuple[int, int, int]]
    positions: torch.Tensor

    def scored(self, t: torch.Tensor) -> torch.Tensor:
        return torch.cat([t[r, a:e] for r, a, e in self.rows])

    def scores(self, luts: ByteLuts) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """NLL, bytes and positions of the scored targets."""
        return self.scored(self.nll), luts.token_bytes(self.scored(self.x), self.scored(self.y)), self.positions


def _window_batches(
    model: torch.nn.Module, val_tokens: torch.Tensor, windows: Sequence[Window], seq_len: int, batch_seqs: int
) -> Iterator[_WindowBatch]:
    """Forward passes over `windows`, `batch_seqs` at a time.

    Short windows are right-padded with token 0, which a causal model cannot see from earlier positions.
    """
    device = _device(model)
    for b in range(0, len(windows), batch_seqs):
        batch = windows[b : b + batch_seqs]
        x = torch.zeros(len(batch), seq_len, dtype=torch.int64)
        y = torch.zeros(len(batch), seq_len, dtype=torch.int64)
        for row, w in enumerate(batch):
            x[row, : w.end - w.start] = val_tokens[w.start : w.end]
            y[row, : w.end - w.start] = val_tokens[w.start + 1 : w.end + 1]
        logits = model.forward_logits(x.to(device))
        yield _WindowBatch(
            logits=logits,
            nll=_token_nll(logits, y.to(device)).view(len(batch), seq_len).cpu(),
            x=x,
            y=y,
            rows=[(row, w.score_from, w.end - w.start) for row, w in enumerate(batch)],
            positions=torch.cat([torch.tensor(w.scored_positions, dtype=torch.int64) for w in batch]),
        )


def eval_sliding(
    model: torch.nn.Module,
    val_tokens: torch.Tensor,
    seq_len: int,
    stride: int,
    luts: ByteLuts,
    *,
    batch_seqs: int = 32,
    rank: int = 0,
    world_size: int = 1,
) -> EvalResult:
    """Sliding-window evaluation (§5.1): every target scored once with at least `seq_len - stride` context."""
    val_tokens, luts = val_tokens.to("cpu", torch.int64), luts.to("cpu")
    windows = sliding_windows(val_tokens.numel() - 1, seq_len, stride)
    first, last = _rank_range(len(windows), rank, world_size)
    with _EvalMode(model), torch.inference_mode():
        batches = _window_batches(model, val_tokens, windows[first:last], seq_len, batch_seqs)
        return _collect(wb.scores(luts) for wb in batches)


def eval_score_first_ttt(
    model: torch.nn.Module,
    val_tokens: torch.Tensor,
    seq_len: int,
    luts: ByteLuts,
    *,
    stride: int,
    chunk_tokens: int = 32_768,
    epochs: int = 3,
    lr: float = 0.002,
    momentum: float = 0.9,
    train_batch_seqs: int = 32,
    grad_clip: float = 1.0,
    batch_seqs: int = 32,
    on_score: PositionHook | None = None,
    on_train: PositionHook | None = None,
) -> EvalResult:
    """Legal score-first full-parameter SGD TTT (§5.7 b, the PR #461 recipe); adapts `model` in place.

    Val targets are cut into chunks of `chunk_tokens`; each sliding window belongs to the chunk holding its
    first scored target. Per chunk: score its windows under `torch.inference_mode()`, then (except for the
    last chunk) train on the chunk's targets, cut into `seq_len` sequences, for `epochs` epochs with SGD at
    `lr * (1 + cos(pi * c / (C - 1))) / 2`. Scores are never revised. `on_score` receives the positions of
    every scored batch, `on_train` the target positions of every optimizer step, in the order they happen.
    """
    val_tokens, luts = val_tokens.to("cpu", torch.int64), luts.to("cpu")
    num_targets = val_tokens.numel() - 1
    num_chunks = math.ceil(num_targets / chunk_tokens)
    windows = sliding_windows(num_targets, seq_len, stride)
    chunk_windows: list[list[Window]] = [[] for _ in range(num_chunks)]
    for w in windows:
        chunk_windows[min((w.start + w.score_from) // chunk_tokens, num_chunks - 1)].append(w)
    device = _device(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum)
    was_training = model.training
    parts: list[EvalResult] = []
    for c in range(num_chunks):
        model.eval()
        with torch.inference_mode():
            batches = _window_batches(model, val_tokens, chunk_windows[c], seq_len, batch_seqs)
            scored = [wb.scores(luts) for wb in batches]
        for _, _, pos in scored:
            if on_score is not None:
                on_score(pos)
        parts.append(_collect(iter(scored)))
        if c == num_chunks - 1:
            break
        chunk_start, chunk_end = c * chunk_tokens, min((c + 1) * chunk_tokens, num_targets)
        num_seqs = (chunk_end - chunk_start) // seq_len
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * c / (num_chunks - 1)))
        model.train()
        for _ in range(epochs):
            for s in range(0, num_seqs, train_batch_seqs):
                e = min(s + train_batch_seqs, num_seqs)
                local = val_tokens[chunk_start + s * seq_len : chunk_start + e * seq_len + 1].to(device)
                optimizer.zero_grad(set_to_none=True)
                loss = model(local[:-1].reshape(-1, seq_len), local[1:].reshape(-1, seq_len))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, grad_clip)
                optimizer.step()
                if on_train is not None:
                    on_train(torch.arange(chunk_start + s * seq_len + 1, chunk_start + e * seq_len + 1))
    model.train(was_training)
    return merge_results(parts)


def ngram_hints(tokens: torch.Tensor, order: int) -> torch.Tensor:
    """Prefix-only n-gram hint for every stream position (-1 where there is none).

    The hint for target `tokens[p]` is the token that most often followed the context `tokens[p-order+1:p]`
    among the n-grams ending before `p` (ties: the most recently updated wins), so it depends on
    `tokens[:p]` only — positions that a left-to-right evaluation has already scored.
    """
    if order < 2:
        raise ValueError(f"order must be at least 2, got {order}")
    ids = tokens.to(torch.int64).tolist()
    counts: dict[tuple[int, ...], dict[int, int]] = {}
    best: dict[tuple[int, ...], tuple[int, int]] = {}  # context -> (token, count)
    hints = [-1] * len(ids)
    for p in range(order - 1, len(ids)):
        ctx = tuple(ids[p - order + 1 : p])
        if ctx in best:
            hints[p] = best[ctx][0]
        seen = counts.setdefault(ctx, {})
        seen[ids[p]] = n = seen.get(ids[p], 0) + 1
        if n >= best.get(ctx, (-1, 0))[1]:
            best[ctx] = (ids[p], n)
    return torch.tensor(hints, dtype=torch.int64)


def tilted_log_probs(log_probs: torch.Tensor, hints: torch.Tensor, beta: float) -> torch.Tensor:
    """`log p'(v) = log p(v) + beta·1[v = hint] - log Z`, `Z` summed explicitly over the whole vocabulary.

    Rows whose hint is -1 are left as they are (up to renormalization).
    """
    bonus = torch.zeros_like(log_probs)
    has_hint = hints >= 0
    bonus[has_hint, hints[has_hint]] = beta
    tilted = log_probs + bonus
    return tilted - torch.logsumexp(tilted, dim=-1, keepdim=True)


def eval_ngram_tilt(
    model: torch.nn.Module,
    val_tokens: torch.Tensor,
    seq_len: int,
    luts: ByteLuts,
    *,
    stride: int | None = None,
    order: int = 3,
    beta: float = 2.0,
    batch_seqs: int = 32,
) -> EvalResult:
    """Sliding-window scores tilted toward a causal token n-gram's hint (§5.1, §5.7 e).

    The hint for a target depends on already-scored tokens only (`ngram_hints`), and `p'` is normalized
    over the whole vocabulary, so the scored distribution is proper and fixed before the target is seen.
    `stride` defaults to `seq_len` (non-overlapping windows).
    """
    val_tokens, luts = val_tokens.to("cpu", torch.int64), luts.to("cpu")
    hints = ngram_hints(val_tokens, order)
    windows = sliding_windows(val_tokens.numel() - 1, seq_len, stride or seq_len)
    parts = []
    with _EvalMode(model), torch.inference_mode():
        for wb in _window_batches(model, val_tokens, windows, seq_len, batch_seqs):
            _, nbytes, pos = wb.scores(luts)
            log_p = torch.log_softmax(wb.scored(wb.logits).to("cpu", torch.float64), dim=-1)
            log_p = tilted_log_probs(log_p, hints[pos], beta)
            nll = -log_p.gather(1, val_tokens[pos].unsqueeze(1)).squeeze(1)
            parts.append((nll, nbytes, pos))
    return _collect(iter(parts))
