"""Quantization, compression and size accounting (REFERENCE-STACK §4, §5.6, §7.2 #21–#25)."""

from __future__ import annotations

import io
import zlib

import pytest
import torch

from reference.export import (
    ARTIFACT_CAP_BYTES,
    COMPRESSORS,
    INT8_FORMAT,
    MIXED_FORMAT,
    ArtifactSize,
    MixedQuantSpec,
    byte_shuffle,
    byte_unshuffle,
    collect_hessians,
    compress,
    dequantize_state_dict,
    detect_compressor,
    gptq_quantize,
    load_artifact,
    payload_bytes_from_shapes,
    quantize_int8_rows,
    quantize_rows_sdclip,
    quantize_state_dict_int8,
    quantize_state_dict_mixed,
    serialize_artifact,
    sdclip_scales,
)
from reference.model import BASELINE, RECORD, TINY, GPT, cast_for_training


def test_int8_rows_error_within_half_step_and_scale_floor():
    torch.manual_seed(0)
    w = torch.randn(64, 300) * torch.logspace(-3, 1, 64)[:, None]  # rows below and above the 1/127 floor
    q, s = quantize_int8_rows(w)
    assert q.dtype == torch.int8 and s.dtype == torch.float16 and s.shape == (64,)
    clip = torch.quantile(w.abs(), 0.9999984, dim=1)
    torch.testing.assert_close(s, (clip / 127).clamp_min(1 / 127).half(), rtol=0, atol=0)
    assert (s.float() >= torch.tensor(1 / 127).half().float()).all()
    # the quantizer divides by the fp32 scale, dequantization multiplies by the stored fp16 one
    s32 = (clip / 127).clamp_min(1 / 127)
    unclipped = w.abs() <= clip[:, None]
    err = (w - q.float() * s32[:, None]).abs()
    assert (err[unclipped] <= (s32[:, None] / 2).expand_as(w)[unclipped] * (1 + 1e-6)).all()


def _baseline_like_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {
        "tok_emb.weight": torch.randn(1024, 80).bfloat16(),  # 81,920 > 65,536: quantized, bf16 restored
        "blocks.0.attn.c_q.weight": torch.randn(300, 256),
        "blocks.0.attn.q_gain": torch.full((8,), 1.5),  # control: fp32 passthrough
        "blocks.0.mlp.fc.weight": torch.randn(64, 64),  # small: fp16 passthrough
        "blocks.0.attn.proj.weight": torch.randn(64, 64).bfloat16(),
        "step": torch.tensor(7),
        "conv": torch.randn(70_000),  # large non-2-D: one per-tensor scale
    }


def test_int8_state_dict_format_and_passthrough_rules():
    sd = _baseline_like_state()
    obj, stats = quantize_state_dict_int8(sd)
    assert obj["__quant_format__"] == INT8_FORMAT
    assert set(obj["quantized"]) == {"tok_emb.weight", "blocks.0.attn.c_q.weight", "conv"}
    assert obj["passthrough"]["blocks.0.attn.q_gain"].dtype == torch.float32
    assert obj["passthrough"]["blocks.0.mlp.fc.weight"].dtype == torch.float16
    assert obj["passthrough_orig_dtypes"] == {"blocks.0.mlp.fc.weight": "float32", "blocks.0.attn.proj.weight": "bfloat16"}
    assert obj["qmeta"] == {n: {"scheme": "per_row", "axis": 0} for n in ("tok_emb.weight", "blocks.0.attn.c_q.weight")}
    assert obj["dtypes"]["tok_emb.weight"] == "bfloat16"
    assert obj["scales"]["conv"].ndim == 0
    assert stats["param_count"] == sum(t.numel() for t in sd.values())
    assert stats["int8_payload_bytes"] == (1024 * 80 + 2 * 1024) + (300 * 256 + 2 * 300) + 8 * 4 + 64 * 64 * 2 * 2 + 8 + (70_000 + 4)
    out = dequantize_state_dict(obj)
    assert {k: v.dtype for k, v in out.items()} == {k: v.dtype for k, v in sd.items()}
    assert torch.equal(out["step"], sd["step"])


def test_zlib_round_trip_is_byte_exact():
    obj, _ = quantize_state_dict_int8(_baseline_like_state())
    blob, raw_len = serialize_artifact(obj, "zlib")
    buf = io.BytesIO()
    torch.save(obj, buf)
    raw = zlib.decompress(blob)
    assert len(raw) == raw_len and raw == buf.getvalue() and blob == zlib.compress(raw, level=9)
    back = load_artifact(blob)
    for key in ("quantized", "scales", "passthrough"):
        assert back[key].keys() == obj[key].keys()
        assert all(torch.equal(back[key][k], obj[key][k]) for k in obj[key])


@pytest.mark.parametrize("method", COMPRESSORS)
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_compressor_round_trips_and_is_detected(method, shuffle):
    obj, _ = quantize_state_dict_int8(_baseline_like_state())
    blob, _ = serialize_artifact(obj, method, shuffle=shuffle)
    assert detect_compressor(blob) == method
    back = load_artifact(blob)
    assert torch.equal(back["quantized"]["tok_emb.weight"], obj["quantized"]["tok_emb.weight"])


def test_byte_shuffle_is_an_exact_inverse():
    data = bytes(range(256)) * 3 + b"x"
    shuffled = byte_shuffle(data)
    assert shuffled[:5] == b"BSHF\x02" and shuffled[5:9] == bytes([0, 2, 4, 6])
    assert byte_unshuffle(shuffled) == data


