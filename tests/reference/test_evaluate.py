from __future__ import annotations

import math

import pytest
import sentencepiece as spm
import torch
import torch.nn.functional as F
from torch import nn

from reference.bpb import ground_truth_document_bytes
from reference.corpus import EmbeddedDataset
from reference.data import BOS_ID, load_validation_tokens
from reference.evaluate import (
    EvalResult,
    Window,
    eval_ngram_tilt,
    eval_score_first_ttt,
    eval_sliding,
    eval_standard,
    merge_results,
    ngram_hints,
    sliding_windows,
    tilted_log_probs,
)
from reference.tokenizer import ByteLuts

V = 1024


class Bigram(nn.Module):
    """Logits depend on the current token only."""

    def __init__(self, seed: int = 0):
        super().__init__()
        self.table = nn.Embedding(V, V)
        with torch.no_grad():
            self.table.weight.copy_(torch.randn(V, V, generator=torch.Generator().manual_seed(seed)))

    def forward_logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.table(input_ids)

    def forward(self, input_ids: torch.Tensor, target_ids: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.forward_logits(input_ids).reshape(-1, V), target_ids.reshape(-1))


class CausalConv(nn.Module):
    """Logits depend on the last `width` tokens (left-padded causal convolution)."""

    def __init__(self, width: int = 3, dim: int = 16):
        super().__init__()
        torch.manual_seed(1)
        self.width = width
        self.emb = nn.Embedding(V, dim)
        self.conv = nn.Conv1d(dim, dim, width)
        self.out = nn.Linear(dim, V)

    def forward_logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        h = F.pad(self.emb(input_ids).transpose(1, 2), (self.width - 1, 0))
        return self.out(torch.tanh(self.conv(h)).transpose(1, 2))


class Constant(nn.Module):
    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward_logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*input_ids.shape, V)


@pytest.fixture(scope="module")
def short_val(val_stream: torch.Tensor) -> torch.Tensor:
    return val_stream[: 64 * 128 + 1]


def _assert_same(a: EvalResult, b: EvalResult) -> None:
    assert torch.equal(a.nll, b.nll) and torch.equal(a.bytes, b.bytes) and torch.equal(a.positions, b.positions)


def test_closed_form_constant_logits(embedded: EmbeddedDataset, luts: ByteLuts) -> None:
    val = load_validation_tokens(str(embedded.data_path / "fineweb_val_*.bin"), 128).to(torch.int64)
    result = eval_standard(Constant(), val, 128, luts, batch_seqs=32)
    n = val.numel() - 1
    assert result.tokens == n and n % 128 == 0
    assert result.nll.dtype == torch.float64 and result.bytes.dtype == torch.int64
    assert torch.equal(result.positions, torch.arange(1, n + 1))
    ln_v_fp32 = float(torch.tensor(math.log(V), dtype=torch.float32))  # per-token CE runs in fp32 (§2.1)
    assert result.val_loss == pytest.approx(ln_v_fp32, rel=1e-12)
    assert result.val_loss == pytest.approx(math.log(V), rel=1e-8)
    lut_bytes = int(luts.token_bytes(val[:-1], val[1:]).sum())
    assert result.total_bytes == lut_bytes
    assert result.val_bpb == pytest.approx(ln_v_fp32 / math.log(2) * n / lut_bytes, rel=1e-12)
    bos = val[result.positions] == BOS_ID  # BOS targets: counted loss, zero bytes
    assert bos.sum() > 200 and not result.bytes[bos].any()
    assert result.loss_sum == pytest.approx(n * ln_v_fp32, rel=1e-12)


def test_sliding_with_stride_seq_len_equals_standard(short_val: torch.Tensor, luts: ByteLuts) -> None:
    model = CausalConv()
    standard = eval_standard(model, short_val, 128, luts, batch_seqs=16)
    _assert_same(eval_sliding(model, short_val, 128, 128, luts, batch_seqs=16), standard)
    assert model.training  # mode restored


def test_sliding_windows_exact() -> None:
    assert sliding_windows(10, 4, 2) == [Window(0, 4, 0), Window(2, 6, 2), Window(4, 8, 2), Window(6, 10, 2)]
    assert [list(w.scored_positions) for w in sliding_windows(10, 4, 2)] == [[1, 2, 3, 4], [5, 6], [7, 8], [9, 10]]
    assert sliding_windows(3, 8, 4) == [Window(0, 3, 0)]
    with pytest.raises(ValueError):
        sliding_windows(10, 4, 5)


