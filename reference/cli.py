"""`pgolf-train` and `pgolf-eval`: the reference trainer and artifact evaluator on the command line."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from reference.bpb import bits_per_byte
from reference.data import load_validation_tokens, resolve_dataset
from reference.evaluate import eval_ngram_tilt, eval_score_first_ttt, eval_sliding, eval_standard
from reference.export import COMPRESSORS, dequantize_state_dict, load_artifact
from reference.model import GPT
from reference.presets import PRESETS
from reference.tokenizer import build_sentencepiece_luts, load_tokenizer
from reference.train import dry_run, read_config, train, val_batch_seqs

# CLI flag -> TrainConfig field; all optional, the preset's value otherwise.
_TRAIN_OVERRIDES = {
    "iterations": int,
    "max_wallclock_seconds": float,
    "seed": int,
    "warmup_steps": int,
    "warmdown_iters": int,
    "train_batch_tokens": int,
    "train_seq_len": int,
    "val_batch_size": int,
    "val_loss_every": int,
    "train_log_every": int,
    "grad_accum_steps": int,
    "ema_decay": float,
}


def _train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pgolf-train", description="Train a reference preset and export its artifact.")
    p.add_argument("--preset", required=True, choices=sorted(PRESETS))
    p.add_argument("--out", type=Path, help="output folder (record-folder layout); required unless --dry-run")
    p.add_argument("--dry-run", action="store_true", help="build the model, log model_params and the size estimate, exit")
    for name, typ in _TRAIN_OVERRIDES.items():
        p.add_argument("--" + name.replace("_", "-"), type=typ)
    p.add_argument("--compressor", choices=COMPRESSORS)
    p.add_argument("--vocab-size", type=int, help="override the preset's vocabulary (must match the tokenizer)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None, help="torch.compile (default: on CUDA)")
    p.add_argument("--quiet", action="store_true", help="log to the file only")
    return p


def train_main(argv: list[str] | None = None) -> int:
    args = _train_parser().parse_args(argv)
    preset = PRESETS[args.preset]
    overrides = {k: getattr(args, k) for k in _TRAIN_OVERRIDES if getattr(args, k) is not None}
    if args.compressor:
        overrides["compressor"] = args.compressor
    preset = replace(preset, train=replace(preset.train, **overrides))
    if args.vocab_size:
        preset = replace(preset, model=replace(preset.model, vocab_size=args.vocab_size))
    if args.dry_run:
        dry_run(preset)
        return 0
    if args.out is None:
        print("pgolf-train: --out is required unless --dry-run", file=sys.stderr)
        return 2
    r = train(preset, args.out, preset_name=args.preset, compile_model=args.compile, echo=not args.quiet)
    return 0 if r.size.fits else 1


def _eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pgolf-eval", description="Evaluate a saved artifact on the val split.")
    p.add_argument("--artifact", type=Path, required=True)
    p.add_argument("--config", type=Path, help="config.json written by pgolf-train (default: next to the artifact)")
    p.add_argument("--evaluator", choices=("standard", "sliding", "ttt", "tilt"), default="standard")
    p.add_argument("--seq-len", type=int, help="evaluation sequence length (default: the run's train_seq_len)")
    p.add_argument("--stride", type=int, default=64, help="sliding/ttt window stride")
    p.add_argument("--ttt-chunk-tokens", type=int, default=32_768)
    p.add_argument("--ttt-epochs", type=int, default=3)
    p.add_argument("--ttt-lr", type=float, default=0.002)
    p.add_argument("--tilt-order", type=int, default=3)
    p.add_argument("--tilt-beta", type=float, default=2.0)
    return p


def eval_main(argv: list[str] | None = None) -> int:
    args = _eval_parser().parse_args(argv)
    preset = read_config(args.config or args.artifact.parent / "config.json")
    model = GPT(preset.model)
    model.load_state_dict(dequantize_state_dict(load_artifact(args.artifact.read_bytes(), preset.train.compressor)), strict=True)
    # The stored artifact is the end of training, where depth recurrence (if any) is active.
    model.looping_active = preset.model.num_loops > 0
    ds = resolve_dataset()
    seq_len = args.seq_len or preset.train.train_seq_len
    val_tokens = load_validation_tokens(ds.val_pattern, seq_len)
    luts = build_sentencepiece_luts(load_tokenizer(ds.tokenizer_path), preset.model.vocab_size)
    if args.evaluator == "standard":
        # same batching as the trainer's round-trip evaluation, so a single process reproduces it exactly
        r = eval_standard(model, val_tokens, seq_len, luts, batch_seqs=val_batch_seqs(preset.train, 1))
    elif args.evaluator == "sliding":
        r = eval_sliding(model, val_tokens, seq_len, args.stride, luts)
    elif args.evaluator == "ttt":
        r = eval_score_first_ttt(
            model, val_tokens, seq_len, luts, stride=args.stride, chunk_tokens=args.ttt_chunk_tokens, epochs=args.ttt_epochs, lr=args.ttt_lr
        )
    else:
        r = eval_ngram_tilt(model, val_tokens, seq_len, luts, order=args.tilt_order, beta=args.tilt_beta)
    print(f"evaluator:{args.evaluator} tokens:{r.tokens} bytes:{r.total_bytes}")
    print(f"final_eval_exact val_loss:{r.val_loss:.8f} val_bpb:{bits_per_byte(r.loss_sum, r.total_bytes):.8f}")
    return 0

