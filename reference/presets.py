"""Named run configurations: a model architecture plus its training/export recipe."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from reference.export import MixedQuantSpec
from reference.model import MODEL_PRESETS, ModelConfig
from reference.optim import OptimConfig


@dataclass(frozen=True)
class TrainConfig:
    """Training, schedule and export knobs; defaults are the naive baseline's (§3.1, §4)."""

    iterations: int = 20_000
    warmdown_iters: int = 1_200
    warmdown_frac: float = 0.0  # > 0: fraction-of-wallclock warm-down (PR #1218+) instead of warmdown_iters
    min_lr: float = 0.0
    warmup_steps: int = 20  # compile warm-up, discarded (§3.6)
    train_batch_tokens: int = 524_288
    train_seq_len: int = 1_024
    max_wallclock_seconds: float = 600.0  # 0 disables the cap
    val_batch_size: int = 524_288
    val_loss_every: int = 1_000
    train_log_every: int = 200
    seed: int = 1337
    grad_clip_norm: float = 0.0
    grad_accum_steps: int = 0  # 0 = 8 // world_size, the baseline's fixed global batch
    ema_decay: float = 0.0  # 0 = off
    enable_looping_at: float = 0.0  # training fraction at which depth recurrence switches on
    quant: str = "int8"  # "int8" (baseline format) or "mixed" (int6/int7 SDClip)
    gptq: bool = False  # mixed only: GPTQ against Hessians of training batches
    gptq_calibration_batches: int = 16
    gptq_reserve_seconds: float = 0.0  # stop training this early to collect Hessians inside the cap
    compressor: str = "zlib"
    byte_shuffle: bool = False
    optim: OptimConfig = field(default_factory=OptimConfig)
    quant_spec: MixedQuantSpec = field(default_factory=MixedQuantSpec)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw["optim"] = OptimConfig(**d.get("optim", {}))
        kw["quant_spec"] = MixedQuantSpec(**d.get("quant_spec", {}))
        return cls(**kw)

    @property
    def export_label(self) -> str:
        """The baseline's `int8+zlib`; `int6+brotli` etc. for the mixed scheme."""
        bits = "int8" if self.quant == "int8" else f"int{self.quant_spec.matrix_bits}"
        return f"{bits}+{self.compressor}"


@dataclass(frozen=True)
class Preset:
    model: ModelConfig
    train: TrainConfig


# Final stack recipe (§5.8) without TTT, per-group lrzip, LQER and document packing.
_RECORD_TRAIN = TrainConfig(
    warmdown_frac=0.85,
    min_lr=0.1,
    train_batch_tokens=786_432,
    train_seq_len=2_048,
    val_loss_every=4_000,
    train_log_every=500,
    grad_clip_norm=0.3,
    ema_decay=0.9965,
    enable_looping_at=0.35,
    quant="mixed",
    gptq=True,
    gptq_reserve_seconds=0.5,
    compressor="brotli",
    byte_shuffle=True,
    optim=OptimConfig(
        tied_embed_lr=0.03,
        matrix_lr=0.026,
        scalar_lr=0.02,
        muon_momentum=0.97,
        muon_momentum_warmup_start=0.92,
        muon_momentum_warmup_steps=1_500,
        muon_polar_express=True,
        muon_row_normalize=True,
        muon_wd=0.095,
        embed_wd=0.085,
        adam_wd=0.02,
        beta2=0.99,
    ),
)

# CPU scale (§7.1): T=128, 8 sequences per step, one micro-step, a short step-count schedule.
_TINY_TRAIN = TrainConfig(
    iterations=150,
    warmdown_iters=60,
    warmup_steps=2,
    train_batch_tokens=8 * 128,
    train_seq_len=128,
    max_wallclock_seconds=0.0,
    val_batch_size=16 * 128,
    val_loss_every=0,
    train_log_every=25,
    grad_accum_steps=1,
    optim=OptimConfig(muon_momentum_warmup_steps=50),
)

_TINY_RECORD_TRAIN = replace(
    _RECORD_TRAIN,
    iterations=150,
    warmdown_frac=0.4,
    warmup_steps=2,
    train_batch_tokens=8 * 128,
    train_seq_len=128,
    max_wallclock_seconds=0.0,
    val_batch_size=16 * 128,
    val_loss_every=0,
    train_log_every=25,
    grad_accum_steps=1,
    ema_decay=0.9,
    gptq_calibration_batches=4,
    gptq_reserve_seconds=0.0,
    optim=replace(_RECORD_TRAIN.optim, muon_momentum_warmup_steps=50),
)

PRESETS: dict[str, Preset] = {
    "baseline": Preset(MODEL_PRESETS["baseline"], TrainConfig()),
    "record": Preset(MODEL_PRESETS["record"], _RECORD_TRAIN),
    "tiny": Preset(MODEL_PRESETS["tiny"], _TINY_TRAIN),
    "tiny-record": Preset(MODEL_PRESETS["tiny-record"], _TINY_RECORD_TRAIN),
}