@pytest.mark.parametrize("num_targets", [1, 5, 127, 128, 129, 1000, 1001])
@pytest.mark.parametrize(("seq_len", "stride"), [(16, 1), (16, 7), (16, 16), (128, 64), (128, 100), (128, 128)])
def test_sliding_scores_each_target_once(num_targets: int, seq_len: int, stride: int) -> None:
    positions = [p for w in sliding_windows(num_targets, seq_len, stride) for p in w.scored_positions]
    assert positions == list(range(1, num_targets + 1))


def test_sliding_equals_full_context_for_short_memory_model(short_val: torch.Tensor, luts: ByteLuts) -> None:
    model = CausalConv(width=3)  # needs the 2 previous tokens
    n = short_val.numel() - 1
    full = eval_sliding(model, short_val, n, n, luts)
    sliding = eval_sliding(model, short_val, 128, 126, luts)
    assert torch.equal(sliding.positions, full.positions) and torch.equal(sliding.bytes, full.bytes)
    torch.testing.assert_close(sliding.nll, full.nll, rtol=0, atol=1e-5)
    standard = eval_standard(model, short_val, 128, luts)
    assert not torch.allclose(standard.nll, full.nll, atol=1e-3)  # window starts lack context


def test_totals_match_per_token_scores_and_ground_truth(
    sp: spm.SentencePieceProcessor, luts: ByteLuts, val_stream: torch.Tensor
) -> None:
    result = eval_sliding(Bigram(), val_stream, 256, 192, luts, batch_seqs=64)  # untruncated: tail window is short
    n = val_stream.numel() - 1
    assert torch.equal(result.positions.sort().values, torch.arange(1, n + 1))
    assert result.total_bytes == sum(ground_truth_document_bytes(sp, val_stream))
    assert result.loss_sum == float(result.nll.sum()) and result.tokens == n
    assert result.val_loss == result.loss_sum / n
    assert result.val_bpb == result.loss_sum / (math.log(2) * result.total_bytes)


@pytest.mark.parametrize("mode", ["standard", "sliding"])
def test_rank_split_merges_to_single_process(short_val: torch.Tensor, luts: ByteLuts, mode: str) -> None:
    model = Bigram()

    def run(rank: int, world: int) -> EvalResult:
        if mode == "standard":
            return eval_standard(model, short_val, 128, luts, batch_seqs=8, rank=rank, world_size=world)
        return eval_sliding(model, short_val, 128, 64, luts, batch_seqs=8, rank=rank, world_size=world)

    single, merged = run(0, 1), merge_results([run(r, 3) for r in range(3)])
    _assert_same(merged, single)
    assert merged.val_bpb == single.val_bpb


def test_rank_without_work_and_uint16_input(short_val: torch.Tensor, luts: ByteLuts) -> None:
    one_seq = short_val[:129].to(torch.uint16)  # shards load as uint16
    idle = eval_standard(Bigram(), one_seq, 128, luts, rank=0, world_size=2)
    busy = eval_standard(Bigram(), one_seq, 128, luts, rank=1, world_size=2)
    assert idle.tokens == 0 and idle.nll.dtype == torch.float64 and idle.positions.dtype == torch.int64
    assert torch.equal(merge_results([idle, busy]).positions, torch.arange(1, 129))


def test_score_first_ttt_never_trains_before_scoring(short_val: torch.Tensor, luts: ByteLuts) -> None:
    short_val = short_val[: 64 * 64 + 1]
    model, reference = Bigram(), Bigram()
    before = eval_sliding(reference, short_val, 64, 32, luts)
    scored: set[int] = set()
    trained: set[int] = set()
    order: list[torch.Tensor] = []
    steps: list[tuple[int, int]] = []

    def on_score(positions: torch.Tensor) -> None:
        now = set(positions.tolist())
        assert now.isdisjoint(trained) and now.isdisjoint(scored)
        scored.update(now)
        order.append(positions)

    def on_train(positions: torch.Tensor) -> None:
        assert set(positions.tolist()) <= scored
        trained.update(positions.tolist())
        steps.append((int(positions[0]), int(positions[-1])))

    chunk = 500  # not a multiple of stride or seq_len: windows straddle chunk boundaries
    result = eval_score_first_ttt(
        model, short_val, 64, luts, stride=32, chunk_tokens=chunk, epochs=2, lr=0.5, train_batch_seqs=4,
        on_score=on_score, on_train=on_train,
    )
    n = short_val.numel() - 1
    num_chunks = math.ceil(n / chunk)
    assert torch.equal(result.positions, torch.cat(order))
    assert torch.equal(result.positions.sort().values, torch.arange(1, n + 1))
    assert max(trained) <= (num_chunks - 1) * chunk  # the last chunk is never trained on
    # chunk c trains on its whole sequences: 500 // 64 = 7 per chunk, 4 per step, 2 epochs -> 4 steps
    assert len(steps) == (num_chunks - 1) * 4
    assert steps[:4] == [(1, 256), (257, 448), (1, 256), (257, 448)]
    assert steps[4] == (501, 756)
    assert model.training
    # chunk 0 was scored by the untouched model; later chunks by the adapted one
    first = result.positions <= chunk
    torch.testing.assert_close(result.nll[first], before.nll[: int(first.sum())], rtol=0, atol=0)
    assert not torch.allclose(result.nll[~first], before.nll[int(first.sum()) :])
    assert not torch.equal(model.table.weight, reference.table.weight)


