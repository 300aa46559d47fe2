"""Muon, the baseline's Adam parameter split, LR/momentum schedules and EMA (REFERENCE-STACK §3.4–§3.5, §5.4–§5.5)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn

from reference.model import GPT, is_control_tensor

NS5_COEFFS = (3.4445, -4.7750, 2.0315)
# Polar Express (PR #1344 → #1787): per-iteration minimax coefficients for 5 steps.
POLAR_EXPRESS_COEFFS = (
    (8.156554524902461, -22.48329292557795, 15.878769915207462),
    (4.042929935166739, -2.808917465908714, 0.5000178451051316),
    (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
    (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
    (2.3465413258596377, -1.7097828382687081, 0.42323551169305323),
)


def newton_schulz(
    g: Tensor, steps: int = 5, polar_express: bool = False, dtype: torch.dtype = torch.bfloat16, eps: float = 1e-7
) -> Tensor:
    """Approximate the orthogonal polar factor of a 2-D matrix (Muon's update direction).

    Frobenius-normalize, work on the wide orientation (rows ≤ cols) so `X Xᵀ` is the small Gram matrix, then
    iterate `X ← aX + (bA + cA²)X` with `A = X Xᵀ`. Returns `dtype` (bf16 as in the baseline).
    """
    x = g.to(dtype)
    x = x / (x.norm() + eps)
    transposed = g.size(0) > g.size(1)
    if transposed:
        x = x.T
    coeffs = POLAR_EXPRESS_COEFFS[:steps] if polar_express else (NS5_COEFFS,) * steps
    for a, b, c in coeffs:
        A = x @ x.T
        x = a * x + (b * A + c * A @ A) @ x
    return x.T if transposed else x


def muon_shape_factor(rows: int, cols: int) -> float:
    return max(1.0, rows / cols) ** 0.5


class Muon(torch.optim.Optimizer):
    """Momentum + Nesterov + Newton–Schulz orthogonalization for 2-D weights.

    Options beyond the baseline: decoupled weight decay `W ← W(1 − lr·wd)` before the update (§5.4), MuonEq-R row
    normalization before NS, Polar Express coefficients. Distributed like the baseline: parameter i is
    orthogonalized by rank `i % world_size`, updates are summed into a flat bf16 buffer and all-reduced, and
    every rank applies all of them (gradients are already averaged by DDP).
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float,
        backend_steps: int = 5,
        nesterov: bool = True,
        weight_decay: float = 0.0,
        row_normalize: bool = False,
        polar_express: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            backend_steps=backend_steps,
            nesterov=nesterov,
            weight_decay=weight_decay,
            row_normalize=row_normalize,
            polar_express=polar_express,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        distributed = dist.is_available() and dist.is_initialized()
        world, rank = (dist.get_world_size(), dist.get_rank()) if distributed else (1, 0)
        for group in self.param_groups:
            params = group["params"]
            if not params:
                continue
            flat = torch.zeros(sum(p.numel() for p in params), device=params[0].device, dtype=torch.bfloat16)
            offset = 0
            for i, p in enumerate(params):
                if i % world == rank and p.grad is not None:
                    flat[offset : offset + p.numel()] = self._direction(p, group).reshape(-1)
                offset += p.numel()
            if distributed:
                dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            offset = 0
            lr, wd = group["lr"], group["weight_decay"]
            for p in params:
                update = flat[offset : offset + p.numel()].view_as(p).to(p.dtype)
                if wd > 0:
                    p.mul_(1.0 - lr * wd)
                p.add_(update, alpha=-lr)
                offset += p.numel()
        return loss

    def _direction(self, p: Tensor, group: dict) -> Tensor:
        g = p.grad
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(g)
        buf = state["momentum_buffer"]
        mu = group["momentum"]
        buf.mul_(mu).add_(g)
        u = g.add(buf, alpha=mu) if group["nesterov"] else buf
        if group["row_normalize"]:
            u = u / u.float().norm(dim=-1, keepdim=True).clamp_min(1e-7).to(u.dtype)
        u = newton_schulz(u, steps=group["backend_steps"], polar_express=group["polar_express"])
        return u * muon_shape_factor(p.size(0), p.size(1))


@dataclass(frozen=True)
class OptimConfig:
    """Learning rates and optimizer knobs; defaults are the baseline's (§3.1)."""

    embed_lr: float = 0.6  # untied embedding
    head_lr: float = 0.008  # untied head
    tied_embed_lr: float = 0.05
    matrix_lr: float = 0.04
    scalar_lr: float = 0.04
    muon_momentum: float = 0.95
    muon_momentum_warmup_start: float = 0.85
    muon_momentum_warmup_steps: int = 500
    muon_backend_steps: int = 5
    muon_polar_express: bool = False
    muon_row_normalize: bool = False
    muon_wd: float = 0.0
    embed_wd: float = 0.0
    adam_wd: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.95
    adam_eps: float = 1e-8


@dataclass
class ParamSplit:
    token: list[nn.Parameter]
    head: list[nn.Parameter]
    matrix: list[nn.Parameter]
    scalar: list[nn.Parameter]


def split_params(model: GPT) -> ParamSplit:
    """The baseline's grouping (§3.4), extended to the record's extra modules.

    token: tok_emb (+ BigramHash table); head: untied lm_head; matrix (Muon): 2-D weights inside the blocks that
    are not control tensors; scalar: everything else (block vectors, gates, skip and lane weights, smear/bigram
    projection and scales).
    """
    token, head, matrix, scalar = [], [], [], []
    for name, p in model.named_parameters():
        if name in ("tok_emb.weight", "bigram.table.weight"):
            token.append(p)
        elif name == "lm_head.weight":
            head.append(p)
        elif name.startswith("blocks.") and p.ndim == 2 and not is_control_tensor(name):
            matrix.append(p)
        else:
            scalar.append(p)
    return ParamSplit(token, head, matrix, scalar)


def build_optimizers(model: GPT, cfg: OptimConfig) -> list[torch.optim.Optimizer]:
    """[token Adam, (head Adam), Muon, scalar Adam]; each group carries `base_lr` for the schedule."""
    split = split_params(model)
    fused = next(model.parameters()).is_cuda
    adam_cls = torch.optim.AdamW if (cfg.embed_wd or cfg.adam_wd) else torch.optim.Adam

    def adam(params: list[nn.Parameter], lr: float, wd: float) -> torch.optim.Optimizer:
        kwargs = dict(betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps, fused=fused)
        if adam_cls is torch.optim.AdamW:
            kwargs["weight_decay"] = wd
        return adam_cls([{"params": params, "lr": lr, "base_lr": lr}], **kwargs)

    token_lr = cfg.tied_embed_lr if model.cfg.tie_embeddings else cfg.embed_lr
    opts = [adam(split.token, token_lr, cfg.embed_wd)]
    if split.head:
        opts.append(adam(split.head, cfg.head_lr, 0.0))
    muon = Muon(
        split.matrix,
        lr=cfg.matrix_lr,
        momentum=cfg.muon_momentum,
        backend_steps=cfg.muon_backend_steps,
        weight_decay=cfg.muon_wd,
        row_normalize=cfg.muon_row_normalize,
        polar_express=cfg.muon_polar_express,
    )
    for group in muon.param_groups:
        group["base_lr"] = cfg.matrix_lr
    opts.append(muon)
    opts.append(adam(split.scalar, cfg.scalar_lr, cfg.adam_wd))
    return opts


def muon_momentum_at(step: int, start: float, end: float, warmup_steps: int) -> float:
    """Linear momentum warm-up `(1−f)·start + f·end`, `f = min(step/warmup, 1)`."""
    f = min(step / warmup_steps, 1.0) if warmup_steps > 0 else 1.0
    return (1 - f) * start + f * end


def lr_mul_baseline(
    step: int, elapsed_ms: float, iterations: int, warmdown_iters: int, max_wallclock_ms: float | None
) -> float:
    """Baseline warm-down (§3.5): with a cap, linear to 0 over the estimated last `warmdown_iters` steps of
    wallclock; without one, over the last `warmdown_iters` of `iterations`."""
    if warmdown_iters <= 0:
        return 1.0
    if max_wallclock_ms is None:
        if max(iterations - warmdown_iters, 0) <= step < iterations:
            return max((iterations - step) / warmdown_iters, 0.0)
        return 1.0
    warmdown_ms = warmdown_iters * (elapsed_ms / max(step, 1))
    remaining_ms = max(max_wallclock_ms - elapsed_ms, 0.0)
    return remaining_ms / max(warmdown_ms, 1e-9) if remaining_ms <= warmdown_ms else 1.0


def lr_mul_fraction(frac: float, warmdown_frac: float, min_lr: float = 0.0) -> float:
    """Fraction-of-wallclock warm-down (PR #1218+): 1 until `1 − w`, then linear to 0, floored at `min_lr`."""
    if warmdown_frac <= 0 or frac < 1.0 - warmdown_frac:
        return 1.0
    return max((1.0 - frac) / warmdown_frac, min_lr)


class EMA:
    """fp32 shadow of every state-dict tensor, `θ̄ ← d·θ̄ + (1−d)·θ` after each optimizer step (PR #287)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().float().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for k, v in model.state_dict().items():
            self.shadow[k].mul_(self.decay).add_(v.detach().float(), alpha=1.0 - self.decay)

    def state_dict_like(self, model: nn.Module) -> dict[str, Tensor]:
        """The shadow cast back to each tensor's dtype (what gets loaded before export)."""
        return {k: self.shadow[k].to(v.dtype) for k, v in model.state_dict().items()}
