"""The challenge GPT: the naive baseline (REFERENCE-STACK §3.2–§3.3) plus the record techniques (§5.3) as options.

`GPT(ModelConfig())` is the baseline exactly (17,059,912 parameters); `MODEL_PRESETS["record"]` is the
architecture of the final accepted stack (§5.8, 35,945,671 parameters). Parameter names follow the baseline
state dict (`blocks.{i}.attn.c_q.weight`, …) so exported artifacts line up with the upstream format.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference.layers import (
    BOS_ID,
    MLP,
    BigramHash,
    Block,
    CastedLinear,
    CausalSelfAttention,
    RMSNorm,
    SmearGate,
    ln_scale_factor,
)

# Names of small "control" tensors: kept fp32 in training and in the baseline int8 export, optimized by the
# scalar Adam group. Extends the baseline list with the record's gates and lane weights.
CONTROL_TENSOR_NAME_PATTERNS = (
    "attn_scale",
    "mlp_scale",
    "resid_mix",
    "q_gain",
    "skip_weight",
    "skip_gates",
    "parallel_post_lambdas",
    "parallel_resid_lambdas",
    "attn_gate_w",
    "smear_gate",
    "smear_lambda",
)


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = 1024
    num_layers: int = 9
    model_dim: int = 512
    num_heads: int = 8
    num_kv_heads: int = 4
    mlp_mult: float = 2.0
    activation: str = "relu2"  # or "leaky_relu2" (PR #493)
    tie_embeddings: bool = True
    tied_embed_init_std: float = 0.005
    logit_softcap: float = 30.0
    rope_base: float = 10_000.0
    rope_dims: int = 0  # 0 = full head dim; 16 = partial RoPE (PR #315)
    qk_gain_init: float = 1.5
    resid_mix: bool = True
    ln_scale: bool = False  # norm outputs × 1/sqrt(l+1) (PR #315)
    xsa_last_n: int = 0  # XSA on the last n physical layers (PR #265/#478)
    sparse_attn_gate: bool = False  # PR #1787
    sparse_attn_gate_scale: float = 1.0
    gate_window: int = 12
    skip_gates: bool = False  # sigmoid-gated U-Net skips (PR #1089)
    smear_gate: bool = False  # SmearGate v2 with BOS mask (PR #1667/#1851)
    bos_id: int = BOS_ID
    bigram_buckets: int = 0  # BigramHash (PR #162); 0 = off
    bigram_dim: int = 128
    parallel_start_layer: int = 0  # two-lane parallel residuals from this physical layer; 0 = off
    loop_start: int = 0  # depth recurrence: layers loop_start..loop_end run num_loops+1 times
    loop_end: int = 0
    num_loops: int = 0
    ortho_init: bool = False  # orthogonal init of linears with both dims ≥ 64 (PR #162)

    @property
    def head_dim(self) -> int:
        return self.model_dim // self.num_heads

    @property
    def mlp_hidden(self) -> int:
        return int(self.mlp_mult * self.model_dim)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def loop_layer_indices(num_layers: int, loop_start: int, loop_end: int, num_loops: int) -> tuple[list[int], list[int]]:
    """Virtual layer order of a looped U-Net (PR #1394+): `[0..s−1] + [s..e]×(loops+1) + [e+1..L−1]`, halved."""
    order = list(range(loop_start)) + list(range(loop_start, loop_end + 1)) * (num_loops + 1)
    order += list(range(loop_end + 1, num_layers))
    half = len(order) // 2
    return order[:half], order[half:]


class GPT(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.logit_softcap <= 0:
            raise ValueError("logit_softcap must be positive")
        self.cfg = cfg
        L, d = cfg.num_layers, cfg.model_dim
        self.tok_emb = nn.Embedding(cfg.vocab_size, d)
        self.bigram = BigramHash(cfg.bigram_buckets, cfg.bigram_dim, d) if cfg.bigram_buckets else None
        self.smear = SmearGate(cfg.gate_window, cfg.bos_id) if cfg.smear_gate else None
        self.blocks = nn.ModuleList(
            Block(
                d,
                CausalSelfAttention(
                    d,
                    cfg.num_heads,
                    cfg.num_kv_heads,
                    cfg.rope_base,
                    cfg.rope_dims,
                    cfg.qk_gain_init,
                    use_xsa=i >= L - cfg.xsa_last_n,
                    sparse_gate=cfg.sparse_attn_gate,
                    gate_window=cfg.gate_window,
                    sparse_gate_scale=cfg.sparse_attn_gate_scale,
                ),
                MLP(d, cfg.mlp_hidden, cfg.activation),
                ln_scale_factor(i, cfg.ln_scale),
                cfg.resid_mix,
            )
            for i in range(L)
        )
        self.plain_order = (list(range(L // 2)), list(range(L // 2, L)))
        self.loop_order = (
            loop_layer_indices(L, cfg.loop_start, cfg.loop_end, cfg.num_loops) if cfg.num_loops else self.plain_order
        )
        # Recurrence is switched on by the trainer at a fraction of training (§5.3); off = plain U-Net.
        self.looping_active = False
        num_skip = min(len(self.loop_order[0]), len(self.loop_order[1]))
        self.skip_weights = nn.Parameter(torch.ones(num_skip, d))
        self.skip_gates = nn.Parameter(torch.zeros(num_skip, d)) if cfg.skip_gates else None
        if cfg.parallel_start_layer:
            # Allocated for every physical layer (only layers ≥ start use them) as in the record, whose
            # logged parameter count includes all of them.
            self.parallel_post_lambdas = nn.Parameter(torch.ones(L, 2, 2))
            self.parallel_resid_lambdas = nn.Parameter(torch.full((L, 2), 1.1))
        else:
            self.parallel_post_lambdas = self.parallel_resid_lambdas = None
        self.final_norm = RMSNorm()
        self.lm_head = None if cfg.tie_embeddings else CastedLinear(d, cfg.vocab_size, zero_init=True)
        self._init_weights()

    def _init_weights(self) -> None:
        cfg = self.cfg
        if cfg.tie_embeddings:
            nn.init.normal_(self.tok_emb.weight, mean=0.0, std=cfg.tied_embed_init_std)
        for module in self.modules():
            if not isinstance(module, CastedLinear):
                continue
            if module.zero_init:
                nn.init.zeros_(module.weight)
            elif cfg.ortho_init and min(module.weight.shape) >= 64:
                nn.init.orthogonal_(module.weight, gain=1.0)

    def layer_order(self) -> tuple[list[int], list[int]]:
        return self.loop_order if self.looping_active else self.plain_order

    def _apply_skip(self, j: int, x: Tensor, skip: Tensor) -> Tensor:
        scaled = self.skip_weights[j].to(x.dtype) * skip
        if self.skip_gates is None:
            return x + scaled
        return torch.lerp(scaled, x, torch.sigmoid(self.skip_gates[j].to(x.dtype)))

    def _parallel_block(self, i: int, lane0: Tensor, lane1: Tensor, x0: Tensor) -> tuple[Tensor, Tensor]:
        """Final-stack parallel residuals (§5.3 variant 4): attention reads lane0 (x0-mixed), MLP reads lane1."""
        block = self.blocks[i]
        a = block.attn_branch(block.mix(lane0, x0))
        m = block.mlp_branch(lane1)
        r = self.parallel_resid_lambdas[i].to(lane0.dtype)
        p = self.parallel_post_lambdas[i].to(lane0.dtype)
        return r[0] * lane0 + p[0, 0] * a + p[1, 0] * m, r[1] * lane1 + p[0, 1] * a + p[1, 1] * m

    def hidden(self, input_ids: Tensor) -> Tensor:
        """Final-norm output (B, T, d): the input of the LM head."""
        x = self.tok_emb(input_ids)
        if self.bigram is not None:
            x = x + self.bigram(input_ids).to(x.dtype)
        if self.smear is not None:
            x = self.smear(x, input_ids)
        x = F.rms_norm(x, (x.size(-1),))
        x0 = x
        encoder, decoder = self.layer_order()
        skips: list[Tensor] = []
        for i in encoder:
            x = self.blocks[i](x, x0)
            skips.append(x)
        start = self.cfg.parallel_start_layer
        lane1: Tensor | None = None
        for j, i in enumerate(decoder):
            parallel = start > 0 and i >= start
            if parallel and lane1 is None:
                lane1 = x  # x continues as lane0; skips enter lane0 only
            if j < self.skip_weights.size(0) and skips:
                x = self._apply_skip(j, x, skips.pop())
            if parallel:
                x, lane1 = self._parallel_block(i, x, lane1, x0)
            else:
                x = self.blocks[i](x, x0)
        if lane1 is not None:
            x = 0.5 * (x + lane1)
        return self.final_norm(x)

    def forward_logits(self, input_ids: Tensor) -> Tensor:
        """Softcapped logits (B, T, V) in float32: `c·tanh(z/c)` as in the baseline."""
        h = self.hidden(input_ids)
        z = F.linear(h, self.tok_emb.weight.to(h.dtype)) if self.lm_head is None else self.lm_head(h)
        c = self.cfg.logit_softcap
        return c * torch.tanh(z.float() / c)

    def forward(self, input_ids: Tensor, target_ids: Tensor) -> Tensor:
        """Mean token cross-entropy in fp32 (the baseline's `model(x, y)`)."""
        logits = self.forward_logits(input_ids)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), target_ids.reshape(-1))


def is_control_tensor(name: str) -> bool:
    return any(p in name for p in CONTROL_TENSOR_NAME_PATTERNS)


def cast_for_training(model: GPT) -> GPT:
    """Baseline precision recipe (§3.3): bf16 model, then linears, control and <2-D params back to fp32.

    The token embedding (and a BigramHash table) therefore stay bf16.
    """
    model.bfloat16()
    for module in model.modules():
        if isinstance(module, CastedLinear):
            module.float()
    for name, p in model.named_parameters():
        if p.ndim < 2 or is_control_tensor(name):
            p.data = p.data.float()
    return model


def count_params(cfg: ModelConfig) -> int:
    """Exact parameter count, built on the meta device (no memory)."""
    with torch.device("meta"):
        return sum(p.numel() for p in GPT(cfg).parameters())


BASELINE = ModelConfig()

RECORD = ModelConfig(
    vocab_size=8192,
    num_layers=11,
    mlp_mult=4.0,
    activation="leaky_relu2",
    rope_dims=16,
    qk_gain_init=5.0,
    ln_scale=True,
    xsa_last_n=11,
    sparse_attn_gate=True,
    sparse_attn_gate_scale=0.5,
    skip_gates=True,
    smear_gate=True,
    parallel_start_layer=8,
    loop_start=3,
    loop_end=5,
    num_loops=2,
    ortho_init=True,
)

TINY = ModelConfig(vocab_size=1024, num_layers=2, model_dim=64, num_heads=4, num_kv_heads=2)

# §7.1 `tiny-final`: every record code path at CPU size (partial RoPE 8/16, loop 1–2 ×3, lanes from layer 3).
TINY_RECORD = replace(
    RECORD,
    vocab_size=1024,
    num_layers=4,
    model_dim=64,
    num_heads=4,
    num_kv_heads=2,
    rope_dims=8,
    xsa_last_n=4,
    loop_start=1,
    loop_end=2,
    parallel_start_layer=3,
)

MODEL_PRESETS: dict[str, ModelConfig] = {
    "baseline": BASELINE,
    "record": RECORD,
    "tiny": TINY,
    "tiny-record": TINY_RECORD,
}