def test_score_first_ttt_with_zero_lr_equals_sliding(short_val: torch.Tensor, luts: ByteLuts) -> None:
    model = Bigram()
    ttt = eval_score_first_ttt(model, short_val, 64, luts, stride=48, chunk_tokens=2048, epochs=1, lr=0.0)
    _assert_same(ttt, eval_sliding(model, short_val, 64, 48, luts))


def test_tilted_distribution_is_normalized() -> None:
    gen = torch.Generator().manual_seed(0)
    log_p = torch.log_softmax(torch.randn(50, V, generator=gen, dtype=torch.float64) * 3, dim=-1)
    hints = torch.randint(-1, V, (50,), generator=gen)
    tilted = tilted_log_probs(log_p, hints, 2.0)
    torch.testing.assert_close(tilted.exp().sum(-1), torch.ones(50, dtype=torch.float64), rtol=0, atol=1e-12)
    rows = torch.nonzero(hints >= 0).flatten()
    other = (hints[rows] + 1) % V
    ratio = (tilted[rows, hints[rows]] - tilted[rows, other]) - (log_p[rows, hints[rows]] - log_p[rows, other])
    torch.testing.assert_close(ratio, torch.full_like(ratio, 2.0), rtol=0, atol=1e-12)
    unhinted = torch.nonzero(hints < 0).flatten()
    torch.testing.assert_close(tilted[unhinted], log_p[unhinted], rtol=0, atol=1e-12)


def test_ngram_hints_exact_and_prefix_only() -> None:
    tokens = torch.tensor([5, 6, 7, 5, 6, 8, 5, 6, 7, 5, 6])
    assert ngram_hints(tokens, 3).tolist() == [-1, -1, -1, -1, -1, 7, -1, -1, 8, 5, 6]
    stream = torch.randint(0, 6, (600,), generator=torch.Generator().manual_seed(3))
    flipped = stream.clone()
    flipped[300] = (stream[300] + 1) % 6
    a, b = ngram_hints(stream, 3), ngram_hints(flipped, 3)
    assert torch.equal(a[:301], b[:301]) and not torch.equal(a[301:], b[301:])
    with pytest.raises(ValueError):
        ngram_hints(tokens, 1)


def test_ngram_tilt_closed_form(short_val: torch.Tensor, luts: ByteLuts) -> None:
    beta = 1.5
    result = eval_ngram_tilt(Constant(), short_val, 128, luts, order=3, beta=beta)
    hints = ngram_hints(short_val, 3)[result.positions]
    hit = hints == short_val[result.positions]
    miss = (hints >= 0) & ~hit
    z = math.log(V - 1 + math.exp(beta))
    torch.testing.assert_close(result.nll[hit], torch.full((int(hit.sum()),), z - beta, dtype=torch.float64))
    torch.testing.assert_close(result.nll[miss], torch.full((int(miss.sum()),), z, dtype=torch.float64))
    torch.testing.assert_close(result.nll[hints < 0], torch.full((int((hints < 0).sum()),), math.log(V), dtype=torch.float64))
    assert hit.sum() > 1000 and miss.sum() > 1000
    assert result.val_bpb < eval_standard(Constant(), short_val, 128, luts).val_bpb


def test_ngram_tilt_with_zero_beta_is_sliding(short_val: torch.Tensor, luts: ByteLuts) -> None:
    model = CausalConv()
    tilt = eval_ngram_tilt(model, short_val, 128, luts, stride=64, beta=0.0)
    sliding = eval_sliding(model, short_val, 128, 64, luts)
    assert torch.equal(tilt.positions, sliding.positions) and torch.equal(tilt.bytes, sliding.bytes)
    torch.testing.assert_close(tilt.nll, sliding.nll, rtol=0, atol=1e-5)
