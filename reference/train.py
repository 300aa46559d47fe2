"""The reference trainer: the baseline's step structure (REFERENCE-STACK §3.5–§3.6, §4) for any preset.

Single process on CPU, or one process per GPU under `torchrun` (DDP over NCCL on CUDA, gloo on CPU). Logs use
the baseline's exact line formats; the output directory is laid out like a record folder.
"""

from __future__ import annotations

import copy
import io
import json
import os
import platform
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from reference.data import DatasetPaths, DistributedTokenLoader, load_validation_tokens, resolve_dataset, shard_files
from reference.bpb import bits_per_byte
from reference.evaluate import eval_standard
from reference.export import (
    INT8_FORMAT,
    MIXED_FORMAT,
    ArtifactSize,
    code_bytes,
    collect_hessians,
    dequantize_state_dict,
    load_artifact,
    payload_bytes_from_shapes,
    quantize_state_dict_int8,
    quantize_state_dict_mixed,
    serialize_artifact,
)
from reference.model import GPT, ModelConfig, cast_for_training, count_params
from reference.optim import EMA, Muon, build_optimizers, lr_mul_baseline, lr_mul_fraction, muon_momentum_at
from reference.presets import Preset, TrainConfig
from reference.tokenizer import build_sentencepiece_luts, load_tokenizer


class RunLog:
    """`log0` of the baseline: rank 0 prints and appends to the log file."""

    def __init__(self, path: Path | None, master: bool, echo: bool = True) -> None:
        self.path, self.master, self.echo = path, master, echo

    def __call__(self, msg: str, console: bool = True) -> None:
        if not self.master:
            return
        if console and self.echo:
            print(msg, flush=True)
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                print(msg, file=f)


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def master(self) -> bool:
        return self.rank == 0


def grad_accum_steps(tc: TrainConfig, world_size: int) -> int:
    """The baseline's `8 // world_size` (fixed global batch) unless the preset sets it."""
    if tc.grad_accum_steps:
        return tc.grad_accum_steps
    if 8 % world_size:
        raise ValueError(f"WORLD_SIZE={world_size} must divide 8 so grad_accum_steps stays integral")
    return 8 // world_size


