"""Muon, the parameter split, schedules and EMA (REFERENCE-STACK §3.4–§3.5, §5.4–§5.5, §7.2 #18–#20)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from reference.model import BASELINE, RECORD, GPT
from reference.optim import (
    EMA,
    Muon,
    OptimConfig,
    build_optimizers,
    lr_mul_baseline,
    lr_mul_fraction,
    muon_momentum_at,
    muon_shape_factor,
    newton_schulz,
    split_params,
)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matmuls gain nothing from a second intra-op thread, and on a busy 2-core machine OpenMP spin-waits
    make two threads several times slower; one keeps these tests' time predictable."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _singular_range(polar_express: bool, dtype: torch.dtype) -> tuple[float, float]:
    lo, hi = math.inf, 0.0
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        for shape in ((64, 128), (128, 64)):
            out = newton_schulz(torch.randn(*shape, generator=g, dtype=torch.float64), polar_express=polar_express, dtype=dtype)
            assert out.shape == shape and out.dtype == dtype
            s = torch.linalg.svdvals(out.double())
            lo, hi = min(lo, s.min().item()), max(hi, s.max().item())
    return lo, hi


@pytest.mark.parametrize(
    ("polar_express", "dtype", "bounds"),
    [
        (False, torch.float64, (0.68, 1.14)),
        (True, torch.float64, (0.85, 1.15)),
        (False, torch.bfloat16, (0.6, 1.25)),
        (True, torch.bfloat16, (0.6, 1.25)),
    ],
)
def test_newton_schulz_singular_values_in_bounds(polar_express, dtype, bounds):
    lo, hi = _singular_range(polar_express, dtype)
    assert bounds[0] <= lo and hi <= bounds[1]


def test_shape_factor():
    assert muon_shape_factor(128, 64) == math.sqrt(2.0)
    assert muon_shape_factor(64, 128) == 1.0


def _one_step(**muon_kwargs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(128, 64))
    w0 = w.detach().clone()
    w.grad = torch.randn(128, 64)
    Muon([w], lr=0.1, momentum=0.9, **muon_kwargs).step()
    return w0, w.grad, w.detach()


def test_muon_first_step_is_nesterov_orthogonalized_and_shape_scaled():
    w0, g, w1 = _one_step()
    # First step: buffer = g, Nesterov update = g + 0.9·g.
    expected = w0 - 0.1 * (newton_schulz(g + 0.9 * g) * math.sqrt(2.0)).float()  # bf16 update, as the baseline
    torch.testing.assert_close(w1, expected, rtol=0, atol=1e-6)


def test_muon_decoupled_weight_decay_precedes_update():
    w0, g, w1 = _one_step(weight_decay=0.5)
    expected = w0 * (1 - 0.1 * 0.5) - 0.1 * (newton_schulz(g + 0.9 * g) * math.sqrt(2.0)).float()
    torch.testing.assert_close(w1, expected, rtol=0, atol=1e-6)


def test_muon_row_normalize_feeds_unit_rows_to_newton_schulz():
    w0, g, w1 = _one_step(row_normalize=True, polar_express=True)
    u = g + 0.9 * g
    u = u / u.norm(dim=-1, keepdim=True)
    expected = w0 - 0.1 * (newton_schulz(u, polar_express=True) * math.sqrt(2.0)).float()
    torch.testing.assert_close(w1, expected, rtol=0, atol=1e-6)


def test_baseline_parameter_split():
    with torch.device("meta"):
        split = split_params(GPT(BASELINE))
    assert [len(split.token), len(split.head), len(split.matrix), len(split.scalar)] == [1, 0, 54, 37]
    assert sum(p.numel() for p in split.matrix) == 9 * 1_835_008


def test_record_parameter_split_routes_gates_to_scalar_adam():
    model = GPT(RECORD.__class__(**{**RECORD.to_dict(), "vocab_size": 64, "model_dim": 64, "num_heads": 4, "num_kv_heads": 2}))
    names = {id(p): n for n, p in model.named_parameters()}
    split = split_params(model)
    assert len(split.matrix) == 66
    scalar = {names[id(p)] for p in split.scalar}
    assert {"skip_weights", "skip_gates", "parallel_post_lambdas", "parallel_resid_lambdas", "smear.smear_gate.weight", "smear.smear_lambda"} <= scalar
    assert "blocks.0.attn.attn_gate_w" in scalar
    assert len(split.scalar) == 11 * 5 + 6


def test_build_optimizers_baseline_groups_and_base_lrs():
    opts = build_optimizers(GPT(BASELINE.__class__(**{**BASELINE.to_dict(), "num_layers": 2, "model_dim": 64, "num_heads": 4, "num_kv_heads": 2})), OptimConfig())
    assert [type(o).__name__ for o in opts] == ["Adam", "Muon", "Adam"]
    assert [o.param_groups[0]["base_lr"] for o in opts] == [0.05, 0.04, 0.04]
    assert opts[0].param_groups[0]["betas"] == (0.9, 0.95)


def test_momentum_warmup_endpoints():
    assert muon_momentum_at(0, 0.85, 0.95, 500) == 0.85
    assert muon_momentum_at(250, 0.85, 0.95, 500) == pytest.approx(0.90, abs=1e-15)
    assert muon_momentum_at(500, 0.85, 0.95, 500) == 0.95
    assert muon_momentum_at(10_000, 0.85, 0.95, 500) == 0.95


def test_baseline_wallclock_warmdown():
    # 1000 steps in 500 s -> 0.5 s/step; warm-down spans 1200·0.5 s = 600 s, and 100 s remain -> 1/6.
    assert lr_mul_baseline(1000, 500_000.0, 20_000, 1200, 600_000.0) == pytest.approx(1 / 6, abs=1e-15)
    assert lr_mul_baseline(100, 10_000.0, 20_000, 1200, 600_000.0) == 1.0
    assert lr_mul_baseline(1000, 700_000.0, 20_000, 1200, 600_000.0) == 0.0


def test_baseline_iteration_warmdown_without_cap():
    assert lr_mul_baseline(19_400, 0.0, 20_000, 1200, None) == 0.5
    assert lr_mul_baseline(18_799, 0.0, 20_000, 1200, None) == 1.0
    assert lr_mul_baseline(18_800, 0.0, 20_000, 1200, None) == 1.0
    assert lr_mul_baseline(5, 0.0, 20_000, 0, None) == 1.0


@pytest.mark.parametrize(("min_lr", "at_end"), [(0.0, 0.0), (0.1, 0.1)])
def test_fraction_warmdown_piecewise_linear(min_lr, at_end):
    w = 0.85
    assert lr_mul_fraction(0.0, w, min_lr) == 1.0
    assert lr_mul_fraction(1 - w - 1e-9, w, min_lr) == 1.0
    assert lr_mul_fraction(1 - w, w, min_lr) == pytest.approx(1.0, abs=1e-15)
    assert lr_mul_fraction(1 - w / 2, w, min_lr) == pytest.approx(0.5, abs=1e-15)
    assert lr_mul_fraction(1.0, w, min_lr) == at_end


def test_ema_one_step_and_convergence():
    p = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        p.weight.fill_(1.0)
    ema = EMA(p, 0.75)  # dyadic decay: d·θ0 + (1−d)·θ1 is exact in fp32
    with torch.no_grad():
        p.weight.fill_(3.0)
    ema.update(p)
    assert torch.equal(ema.shadow["weight"], torch.full((2, 3), 0.75 * 1.0 + 0.25 * 3.0))
    for _ in range(200):
        ema.update(p)
    torch.testing.assert_close(ema.state_dict_like(p)["weight"], torch.full((2, 3), 3.0))


def test_ema_shadow_is_fp32_and_cast_back():
    p = nn.Linear(3, 2, bias=False).to(torch.bfloat16)
    ema = EMA(p, 0.99)
    assert ema.shadow["weight"].dtype == torch.float32
    assert ema.state_dict_like(p)["weight"].dtype == torch.bfloat16
