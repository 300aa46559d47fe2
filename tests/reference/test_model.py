"""The reference GPT: parameter counts, virtual layer order, causality and identity-at-init invariants."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from reference.layers import BOS_ID, CausalSelfAttention, SmearGate, apply_rotary, xsa
from reference.model import (
    BASELINE,
    MODEL_PRESETS,
    RECORD,
    TINY,
    TINY_RECORD,
    GPT,
    ModelConfig,
    cast_for_training,
    count_params,
    loop_layer_indices,
)


def formula_params(c: ModelConfig) -> int:
    """§3.7 / §7.1: V·d + L(2d² + 2d·kv + 2dF) + L(4d + H) + num_skip·d (tied, no extras)."""
    d, L, kv = c.model_dim, c.num_layers, c.num_kv_heads * c.head_dim
    return c.vocab_size * d + L * (2 * d * d + 2 * d * kv + 2 * d * c.mlp_hidden) + L * (4 * d + c.num_heads) + (L // 2) * d


def record_formula(c: ModelConfig) -> int:
    """§5.8: V·d + L(2d² + 2d·kv + 2dF) + L(4d + H + 12H) + 2·8·d + 6L + 13."""
    d, L, kv, H = c.model_dim, c.num_layers, c.num_kv_heads * c.head_dim, c.num_heads
    return c.vocab_size * d + L * (2 * d * d + 2 * d * kv + 2 * d * c.mlp_hidden) + L * (4 * d + H + 12 * H) + 2 * 8 * d + 6 * L + 13


def test_baseline_param_count_matches_log():
    assert count_params(BASELINE) == 17_059_912
    assert formula_params(BASELINE) == 17_059_912


def test_record_param_count_matches_log():
    assert count_params(RECORD) == 35_945_671
    assert record_formula(RECORD) == 35_945_671


def test_tiny_param_counts():
    assert count_params(TINY) == formula_params(TINY) == 123_464
    assert count_params(TINY_RECORD) == 247_541


def test_untied_head_adds_d_times_v():
    assert count_params(replace(BASELINE, tie_embeddings=False)) == 17_059_912 + 512 * 1024


def test_meta_build_allocates_nothing():
    with torch.device("meta"):
        model = GPT(BASELINE)
    assert all(p.is_meta for p in model.parameters())


@pytest.mark.parametrize(
    ("start", "end", "encoder", "decoder"),
    [(3, 5, [0, 1, 2, 3, 4, 5, 3, 4], [5, 3, 4, 5, 6, 7, 8, 9, 10]), (4, 5, [0, 1, 2, 3, 4, 5, 4], [5, 4, 5, 6, 7, 8, 9, 10])],
)
def test_loop_layer_indices(start, end, encoder, decoder):
    assert loop_layer_indices(11, start, end, 2) == (encoder, decoder)


def test_record_uses_eight_skips_and_plain_unet_until_looping():
    with torch.device("meta"):
        model = GPT(RECORD)
    assert tuple(model.skip_weights.shape) == (8, 512)
    assert model.layer_order() == ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9, 10])
    model.looping_active = True
    assert model.layer_order() == ([0, 1, 2, 3, 4, 5, 3, 4], [5, 3, 4, 5, 6, 7, 8, 9, 10])


def _randomize(model: GPT, seed: int = 0) -> GPT:
    """Non-zero values everywhere, so zero-initialized gates and projections do not hide a leak."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return model


EVERYTHING = replace(TINY_RECORD, bigram_buckets=64, bigram_dim=16)


@pytest.mark.parametrize("looping", [False, True])
def test_logits_are_causal_with_every_option(looping):
    torch.manual_seed(0)
    model = _randomize(GPT(EVERYTHING)).eval()
    model.looping_active = looping
    ids = torch.randint(4, EVERYTHING.vocab_size, (2, 24))
    ids[:, 9] = BOS_ID  # SmearGate's BOS path is exercised too
    t = 12
    perturbed = ids.clone()
    perturbed[:, t + 1 :] = torch.randint(4, EVERYTHING.vocab_size, (2, 24 - t - 1))
    with torch.no_grad():
        a, b = model.forward_logits(ids), model.forward_logits(perturbed)
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], rtol=0, atol=1e-5)
    assert (a[:, t + 1 :] - b[:, t + 1 :]).abs().max() > 1e-2


def test_forward_is_mean_ce_of_softcapped_fp32_logits():
    model = _randomize(GPT(TINY))
    ids = torch.randint(0, TINY.vocab_size, (2, 16))
    tgt = torch.randint(0, TINY.vocab_size, (2, 16))
    logits = model.forward_logits(ids)
    assert logits.dtype == torch.float32 and logits.shape == (2, 16, TINY.vocab_size)
    assert logits.abs().max() <= TINY.logit_softcap
    torch.testing.assert_close(model(ids, tgt), F.cross_entropy(logits.reshape(-1, TINY.vocab_size), tgt.reshape(-1)))