def val_batch_seqs(tc: TrainConfig, world_size: int) -> int:
    """Sequences per eval forward on one rank: the baseline's `VAL_BATCH_SIZE // (world·grad_accum·T)`."""
    return max(tc.val_batch_size // (world_size * grad_accum_steps(tc, world_size) * tc.train_seq_len), 1)


def init_distributed() -> Dist:
    """From torchrun's environment; CUDA (NCCL) when available, else CPU (gloo)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local, device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


@dataclass(frozen=True)
class RunResult:
    seed: int
    steps: int
    train_time_ms: float
    val_loss: float  # the score: round-trip (dequantized artifact) evaluation
    val_bpb: float
    pre_quant_val_loss: float
    pre_quant_val_bpb: float
    model_params: int
    artifact_path: Path
    size: ArtifactSize
    log_path: Path


def _sync(d: Dist) -> None:
    if d.device.type == "cuda":
        torch.cuda.synchronize()


def _all_max(flag: bool, d: Dist) -> bool:
    if not d.enabled:
        return flag
    t = torch.tensor(int(flag), device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def train(
    preset: Preset,
    out_dir: Path,
    *,
    preset_name: str = "custom",
    dataset: DatasetPaths | None = None,
    compile_model: bool | None = None,
    echo: bool = True,
) -> RunResult:
    """Train, export, round-trip evaluate; write `train_seed{S}.log`, the artifact, `config.json`,
    `submission.json` and `README.md` into `out_dir`. Returns the round-trip score and sizes."""
    d = init_distributed()
    tc = preset.train
    grad_accum = grad_accum_steps(tc, d.world_size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / f"train_seed{tc.seed}.log"
    if d.master and log_path.exists():
        log_path.unlink()
    log0 = RunLog(log_path, d.master, echo)
    cuda = d.device.type == "cuda"
    compile_model = cuda if compile_model is None else compile_model
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else nullcontext

    log0(f"Running Python {sys.version}", console=False)
    log0(f"Running PyTorch {torch.__version__}", console=False)
    log0("=" * 100, console=False)

    seed_everything(tc.seed)
    ds = dataset or resolve_dataset()
    sp = load_tokenizer(ds.tokenizer_path)
    mc = preset.model
    if int(sp.vocab_size()) != mc.vocab_size:
        raise ValueError(f"VOCAB_SIZE={mc.vocab_size} does not match tokenizer vocab_size={int(sp.vocab_size())}")
    val_tokens = load_validation_tokens(ds.val_pattern, tc.train_seq_len).long().to(d.device)
    luts = build_sentencepiece_luts(sp, mc.vocab_size).to(d.device)
    log0(f"val_bpb:enabled tokenizer_kind=sentencepiece tokenizer_path={ds.tokenizer_path}")
    log0(f"train_loader:dataset:{Path(ds.data_path).resolve().name} train_shards:{len(shard_files(ds.train_pattern))}")
    log0(f"val_loader:shards pattern={ds.val_pattern} tokens:{val_tokens.numel() - 1}")

    base_model = GPT(mc).to(d.device)
    if cuda:
        cast_for_training(base_model)
    compiled = torch.compile(base_model, dynamic=False, fullgraph=True) if compile_model else base_model
    model: nn.Module = DDP(compiled, device_ids=[d.local_rank] if cuda else None, broadcast_buffers=False) if d.enabled else compiled
    optimizers = build_optimizers(base_model, tc.optim)
    muon = next(o for o in optimizers if isinstance(o, Muon))

    n_params = sum(p.numel() for p in base_model.parameters())
    oc = tc.optim
    token_lr = oc.tied_embed_lr if mc.tie_embeddings else oc.embed_lr
    log0(f"model_params:{n_params}")
    log0(f"world_size:{d.world_size} grad_accum_steps:{grad_accum}")
    log0(f"attention_mode:gqa num_heads:{mc.num_heads} num_kv_heads:{mc.num_kv_heads}")
    log0(
        f"tie_embeddings:{mc.tie_embeddings} embed_lr:{token_lr} "
        f"head_lr:{oc.head_lr if base_model.lm_head is not None else 0.0} "
        f"matrix_lr:{oc.matrix_lr} scalar_lr:{oc.scalar_lr}"
    )
    log0(
        f"train_batch_tokens:{tc.train_batch_tokens} train_seq_len:{tc.train_seq_len} "
        f"iterations:{tc.iterations} warmup_steps:{tc.warmup_steps} "
        f"max_wallclock_seconds:{tc.max_wallclock_seconds:.3f}"
    )
    log0(f"seed:{tc.seed}")

    def new_loader() -> DistributedTokenLoader:
        return DistributedTokenLoader(ds.train_pattern, d.rank, d.world_size, d.device)

    def zero_grad_all() -> None:
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)

    def run_step(loader: DistributedTokenLoader) -> torch.Tensor:
        train_loss = torch.zeros((), device=d.device)
        for micro in range(grad_accum):
            if d.enabled:
                model.require_backward_grad_sync = micro == grad_accum - 1
            x, y = loader.next_batch(tc.train_batch_tokens, tc.train_seq_len, grad_accum)
            with autocast():
                loss = model(x, y)
            train_loss += loss.detach()
            (loss / grad_accum).backward()
        return train_loss / grad_accum

    def step_optimizers() -> None:
        if tc.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(base_model.parameters(), tc.grad_clip_norm)
        for opt in optimizers:
            opt.step()
        zero_grad_all()

    batch_seqs = val_batch_seqs(tc, d.world_size)

    def evaluate() -> tuple[float, float]:
        """The baseline `eval_val`: this rank's share, then (loss, tokens, bytes) summed over ranks."""
        with autocast():
            r = eval_standard(base_model, val_tokens, tc.train_seq_len, luts, batch_seqs=batch_seqs, rank=d.rank, world_size=d.world_size)
        sums = torch.tensor([r.loss_sum, r.tokens, r.total_bytes], dtype=torch.float64, device=d.device)
        if d.enabled:
            dist.all_reduce(sums)
        loss_sum, tokens, nbytes = sums.tolist()
        return loss_sum / tokens, bits_per_byte(loss_sum, int(nbytes))

    train_loader = new_loader()
    # Compile warm-up (§3.6): real steps on the unlooped and (if any) looped graph, then restore the initial
    # weights and optimizer states and rewind the loader, so none of it counts.
    if tc.warmup_steps > 0:
        initial_model = {k: v.detach().cpu().clone() for k, v in base_model.state_dict().items()}
        initial_opt = [copy.deepcopy(o.state_dict()) for o in optimizers]
        model.train()
        phases = [False, True] if mc.num_loops else [False]
        for looping in phases:
            base_model.looping_active = looping
            for ws in range(tc.warmup_steps):
                zero_grad_all()
                run_step(train_loader)
                step_optimizers()
                if tc.warmup_steps <= 20 or (ws + 1) % 10 == 0 or ws + 1 == tc.warmup_steps:
                    log0(f"warmup_step:{ws + 1}/{tc.warmup_steps}")
        base_model.looping_active = False
        base_model.load_state_dict(initial_model, strict=True)
        for o, s in zip(optimizers, initial_opt, strict=True):
            o.load_state_dict(s)
        zero_grad_all()
        if d.enabled:
            model.require_backward_grad_sync = True
        train_loader = new_loader()

    ema = EMA(base_model, tc.ema_decay) if tc.ema_decay > 0 else None
    cap_ms = 1000.0 * tc.max_wallclock_seconds if tc.max_wallclock_seconds > 0 else None
    if cap_ms is not None and tc.gptq_reserve_seconds > 0:
        cap_ms -= 1000.0 * tc.gptq_reserve_seconds
        log0(f"gptq:reserving {tc.gptq_reserve_seconds:.0f}s, effective={cap_ms:.0f}ms")

    def frac_of_training(step: int, elapsed_ms: float) -> float:
        return elapsed_ms / cap_ms if cap_ms is not None else step / max(tc.iterations, 1)

    def lr_scale(step: int, elapsed_ms: float) -> float:
        if tc.warmdown_frac > 0:
            return lr_mul_fraction(frac_of_training(step, elapsed_ms), tc.warmdown_frac, tc.min_lr)
        return lr_mul_baseline(step, elapsed_ms, tc.iterations, tc.warmdown_iters, cap_ms)

    training_time_ms = 0.0
    stop_after_step: int | None = None
    val_loss = val_bpb = float("nan")
    _sync(d)
    t0 = time.perf_counter()
    step = 0
    while True:
        last_step = step == tc.iterations or (stop_after_step is not None and step >= stop_after_step)
        if last_step or (tc.val_loss_every > 0 and step % tc.val_loss_every == 0):
            _sync(d)
            training_time_ms += 1000.0 * (time.perf_counter() - t0)
            val_loss, val_bpb = evaluate()
            log0(
                f"step:{step}/{tc.iterations} val_loss:{val_loss:.4f} val_bpb:{val_bpb:.4f} "
                f"train_time:{training_time_ms:.0f}ms step_avg:{training_time_ms / max(step, 1):.2f}ms"
            )
            _sync(d)
            t0 = time.perf_counter()
        if last_step:
            if stop_after_step is not None and step < tc.iterations:
                log0(f"stopping_early: wallclock_cap train_time:{training_time_ms:.0f}ms step:{step}/{tc.iterations}")
            break

        elapsed_ms = training_time_ms + 1000.0 * (time.perf_counter() - t0)
        if mc.num_loops and not base_model.looping_active and frac_of_training(step, elapsed_ms) >= tc.enable_looping_at:
            base_model.looping_active = True
            log0(f"layer_loop:enabled step:{step} frac:{frac_of_training(step, elapsed_ms):.3f}")
        scale = lr_scale(step, elapsed_ms)
        zero_grad_all()
        train_loss = run_step(train_loader)
        momentum = muon_momentum_at(step, oc.muon_momentum_warmup_start, oc.muon_momentum, oc.muon_momentum_warmup_steps)
        for group in muon.param_groups:
            group["momentum"] = momentum
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * scale
        step_optimizers()
        if ema is not None:
            ema.update(base_model)

        step += 1
        approx_ms = training_time_ms + 1000.0 * (time.perf_counter() - t0)
        if tc.train_log_every > 0 and (step <= 10 or step % tc.train_log_every == 0 or stop_after_step is not None):
            log0(
                f"step:{step}/{tc.iterations} train_loss:{train_loss.item():.4f} "
                f"train_time:{approx_ms:.0f}ms step_avg:{approx_ms / step:.2f}ms"
            )
        reached_cap = _all_max(cap_ms is not None and approx_ms >= cap_ms, d)
        if stop_after_step is None and reached_cap:
            stop_after_step = step

    if cuda:
        log0(
            f"peak memory allocated: {torch.cuda.max_memory_allocated() // 1024 // 1024} MiB "
            f"reserved: {torch.cuda.max_memory_reserved() // 1024 // 1024} MiB"
        )

    # Hessians read training data, so they are collected inside the (reserved) training budget, before EMA.
    hessians = None
    if tc.quant == "mixed" and tc.gptq:
        _sync(d)
        t_h = time.perf_counter()
        batches = [
            train_loader.next_batch(tc.train_batch_tokens, tc.train_seq_len, grad_accum)[0]
            for _ in range(tc.gptq_calibration_batches)
        ]
        with autocast():
            hessians = collect_hessians(base_model, batches)
        _sync(d)
        log0(f"gptq:collected {len(hessians)} hessians from {len(batches)} training batches in {1000.0 * (time.perf_counter() - t_h):.0f}ms")

    pre_loss, pre_bpb = val_loss, val_bpb
    if ema is not None:
        base_model.load_state_dict(ema.state_dict_like(base_model), strict=True)
        pre_loss, pre_bpb = evaluate()
        log0(f"ema:applied decay:{tc.ema_decay} val_loss:{pre_loss:.4f} val_bpb:{pre_bpb:.4f}")

    # Serialization + round trip (§4.2): rank 0 writes the artifact, every rank reads it back and re-evaluates.
    label = tc.export_label
    tag = label.replace("+", "_")
    artifact_path = out_dir / f"final_model_seed{tc.seed}.{tag}.ptz"
    n_code = code_bytes()
    state = base_model.state_dict()
    if tc.quant == "int8":
        quant_obj, stats = quantize_state_dict_int8(state)
        payload, baseline_bytes = stats["int8_payload_bytes"], stats["baseline_tensor_bytes"]
    else:
        quant_obj, stats = quantize_state_dict_mixed(state, tc.quant_spec, hessians)
        payload = stats["payload_bytes"]
        baseline_bytes = sum(t.numel() * t.element_size() for t in state.values())
    blob, raw_bytes = serialize_artifact(quant_obj, tc.compressor, shuffle=tc.byte_shuffle)
    if d.master:
        raw_buf = io.BytesIO()
        torch.save(state, raw_buf)
        log0(f"Serialized model: {len(raw_buf.getvalue())} bytes")
        log0(f"Code size: {n_code} bytes")
        log0(f"Total submission size: {len(raw_buf.getvalue()) + n_code} bytes")
        artifact_path.write_bytes(blob)
        log0(
            f"Serialized model {label}: {artifact_path.stat().st_size} bytes "
            f"(payload:{payload} raw_torch:{raw_bytes} payload_ratio:{baseline_bytes / max(payload, 1):.2f}x)"
        )
        log0(f"Total submission size {label}: {artifact_path.stat().st_size + n_code} bytes")
        write_config(out_dir, preset_name, preset)
    if d.enabled:
        dist.barrier()
    size = ArtifactSize(artifact_path.stat().st_size, n_code)
    base_model.load_state_dict(dequantize_state_dict(load_artifact(artifact_path.read_bytes(), tc.compressor)), strict=True)
    _sync(d)
    t_q = time.perf_counter()
    q_loss, q_bpb = evaluate()
    _sync(d)
    log0(f"final_{tag}_roundtrip val_loss:{q_loss:.4f} val_bpb:{q_bpb:.4f} eval_time:{1000.0 * (time.perf_counter() - t_q):.0f}ms")
    log0(f"final_{tag}_roundtrip_exact val_loss:{q_loss:.8f} val_bpb:{q_bpb:.8f}")

    result = RunResult(tc.seed, step, training_time_ms, q_loss, q_bpb, pre_loss, pre_bpb, n_params, artifact_path, size, log_path)
    if d.master:
        write_submission(out_dir, preset_name, result, d)
    if d.enabled:
        dist.barrier()
    return result


def write_config(out_dir: Path, preset_name: str, preset: Preset) -> None:
    """What `pgolf-eval` needs to rebuild the model from an artifact in this folder."""
    cfg = {"preset": preset_name, "model": preset.model.to_dict(), "train": preset.train.to_dict()}
    (out_dir / "config.json").write_text(json.dumps(cfg, indent=1) + "\n", encoding="utf-8")


def read_config(path: Path) -> Preset:
    cfg = json.loads(Path(path).read_text(encoding="utf-8"))
    return Preset(ModelConfig.from_dict(cfg["model"]), TrainConfig.from_dict(cfg["train"]))


def _hardware(d: Dist) -> str:
    if d.device.type == "cuda":
        return f"{d.world_size}x{torch.cuda.get_device_name(d.device)}"
    return f"{d.world_size}xCPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def write_submission(out_dir: Path, preset_name: str, r: RunResult, d: Dist) -> None:
    """`submission.json` in the records' schema, merging seeds already present in the folder; and README.md."""
    path = out_dir / "submission.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    seed_results = old.get("seed_results", {})
    seed_results[str(r.seed)] = {
        "val_loss": round(r.val_loss, 8),
        "val_bpb": round(r.val_bpb, 8),
        "artifact_bytes": r.size.total,
        "steps": r.steps,
        "step_avg_ms": round(r.train_time_ms / max(r.steps, 1), 2),
    }
    seeds = [int(s) for s in seed_results]
    losses = [v["val_loss"] for v in seed_results.values()]
    bpbs = [v["val_bpb"] for v in seed_results.values()]
    sizes = [v["artifact_bytes"] for v in seed_results.values()]
    sub = {
        "author": "pgolf-audit reference",
        "github_id": "pgolf-audit",
        "name": f"Reference {preset_name}",
        "blurb": f"pgolf-audit reference trainer, preset {preset_name!r}; score is the final round-trip metric.",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "track": "10min_16mb",
        "val_loss": round(float(np.mean(losses)), 8),
        "val_bpb": round(float(np.mean(bpbs)), 8),
        "seeds": seeds,
        "seed_results": seed_results,
        "artifact_bytes_max": max(sizes),
        "bytes_total": max(sizes),
        "bytes_code": r.size.code_bytes,
        "hardware": _hardware(d),
        "pytorch_version": torch.__version__,
    }
    if len(seeds) > 1:
        sub["val_loss_std"] = round(float(np.std(losses, ddof=1)), 8)
        sub["val_bpb_std"] = round(float(np.std(bpbs, ddof=1)), 8)
    path.write_text(json.dumps(sub, indent=2) + "\n", encoding="utf-8")
    rows = "\n".join(f"| {s} | {v['val_bpb']:.8f} | {v['artifact_bytes']:,} | {v['steps']} |" for s, v in seed_results.items())
    (out_dir / "README.md").write_text(
        f"# Reference run: preset `{preset_name}`\n\n"
        "Produced by `pgolf-train` (pgolf-audit `reference/`). The score is the round-trip evaluation of the "
        "dequantized artifact; size = compressed model + the `reference` package's source bytes, against "
        "16,000,000 bytes.\n\n| seed | val_bpb | artifact bytes | steps |\n|---|---|---|---|\n"
        f"{rows}\n\nMean val_bpb: {sub['val_bpb']:.8f}. Logs: `train_seed*.log`; model config: `config.json`.\n",
        encoding="utf-8",
    )


def dry_run(preset: Preset, log=print) -> tuple[int, int]:
    """Build the model on the meta device; log `model_params:N` and the uncompressed artifact estimate."""
    n = count_params(preset.model)
    with torch.device("meta"):
        model = GPT(preset.model)
    fmt = INT8_FORMAT if preset.train.quant == "int8" else MIXED_FORMAT
    payload = payload_bytes_from_shapes(model, fmt, preset.train.quant_spec)
    n_code = code_bytes()
    log(f"model_params:{n}")
    log(
        f"artifact_estimate {preset.train.export_label}: payload:{payload} code:{n_code} "
        f"total_before_compression:{payload + n_code} cap:{ArtifactSize(0, 0).cap}"
    )
    return n, payload + n_code

