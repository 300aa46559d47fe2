"""Building blocks of the challenge GPT (REFERENCE-STACK §3.2, §5.3).

Every norm is the parameter-free RMSNorm; linears keep fp32 weights and cast them to the activation dtype at
matmul time (`CastedLinear`), so a bf16 training run keeps fp32 master weights like the baseline.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

BOS_ID = 1  # SentencePiece layout of every official tokenizer: <pad> <s> </s> <unk> = 0 1 2 3


class RMSNorm(nn.Module):
    """Parameter-free RMSNorm; a module (not a function) so GPTQ hooks can read its output."""

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, (x.size(-1),))


class CastedLinear(nn.Linear):
    """fp32 master weight, computed in the activation dtype."""

    def __init__(self, in_features: int, out_features: int, zero_init: bool = False) -> None:
        super().__init__(in_features, out_features, bias=False)
        self.zero_init = zero_init

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight.to(x.dtype))


class Rotary(nn.Module):
    """cos/sin tables for the first `rope_dims` dims of a head (all of them in the baseline)."""

    def __init__(self, rope_dims: int, base: float) -> None:
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, rope_dims, 2, dtype=torch.float32) / rope_dims))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, seq_len: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        t = torch.arange(seq_len, device=device, dtype=torch.float32)
        freqs = torch.outer(t, self.inv_freq.to(device))
        # (1, 1, T, rd/2): broadcast over batch and heads in the (B, H, T, hd) layout.
        return freqs.cos()[None, None].to(dtype), freqs.sin()[None, None].to(dtype)


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor, rope_dims: int) -> Tensor:
    """Rotate the two halves of the first `rope_dims` dims; the remaining dims carry no position."""
    x_rope, x_pass = x[..., :rope_dims], x[..., rope_dims:]
    half = rope_dims // 2
    x1, x2 = x_rope[..., :half], x_rope[..., half:]
    rotated = torch.cat((x1 * cos + x2 * sin, x1 * (-sin) + x2 * cos), dim=-1)
    return torch.cat((rotated, x_pass), dim=-1) if x_pass.size(-1) else rotated


def xsa(y: Tensor, v: Tensor) -> Tensor:
    """Exclusive self-attention: remove from each head output its component along the token's own value.

    y: (B, T, H, hd), v: (B, T, Hkv, hd). GQA form: heads are grouped per KV head, no repeat_interleave.
    """
    b, t, h, d = y.shape
    hkv = v.size(-2)
    y_g = y.reshape(b, t, hkv, h // hkv, d)
    vn = F.normalize(v, dim=-1).unsqueeze(-2)
    return (y_g - (y_g * vn).sum(-1, keepdim=True) * vn).reshape(b, t, h, d)


class CausalSelfAttention(nn.Module):
    def __init__(
        self,
        dim: int,
        num_heads: int,
        num_kv_heads: int,
        rope_base: float,
        rope_dims: int,
        qk_gain_init: float,
        use_xsa: bool,
        sparse_gate: bool,
        gate_window: int,
        sparse_gate_scale: float,
    ) -> None:
        super().__init__()
        if dim % num_heads or num_heads % num_kv_heads:
            raise ValueError("model_dim must divide by num_heads, num_heads by num_kv_heads")
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        self.head_dim = dim // num_heads
        self.rope_dims = rope_dims or self.head_dim
        if self.rope_dims % 2 or self.rope_dims > self.head_dim:
            raise ValueError("rope_dims must be even and at most the head dim")
        kv_dim = num_kv_heads * self.head_dim
        self.c_q = CastedLinear(dim, dim)
        self.c_k = CastedLinear(dim, kv_dim)
        self.c_v = CastedLinear(dim, kv_dim)
        self.proj = CastedLinear(dim, dim, zero_init=True)
        self.q_gain = nn.Parameter(torch.full((num_heads,), qk_gain_init, dtype=torch.float32))
        self.rotary = Rotary(self.rope_dims, rope_base)
        self.use_xsa = use_xsa
        self.gate_window = gate_window
        self.sparse_gate_scale = sparse_gate_scale
        # SparseAttnGate (PR #1787): sigmoid(c * W x[:12]) per head, zero init -> 0.5 at init.
        self.attn_gate_w = nn.Parameter(torch.zeros(num_heads, gate_window)) if sparse_gate else None

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        q = self.c_q(x).reshape(b, t, self.num_heads, self.head_dim)
        k = self.c_k(x).reshape(b, t, self.num_kv_heads, self.head_dim)
        v = self.c_v(x).reshape(b, t, self.num_kv_heads, self.head_dim)
        q, k = F.rms_norm(q, (self.head_dim,)), F.rms_norm(k, (self.head_dim,))
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        cos, sin = self.rotary(t, x.device, q.dtype)
        q = apply_rotary(q, cos, sin, self.rope_dims)
        k = apply_rotary(k, cos, sin, self.rope_dims)
        q = q * self.q_gain.to(q.dtype)[None, :, None, None]
        y = F.scaled_dot_product_attention(
            q, k, v.transpose(1, 2), is_causal=True, enable_gqa=self.num_kv_heads != self.num_heads
        ).transpose(1, 2)
        if self.use_xsa:
            y = xsa(y, v)
        if self.attn_gate_w is not None:
            g = torch.sigmoid(self.sparse_gate_scale * F.linear(x[..., : self.gate_window], self.attn_gate_w.to(x.dtype)))
            y = y * g[..., None]
        return self.proj(y.reshape(b, t, d))


class MLP(nn.Module):
    def __init__(self, dim: int, hidden: int, activation: str) -> None:
        super().__init__()
        if activation not in ("relu2", "leaky_relu2"):
            raise ValueError(f"unknown activation {activation!r}")
        self.activation = activation
        self.fc = CastedLinear(dim, hidden)
        self.proj = CastedLinear(hidden, dim, zero_init=True)

    def forward(self, x: Tensor) -> Tensor:
        u = self.fc(x)
        a = torch.relu(u) if self.activation == "relu2" else F.leaky_relu(u, negative_slope=0.5)
        return self.proj(a.square())


class Block(nn.Module):
    """Pre-norm block with x0 mixing (`resid_mix`) and learned per-channel branch scales."""

    def __init__(self, dim: int, attn: CausalSelfAttention, mlp: MLP, ln_scale: float, resid_mix: bool) -> None:
        super().__init__()
        self.attn_norm = RMSNorm()
        self.mlp_norm = RMSNorm()
        self.attn = attn
        self.mlp = mlp
        self.attn_scale = nn.Parameter(torch.ones(dim))
        self.mlp_scale = nn.Parameter(torch.ones(dim))
        self.resid_mix = nn.Parameter(torch.stack((torch.ones(dim), torch.zeros(dim)))) if resid_mix else None
        self.ln_scale = ln_scale  # 1/sqrt(l+1) with LN depth scaling (PR #315), else 1

    def mix(self, x: Tensor, x0: Tensor) -> Tensor:
        if self.resid_mix is None:
            return x
        m = self.resid_mix.to(x.dtype)
        return m[0] * x + m[1] * x0

    def attn_branch(self, x: Tensor) -> Tensor:
        return self.attn_scale.to(x.dtype) * self.attn(self.attn_norm(x) * self.ln_scale)

    def mlp_branch(self, x: Tensor) -> Tensor:
        return self.mlp_scale.to(x.dtype) * self.mlp(self.mlp_norm(x) * self.ln_scale)

    def forward(self, x: Tensor, x0: Tensor) -> Tensor:
        x = self.mix(x, x0)
        x = x + self.attn_branch(x)
        return x + self.mlp_branch(x)


class SmearGate(nn.Module):
    """SmearGate v2 (PR #1667, BOS fix PR #1851): x_t += λ·σ(w·x_t[:W])·x_{t−1}, not where id_t is BOS.

    λ = 0 and w = 0 at init, so the module is the identity at step 0.
    """

    def __init__(self, window: int, bos_id: int = BOS_ID) -> None:
        super().__init__()
        self.window, self.bos_id = window, bos_id
        self.smear_gate = CastedLinear(window, 1, zero_init=True)
        self.smear_lambda = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor, input_ids: Tensor) -> Tensor:
        g = self.smear_lambda.to(x.dtype) * torch.sigmoid(self.smear_gate(x[:, 1:, : self.window]))
        not_bos = (input_ids[:, 1:] != self.bos_id).to(x.dtype).unsqueeze(-1)
        return torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1] * not_bos], dim=1)


class BigramHash(nn.Module):
    """Hashed (prev, cur) bigram embedding (PR #162 form), added to the token embedding.

    Bucket of position i ≥ 1 is (36313·t_i XOR 27191·t_{i−1}) mod (B−1); position 0 uses bucket B−1.
    Table and projection start at zero, so the module is the identity at init.
    """

    def __init__(self, buckets: int, dim: int, model_dim: int) -> None:
        super().__init__()
        self.buckets = buckets
        self.table = nn.Embedding(buckets, dim)
        nn.init.zeros_(self.table.weight)
        self.proj = CastedLinear(dim, model_dim, zero_init=True)
        self.scale = nn.Parameter(torch.tensor(0.05))

    def bucket_ids(self, ids: Tensor) -> Tensor:
        h = torch.bitwise_xor(36313 * ids[:, 1:], 27191 * ids[:, :-1]) % (self.buckets - 1)
        first = torch.full_like(ids[:, :1], self.buckets - 1)
        return torch.cat([first, h], dim=1)

    def forward(self, ids: Tensor) -> Tensor:
        return self.scale * self.proj(self.table(self.bucket_ids(ids)))


def ln_scale_factor(layer_idx: int, enabled: bool) -> float:
    return 1.0 / math.sqrt(layer_idx + 1) if enabled else 1.0