def test_zero_init_blocks_are_identity_at_init():
    """Zero-init out/down projections: each block returns its input, so the hidden state is the normalized embedding."""
    torch.manual_seed(0)
    model = GPT(replace(TINY, num_layers=5))
    ids = torch.randint(0, TINY.vocab_size, (2, 16))
    expected = F.rms_norm(F.rms_norm(model.tok_emb(ids), (64,)), (64,))
    torch.testing.assert_close(model.hidden(ids), expected, rtol=0, atol=1e-6)


def test_smear_gate_and_bigram_are_identity_at_init():
    torch.manual_seed(0)
    plain = GPT(TINY)
    extra = GPT(replace(TINY, smear_gate=True, bigram_buckets=64, bigram_dim=16))
    missing, unexpected = extra.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and set(missing) == {
        "smear.smear_gate.weight",
        "smear.smear_lambda",
        "bigram.table.weight",
        "bigram.proj.weight",
        "bigram.scale",
    }
    ids = torch.randint(0, TINY.vocab_size, (2, 16))
    assert torch.equal(plain.forward_logits(ids), extra.forward_logits(ids))


def _attention(sparse_gate: bool) -> CausalSelfAttention:
    return CausalSelfAttention(64, 4, 2, 10_000.0, 0, 1.5, use_xsa=False, sparse_gate=sparse_gate, gate_window=12, sparse_gate_scale=0.5)


def test_sparse_attn_gate_halves_attention_output_at_init():
    torch.manual_seed(0)
    gated, plain = _attention(True), _attention(False)
    plain.load_state_dict({k: v for k, v in gated.state_dict().items() if k != "attn_gate_w"})
    with torch.no_grad():
        gated.proj.weight.normal_()
        plain.proj.weight.copy_(gated.proj.weight)
        x = torch.randn(2, 10, 64)
        torch.testing.assert_close(gated(x), 0.5 * plain(x), rtol=1e-6, atol=1e-6)


def test_xsa_output_is_orthogonal_to_own_value():
    torch.manual_seed(0)
    y, v = torch.randn(2, 7, 8, 16), torch.randn(2, 7, 2, 16)
    out = xsa(y, v)
    vn = F.normalize(v, dim=-1).repeat_interleave(4, dim=2)  # head h reads KV head h // 4
    assert (out * vn).sum(-1).abs().max() <= 1e-5


def test_partial_rope_leaves_pass_dims_and_is_relative():
    attn = CausalSelfAttention(64, 2, 2, 10_000.0, 8, 1.0, use_xsa=False, sparse_gate=False, gate_window=12, sparse_gate_scale=1.0)
    cos, sin = attn.rotary(32, torch.device("cpu"), torch.float64)
    torch.manual_seed(0)
    q, k = torch.randn(32, dtype=torch.float64), torch.randn(32, dtype=torch.float64)
    rq = apply_rotary(q.expand(1, 1, 32, 32), cos, sin, 8)[0, 0]
    rk = apply_rotary(k.expand(1, 1, 32, 32), cos, sin, 8)[0, 0]
    assert torch.equal(rq[:, 8:], q[8:].expand(32, 24))
    dots = rq[:, :8] @ rk[:, :8].T  # dots[i, j]: query at position i, key at position j
    for offset in (0, 3, -7):
        diag = dots.diagonal(offset)
        torch.testing.assert_close(diag, diag[:1].expand_as(diag), rtol=0, atol=1e-6)  # fp32 tables


def test_smear_gate_masks_bos_positions():
    smear = SmearGate(4)
    with torch.no_grad():
        smear.smear_lambda.fill_(1.0)
    x = torch.randn(1, 6, 8)
    ids = torch.tensor([[5, 6, BOS_ID, 7, 8, 9]])
    out = smear(x, ids)
    assert torch.equal(out[0, 2], x[0, 2])  # BOS does not read the previous document
    assert torch.equal(out[0, 0], x[0, 0])
    assert not torch.allclose(out[0, 3], x[0, 3])


def test_cast_for_training_keeps_embedding_bf16_and_the_rest_fp32():
    model = cast_for_training(GPT(TINY_RECORD))
    dtypes = {n: p.dtype for n, p in model.named_parameters()}
    assert dtypes.pop("tok_emb.weight") == torch.bfloat16
    assert set(dtypes.values()) == {torch.float32}


def test_presets_are_named():
    assert set(MODEL_PRESETS) == {"baseline", "record", "tiny", "tiny-record"}
