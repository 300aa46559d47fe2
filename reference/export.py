"""Quantization, compression and artifact size accounting (REFERENCE-STACK §4, §5.6).

Two formats:
- `int8_clean_per_row_v1`: the baseline exporter exactly (per-row int8 with a 99.99984th-percentile clip and a
  1/127 scale floor, ≤65,536-element floats passed through, control tensors fp32);
- `mixed_per_row_v1`: the late records' scheme — int6 matrices / int7 embedding, SDClip row scales
  `k·std(row)/R`, optionally GPTQ-solved against Hessians from training batches, every ≤65,536-element float fp16.
The artifact is `torch.save(obj)` compressed; its size is the compressed bytes plus the counted code bytes,
checked against 16,000,000 bytes (decimal).
"""

from __future__ import annotations

import io
import lzma
import zlib
from dataclasses import dataclass
from pathlib import Path

import brotli
import torch
import zstandard
from torch import Tensor, nn

from reference.layers import CastedLinear
from reference.model import GPT, is_control_tensor

ARTIFACT_CAP_BYTES = 16_000_000  # decimal, never MiB (§4.3)
KEEP_FLOAT_MAX_NUMEL = 65_536
INT8_CLIP_Q = 99.99984 / 100.0
INT8_FORMAT = "int8_clean_per_row_v1"
MIXED_FORMAT = "mixed_per_row_v1"


def _nbytes(t: Tensor) -> int:
    return t.numel() * t.element_size()


