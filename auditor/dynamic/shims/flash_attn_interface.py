"""CPU stand-in for FlashAttention 3's ``flash_attn_interface`` with the same call shapes, over SDPA.

``q``: ``[B, T, H, D]``; ``k``/``v``: ``[B, T, Hkv, D]`` (GQA when ``Hkv < H``); varlen inputs are packed
``[total, H, D]`` with ``cu_seqlens`` boundaries, and attention never crosses a boundary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _mask(tq: int, tk: int, causal: bool, window: tuple[int, int], device) -> torch.Tensor | None:
    left, right = window
    if not causal and left < 0 and right < 0:
        return None
    i = torch.arange(tq, device=device)[:, None] + (tk - tq)
    j = torch.arange(tk, device=device)[None, :]
    ok = torch.ones(tq, tk, dtype=torch.bool, device=device)
    if causal:
        ok &= j <= i
    if left >= 0:
        ok &= j >= i - left
    if right >= 0:
        ok &= j <= i + right
    return ok


def _attend(q, k, v, causal, softmax_scale, window):
    # [B, T, H, D] -> [B, H, T, D]
    qt, kt, vt = (t.transpose(1, 2) for t in (q, k, v))
    if kt.shape[1] != qt.shape[1]:
        rep = qt.shape[1] // kt.shape[1]
        kt, vt = kt.repeat_interleave(rep, dim=1), vt.repeat_interleave(rep, dim=1)
    mask = _mask(qt.shape[2], kt.shape[2], causal, window, q.device)
    out = F.scaled_dot_product_attention(qt, kt.to(qt.dtype), vt.to(qt.dtype), attn_mask=mask, scale=softmax_scale)
    return out.transpose(1, 2)


def flash_attn_func(q, k, v, softmax_scale=None, causal=False, window_size=(-1, -1), *args, return_attn_probs=False, **kwargs):
    out = _attend(q, k, v, causal, softmax_scale, tuple(window_size))
    return (out, None) if return_attn_probs else out


def flash_attn_varlen_func(
    q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q=None, max_seqlen_k=None, softmax_scale=None, causal=False,
    window_size=(-1, -1), *args, return_attn_probs=False, **kwargs,
):
    out = torch.zeros_like(q)
    cq, ck = cu_seqlens_q.tolist(), cu_seqlens_k.tolist()
    for i in range(len(cq) - 1):
        a, b, c, d = cq[i], cq[i + 1], ck[i], ck[i + 1]
        if b <= a:
            continue  # padding entries repeat the total length
        out[a:b] = _attend(q[None, a:b], k[None, c:d], v[None, c:d], causal, softmax_scale, tuple(window_size))[0]
    return (out, None) if return_attn_probs else out


def flash_attn_qkvpacked_func(qkv, softmax_scale=None, causal=False, *args, **kwargs):
    return flash_attn_func(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2], softmax_scale=softmax_scale, causal=causal, **kwargs)