def test_sdclip_scale_range_and_monotone_size():
    torch.manual_seed(0)
    w = torch.randn(256, 512)
    s = sdclip_scales(w, 6, 12.85)
    torch.testing.assert_close(s, (12.85 * w.std(dim=1) / 31).half(), rtol=0, atol=0)
    sizes = []
    for k in (8.0, 12.0, 16.0, 24.0):
        q, _ = quantize_rows_sdclip(w, 6, k)
        assert q.abs().max() <= 31
        sizes.append(len(compress(q.numpy().tobytes(), "brotli")))
    assert sizes == sorted(sizes, reverse=True)


def test_gptq_with_identity_hessian_is_round_to_nearest():
    torch.manual_seed(0)
    w = torch.randn(48, 200)
    q, s = gptq_quantize(w, torch.eye(200), bits=6, k=12.85, block_size=64)
    q_rtn, s_rtn = quantize_rows_sdclip(w, 6, 12.85)
    assert torch.equal(s, s_rtn) and torch.equal(q, q_rtn)


def test_gptq_undoes_act_order_and_zeroes_dead_columns():
    torch.manual_seed(0)
    w = torch.randn(16, 40)
    diag = torch.rand(40) + 0.5
    diag[[3, 17]] = 0.0  # dead inputs
    q, s = gptq_quantize(w, torch.diag(diag), bits=6, k=12.85, block_size=16)
    q_rtn, _ = quantize_rows_sdclip(w, 6, 12.85)
    live = diag > 0
    assert torch.equal(q[:, live], q_rtn[:, live])  # diagonal H: no error feedback, column order restored
    assert (q[:, ~live] == 0).all()


def test_gptq_beats_rtn_on_correlated_activations():
    torch.manual_seed(0)
    x = torch.randn(4096, 64) @ torch.randn(64, 64) + 0.1 * torch.randn(4096, 64)
    H = x.T @ x / 4096
    w = torch.randn(32, 64)

    def proxy(q: torch.Tensor, s: torch.Tensor) -> float:
        e = w - q.float() * s.float()[:, None]
        return float(torch.trace(e @ H @ e.T))

    assert proxy(*gptq_quantize(w, H, bits=4, k=6.0)) < 0.7 * proxy(*quantize_rows_sdclip(w, 4, 6.0))


def test_collect_hessians_covers_every_linear_and_the_tied_embedding():
    torch.manual_seed(0)
    model = GPT(TINY)
    batches = [torch.randint(0, TINY.vocab_size, (2, 16)) for _ in range(3)]
    hs = collect_hessians(model, batches)
    per_block = ("attn.c_q", "attn.c_k", "attn.c_v", "attn.proj", "mlp.fc", "mlp.proj")
    assert set(hs) == {f"blocks.{i}.{n}.weight" for i in range(2) for n in per_block} | {"tok_emb.weight"}
    assert hs["blocks.0.mlp.proj.weight"].shape == (128, 128)
    assert torch.equal(hs["blocks.1.attn.c_q.weight"], hs["blocks.1.attn.c_v.weight"])  # shared input
    with torch.no_grad():
        gram = [(h := model.hidden(b).reshape(-1, 64)).T @ h for b in batches]
    torch.testing.assert_close(hs["tok_emb.weight"], sum(gram) / 3, rtol=1e-5, atol=1e-5)  # mean over batches


def test_mixed_export_round_trip_on_a_trained_like_model():
    torch.manual_seed(0)
    model = cast_for_training(GPT(TINY.__class__(**{**TINY.to_dict(), "vocab_size": 2048})))
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 2:
                p.normal_(0, 0.05)
    sd = model.state_dict()
    spec = MixedQuantSpec()
    obj, stats = quantize_state_dict_mixed(sd, spec)
    assert obj["__quant_format__"] == MIXED_FORMAT
    assert obj["bits"] == {"tok_emb.weight": 7}
    assert stats["payload_bytes"] == payload_bytes_from_shapes(model, MIXED_FORMAT)
    back = dequantize_state_dict(load_artifact(serialize_artifact(obj, "brotli", shuffle=True)[0]))
    assert back["tok_emb.weight"].dtype == torch.bfloat16
    q, s = obj["quantized"]["tok_emb.weight"], obj["scales"]["tok_emb.weight"].float()
    w_hat = q.float() * s[:, None]
    assert ((w_hat - sd["tok_emb.weight"].float()).abs() <= s[:, None] / 2 * (1 + 1e-6)).all()  # nothing beyond ±63·s
    assert torch.equal(back["tok_emb.weight"], w_hat.bfloat16())
    assert all(v.dtype == torch.float32 for k, v in back.items() if k != "tok_emb.weight")


def test_payload_from_shapes_matches_baseline_log():
    with torch.device("meta"):
        baseline = GPT(BASELINE)
    assert payload_bytes_from_shapes(baseline, INT8_FORMAT) == 17_178_912  # §4.2: "payload:17178912"
    model = GPT(TINY)
    assert payload_bytes_from_shapes(model, INT8_FORMAT) == quantize_state_dict_int8(model.state_dict())[1]["int8_payload_bytes"]
    with torch.device("meta"):
        record = GPT(RECORD)
    assert payload_bytes_from_shapes(record, MIXED_FORMAT) == 36_084_110


def test_artifact_size_uses_the_decimal_cap():
    assert ARTIFACT_CAP_BYTES == 16_000_000
    baseline = ArtifactSize(15_815_847, 47_642)
    assert baseline.total == 15_863_489 and baseline.fits
    assert ArtifactSize(15_952_358, 47_642).fits
    assert not ArtifactSize(15_952_359, 47_642).fits  # 16,000,001 bytes, although < 15.26 MiB