def _dtype_name(t: Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


# ---------------------------------------------------------------- baseline int8 (§4.1)


def quantize_int8_rows(w: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row symmetric int8: `s_r = max(clip_r/127, 1/127)` (fp16), `q = round(clip(w, ±clip_r)/s_r)`."""
    w32 = w.float()
    clip = torch.quantile(w32.abs(), INT8_CLIP_Q, dim=1)
    clipped = torch.maximum(torch.minimum(w32, clip[:, None]), -clip[:, None])
    scale = (clip / 127.0).clamp_min(1.0 / 127.0)
    q = torch.clamp(torch.round(clipped / scale[:, None]), -127, 127).to(torch.int8)
    return q.contiguous(), scale.to(torch.float16).contiguous()


def quantize_int8_tensor(t: Tensor) -> tuple[Tensor, Tensor]:
    """Non-2-D large tensors: one fp32 scale with the same percentile clip."""
    t32 = t.float()
    clip = float(torch.quantile(t32.abs().flatten(), INT8_CLIP_Q)) if t32.numel() else 0.0
    scale = torch.tensor(clip / 127.0 if clip > 0 else 1.0, dtype=torch.float32)
    q = torch.clamp(torch.round(torch.clamp(t32, -clip, clip) / scale), -127, 127).to(torch.int8)
    return q.contiguous(), scale


def _keep_float(name: str, t: Tensor, orig_dtypes: dict[str, str], control_fp32: bool) -> Tensor:
    if control_fp32 and is_control_tensor(name):
        return t.float().contiguous()
    if t.dtype in (torch.float32, torch.bfloat16):
        orig_dtypes[name] = _dtype_name(t)
        return t.to(torch.float16).contiguous()
    return t


def quantize_state_dict_int8(state_dict: dict[str, Tensor]) -> tuple[dict, dict[str, int]]:
    """The baseline's `quantize_state_dict_int8`: same object layout and the same payload statistics."""
    quantized, scales, dtypes, passthrough, orig_dtypes, qmeta = {}, {}, {}, {}, {}, {}
    stats = dict.fromkeys(
        ("param_count", "num_tensors", "num_float_tensors", "num_nonfloat_tensors", "baseline_tensor_bytes", "int8_payload_bytes"),
        0,
    )
    for name, tensor in state_dict.items():
        t = tensor.detach().cpu().contiguous()
        stats["param_count"] += t.numel()
        stats["num_tensors"] += 1
        stats["baseline_tensor_bytes"] += _nbytes(t)
        if not t.is_floating_point():
            stats["num_nonfloat_tensors"] += 1
            passthrough[name] = t
            stats["int8_payload_bytes"] += _nbytes(t)
            continue
        if t.numel() <= KEEP_FLOAT_MAX_NUMEL:
            kept = _keep_float(name, t, orig_dtypes, control_fp32=True)
            passthrough[name] = kept
            stats["int8_payload_bytes"] += _nbytes(kept)
            continue
        stats["num_float_tensors"] += 1
        q, s = quantize_int8_rows(t) if t.ndim == 2 else quantize_int8_tensor(t)
        if s.ndim > 0:
            qmeta[name] = {"scheme": "per_row", "axis": 0}
        quantized[name], scales[name], dtypes[name] = q, s, _dtype_name(t)
        stats["int8_payload_bytes"] += _nbytes(q) + _nbytes(s)
    obj: dict = {"__quant_format__": INT8_FORMAT, "quantized": quantized, "scales": scales, "dtypes": dtypes, "passthrough": passthrough}
    if qmeta:
        obj["qmeta"] = qmeta
    if orig_dtypes:
        obj["passthrough_orig_dtypes"] = orig_dtypes
    return obj, stats


def _dequantize_common(obj: dict) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for name, q in obj["quantized"].items():
        dtype = getattr(torch, obj["dtypes"][name])
        s = obj["scales"][name]
        if s.ndim > 0:
            w = q.float() * s.float().view(q.shape[0], *([1] * (q.ndim - 1)))
        else:
            w = q.float() * float(s)
        out[name] = w.to(dtype).contiguous()
    orig = obj.get("passthrough_orig_dtypes", {})
    for name, t in obj["passthrough"].items():
        t = t.detach().cpu()
        out[name] = (t.to(getattr(torch, orig[name])) if name in orig else t).contiguous()
    return out


def dequantize_state_dict(obj: dict) -> dict[str, Tensor]:
    """Inverse of either format: `W = q·s_r` per row in the original dtype; passthrough cast back."""
    if obj.get("__quant_format__") not in (INT8_FORMAT, MIXED_FORMAT):
        raise ValueError(f"unknown quant format {obj.get('__quant_format__')!r}")
    return _dequantize_common(obj)


# ---------------------------------------------------------------- SDClip + GPTQ (§5.6)


@dataclass(frozen=True)
class MixedQuantSpec:
    """Bit widths and SDClip sigmas per tensor role; defaults are the final stack's (PR #1855)."""

    matrix_bits: int = 6
    embed_bits: int = 7
    attn_clip_sigmas: float = 13.0
    mlp_clip_sigmas: float = 11.5
    embed_clip_sigmas: float = 14.0
    other_clip_sigmas: float = 12.85
    block_size: int = 128

    def for_tensor(self, name: str) -> tuple[int, float]:
        """(bits, k) for a large tensor by its state-dict name."""
        if "tok_emb" in name:
            return self.embed_bits, self.embed_clip_sigmas
        if ".mlp." in name:
            return self.matrix_bits, self.mlp_clip_sigmas
        if ".attn." in name:
            return self.matrix_bits, self.attn_clip_sigmas
        return self.matrix_bits, self.other_clip_sigmas


def sdclip_scales(w: Tensor, bits: int, k: float) -> Tensor:
    """SDClip row scale `s_r = k·std(row)/R`, `R = 2^{b−1}−1`, stored fp16 (PR #1394)."""
    r = 2 ** (bits - 1) - 1
    return (k * w.float().std(dim=1) / r).clamp_min(1e-10).to(torch.float16)


def quantize_rows_sdclip(w: Tensor, bits: int, k: float) -> tuple[Tensor, Tensor]:
    """Round-to-nearest with SDClip scales; values clamped only at ±R."""
    r = 2 ** (bits - 1) - 1
    s = sdclip_scales(w, bits, k)
    q = torch.clamp(torch.round(w.float() / s.float()[:, None]), -r, r).to(torch.int8)
    return q, s


def gptq_quantize(w: Tensor, H: Tensor, bits: int, k: float, block_size: int = 128) -> tuple[Tensor, Tensor]:
    """Full-Hessian GPTQ with act-order (§5.6): SDClip scales fixed up front, columns quantized in descending
    `diag(H)` order with error feedback through the upper Cholesky factor of H⁻¹, permutation undone."""
    r = 2 ** (bits - 1) - 1
    W = w.float().clone()
    rows, cols = W.shape
    H = H.float().clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1  # dead input columns: unit curvature, weights zeroed below
    H.diagonal().add_(0.01 * H.diag().mean())
    perm = torch.argsort(H.diag(), descending=True)
    invperm = torch.argsort(perm)
    W = W[:, perm]
    W[:, dead[perm]] = 0
    H = H[perm][:, perm]
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    s = sdclip_scales(w, bits, k)
    sf = s.float()
    Q = torch.zeros(rows, cols, dtype=torch.int8)
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        Wb = W[:, i1:i2].clone()
        Ub = U[i1:i2, i1:i2]
        err = torch.zeros(rows, i2 - i1)
        for j in range(i2 - i1):
            q = torch.clamp(torch.round(Wb[:, j] / sf), -r, r)
            Q[:, i1 + j] = q.to(torch.int8)
            e = (Wb[:, j] - q * sf) / Ub[j, j]
            err[:, j] = e
            Wb[:, j:] -= e[:, None] * Ub[j, j:][None, :]
        if i2 < cols:
            W[:, i2:] -= err @ U[i1:i2, i2:]
    return Q[:, invperm].contiguous(), s


@torch.no_grad()
def collect_hessians(model: GPT, batches: list[Tensor]) -> dict[str, Tensor]:
    """`H = XᵀX` of every block linear's input (and of the final-norm output for a tied embedding), averaged
    over batches. Only training batches may be passed: this runs inside the training budget (§5.6)."""
    sums: dict[str, Tensor] = {}
    hooks = []

    def add(name: str, x: Tensor) -> None:
        x = x.detach().float().reshape(-1, x.size(-1))
        if name not in sums:
            sums[name] = torch.zeros(x.size(1), x.size(1), device=x.device)
        sums[name].addmm_(x.T, x)

    for mod_name, module in model.blocks.named_modules():
        if isinstance(module, CastedLinear):
            key = f"blocks.{mod_name}.weight"
            hooks.append(module.register_forward_hook(lambda m, inp, out, key=key: add(key, inp[0])))
    if model.lm_head is None:
        hooks.append(model.final_norm.register_forward_hook(lambda m, inp, out: add("tok_emb.weight", out)))
    was_training = model.training
    model.eval()
    try:
        for x in batches:
            model.forward_logits(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return {k: v.cpu() / len(batches) for k, v in sums.items()}


def quantize_state_dict_mixed(
    state_dict: dict[str, Tensor], spec: MixedQuantSpec = MixedQuantSpec(), hessians: dict[str, Tensor] | None = None
) -> tuple[dict, dict[str, int]]:
    """Late-record export: large 2-D floats → int{bits} per row (GPTQ where a Hessian exists, else SDClip RTN);
    other floats → fp16 passthrough; non-floats as-is."""
    quantized, scales, dtypes, bits_of, passthrough, orig_dtypes = {}, {}, {}, {}, {}, {}
    payload = 0
    for name, tensor in state_dict.items():
        t = tensor.detach().cpu().contiguous()
        if not t.is_floating_point() or t.numel() <= KEEP_FLOAT_MAX_NUMEL or t.ndim != 2:
            kept = _keep_float(name, t, orig_dtypes, control_fp32=False) if t.is_floating_point() else t
            passthrough[name] = kept
            payload += _nbytes(kept)
            continue
        bits, k = spec.for_tensor(name)
        if hessians is not None and name in hessians:
            q, s = gptq_quantize(t, hessians[name], bits, k, spec.block_size)
        else:
            q, s = quantize_rows_sdclip(t, bits, k)
        quantized[name], scales[name], dtypes[name], bits_of[name] = q, s, _dtype_name(t), bits
        payload += _nbytes(q) + _nbytes(s)
    obj = {
        "__quant_format__": MIXED_FORMAT,
        "quantized": quantized,
        "scales": scales,
        "dtypes": dtypes,
        "bits": bits_of,
        "passthrough": passthrough,
        "passthrough_orig_dtypes": orig_dtypes,
    }
    return obj, {"payload_bytes": payload}


# ---------------------------------------------------------------- compression and artifact


COMPRESSORS = ("zlib", "zstd", "brotli", "lzma")
_SHUFFLE_MAGIC = b"BSHF"


def byte_shuffle(data: bytes, stride: int = 2) -> bytes:
    """PR #1089 byte shuffle: bytes at offset ≡ 0 (mod stride), then ≡ 1, …, behind `BSHF` + stride."""
    return _SHUFFLE_MAGIC + bytes([stride]) + b"".join(data[i::stride] for i in range(stride))


def byte_unshuffle(data: bytes) -> bytes:
    if not data.startswith(_SHUFFLE_MAGIC):
        raise ValueError("not a byte-shuffled stream")
    stride, body = data[4], data[5:]
    n = len(body)
    out = bytearray(n)
    pos = 0
    for i in range(stride):
        count = len(range(i, n, stride))
        out[i::stride] = body[pos : pos + count]
        pos += count
    return bytes(out)


def compress(data: bytes, method: str) -> bytes:
    if method == "zlib":
        return zlib.compress(data, level=9)
    if method == "zstd":
        return zstandard.ZstdCompressor(level=22).compress(data)
    if method == "brotli":
        return brotli.compress(data, quality=11)
    if method == "lzma":
        return lzma.compress(data, preset=9)
    raise ValueError(f"unknown compressor {method!r}; choose from {COMPRESSORS}")


def decompress(blob: bytes, method: str) -> bytes:
    if method == "zlib":
        return zlib.decompress(blob)
    if method == "zstd":
        return zstandard.ZstdDecompressor().decompress(blob)
    if method == "brotli":
        return brotli.decompress(blob)
    if method == "lzma":
        return lzma.decompress(blob)
    raise ValueError(f"unknown compressor {method!r}; choose from {COMPRESSORS}")


def detect_compressor(blob: bytes) -> str:
    """By magic bytes; brotli has none, so it is the fallback."""
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if blob[:6] == b"\xfd7zXZ\x00":
        return "lzma"
    if len(blob) >= 2 and blob[0] & 0x0F == 8 and (blob[0] << 8 | blob[1]) % 31 == 0:
        return "zlib"
    return "brotli"


def serialize_artifact(obj: dict, method: str = "zlib", shuffle: bool = False) -> tuple[bytes, int]:
    """`torch.save` into memory, optional byte shuffle, compress. Returns (blob, raw torch bytes)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    raw = buf.getvalue()
    return compress(byte_shuffle(raw) if shuffle else raw, method), len(raw)


def load_artifact(blob: bytes, method: str | None = None) -> dict:
    raw = decompress(blob, method or detect_compressor(blob))
    if raw.startswith(_SHUFFLE_MAGIC):
        raw = byte_unshuffle(raw)
    return torch.load(io.BytesIO(raw), map_location="cpu")


@dataclass(frozen=True)
class ArtifactSize:
    model_bytes: int
    code_bytes: int
    cap: int = ARTIFACT_CAP_BYTES

    @property
    def total(self) -> int:
        return self.model_bytes + self.code_bytes

    @property
    def fits(self) -> bool:
        return self.total <= self.cap


REFERENCE_DIR = Path(__file__).resolve().parent


def reference_code_files() -> list[Path]:
    """The code counted for a reference run: every module of the `reference` package (it is the training and
    evaluation program, the analogue of a submission's `train_gpt.py`)."""
    return sorted(REFERENCE_DIR.glob("*.py"))


def code_bytes(paths: list[Path] | None = None) -> int:
    return sum(len(p.read_text(encoding="utf-8").encode("utf-8")) for p in (paths or reference_code_files()))


def payload_bytes_from_shapes(model: nn.Module, fmt: str, spec: MixedQuantSpec = MixedQuantSpec()) -> int:
    """Uncompressed payload of the export computed from shapes only (works on the meta device)."""
    total = 0
    for name, t in model.state_dict().items():
        if not t.is_floating_point():
            total += _nbytes(t)
        elif t.numel() <= KEEP_FLOAT_MAX_NUMEL or (fmt == MIXED_FORMAT and t.ndim != 2):
            total += t.numel() * (4 if fmt == INT8_FORMAT and is_control_tensor(name) else 2)
        elif t.ndim == 2:
            total += t.numel() + 2 * t.size(0)  # int8 container + fp16 row scales
        else:
            total += t.numel() + 4
    return total
