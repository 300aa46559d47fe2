"""Synthetic record folders for the package tests, written by us in the challenge's log dialects.

Every number is made up; the line layout follows the dialects the parser supports. ``baseline_log``
and friends return the log text; ``make_folder`` writes a whole folder.
"""

from __future__ import annotations

import json
from pathlib import Path

SCRIPT = 'import os\nimport torch\n\ndef main():\n    seed = int(os.environ.get("SEED", 1337))\n    print(f"seed:{seed}")\n\nif __name__ == "__main__":\n    main()\n'


def baseline_log(seed: int = 1337, bpb: float = 1.22436570, loss: float = 2.07269931, model: int = 15_815_847,
                 code: int = len(SCRIPT), train_ms: int = 599_960, val_tokens: int = 62_021_632, world: int = 8) -> str:
    """Baseline dialect, with a dump of the script's own code first (which must be ignored)."""
    return "\n".join([
        '    log0(f"final_int8_zlib_roundtrip_exact val_loss:{q_val_loss:.8f} val_bpb:{q_val_bpb:.8f}")',
        "val_bpb:enabled tokenizer_kind=sentencepiece tokenizer_path=./data/tokenizers/fineweb_1024_bpe.model",
        "train_loader:dataset:fineweb10B_sp1024 train_shards:80",
        f"val_loader:shards pattern=./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin tokens:{val_tokens}",
        "model_params:17059912",
        f"world_size:{world} grad_accum_steps:{8 // world}",
        f"seed:{seed}",
        "step:0/20000 val_loss:6.9357 val_bpb:4.1077 train_time:0ms step_avg:0.01ms",
        f"step:13700/20000 train_loss:2.0323 train_time:{train_ms - 40}ms step_avg:43.55ms",
        f"step:13701/20000 val_loss:2.0606 val_bpb:1.2172 train_time:{train_ms}ms step_avg:43.54ms",
        f"stopping_early: wallclock_cap train_time:{train_ms}ms step:13701/20000",
        "peak memory allocated: 10184 MiB reserved: 10200 MiB",
        "Serialized model: 67224983 bytes",
        f"Code size: {code} bytes",
        f"Total submission size: {67224983 + code} bytes",
        f"Serialized model int8+zlib: {model} bytes (payload:17178912 raw_torch:17224025 payload_ratio:3.91x)",
        f"Total submission size int8+zlib: {model + code} bytes",
        f"final_int8_zlib_roundtrip val_loss:{loss:.4f} val_bpb:{bpb:.4f} eval_time:1401ms",
        f"final_int8_zlib_roundtrip_exact val_loss:{loss:.8f} val_bpb:{bpb:.8f}",
        "",
    ])


def sliding_log(seed: int, bpb: float, loss: float, total: int = 15_900_000, code: int = 60_000,
                sliding_ms: int = 72_611, train_ms: int = 599_940) -> str:
    """Sliding-window dialect (int6 labels)."""
    return "\n".join([
        f"seed:{seed}",
        "world_size:8 grad_accum_steps:1",
        "val_loader:shards pattern=./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin tokens:62021632",
        f"step:7000/20000 val_loss:1.9800 val_bpb:1.1700 train_time:{train_ms}ms step_avg:85.72ms",
        f"stopping_early: wallclock_cap train_time:{train_ms}ms step:7000/20000",
        f"Code size: {code} bytes",
        f"Serialized model int6+zstd: {total - code} bytes",
        f"Total submission size int6+zstd: {total} bytes",
        f"final_int6_roundtrip val_loss:{loss + 0.05:.4f} val_bpb:{bpb + 0.03:.4f} eval_time:1500ms",
        f"final_int6_roundtrip_exact val_loss:{loss + 0.05:.8f} val_bpb:{bpb + 0.03:.8f}",
        f"final_int6_sliding_window val_loss:{loss:.4f} val_bpb:{bpb:.4f} stride:64 eval_time:{sliding_ms}ms",
        f"final_int6_sliding_window_exact val_loss:{loss:.8f} val_bpb:{bpb:.8f}",
        "",
    ])


def phased_log(seed: int, bpb: float, loss: float, model: int = 15_951_157, code: int = 28_025,
               train_ms: int = 596_056, hessians_s: float = 3.4, ttt_ms: int = 391_198,
               val_tokens: int = 47_851_520) -> str:
    """The later dialect: hyperparameter dump, unix-timestamp prefixes, phased TTT, compressed code."""
    ts = "1776144156.999 "
    return "\n".join([
        "Hyperparameters:",
        "  caseops_enabled: True",
        f"  seed: {seed}",
        "  tokenizer_path: ./data/tokenizers/fineweb_8192_bpe_lossless_caps_caseops_v1_reserved.model",
        "  vocab_size: 8192",
        "  world_size: 8",
        "train_shards: 80",
        f"{ts}val_tokens: {val_tokens}",
        f"{ts}gptq:reserving 4s, effective=596000ms",
        "0/20000 val_loss: 9.0092 val_bpb: 4.1166",
        f"4869/20000 train_loss: 2.3386 train_time: {train_ms / 60000:.1f}m tok/s: 6600000",
        "4869/20000 val_loss: 2.3386 val_bpb: 1.0686",
        f"stopping_early: wallclock_cap train_time: {train_ms}ms step: 4869/20000",
        "diagnostic pre-quantization post-ema val_loss:2.33748885 val_bpb:1.06807183 eval_time:6480ms",
        "Serialized model: 135592891 bytes",
        "Code size (uncompressed): 131887 bytes",
        f"Code size (compressed): {code} bytes",
        "GPTQ:collecting Hessians from calibration data...",
        f"GPTQ:collected 67 Hessians in {hessians_s}s",
        f"Serialized model quantized+brotli: {model} bytes",
        f"Total submission size quantized+brotli: {model + code} bytes",
        "diagnostic quantized val_loss:2.35811363 val_bpb:1.07749594 eval_time:9895ms",
        "ttt_lora:warming up compile (random tokens, no val data)",
        f"{ts}quantized_ttt_phased val_loss:{loss:.8f} val_bpb:{bpb:.8f} eval_time:{ttt_ms}ms",
        f"total_eval_time:{ttt_ms / 1000:.1f}s",
        "",
    ])


def make_folder(root: Path, name: str = "2026-04-01_Test", logs: dict[str, str] | None = None,
                submission: dict | str | None = None, script: str | None = SCRIPT, readme: bool = True,
                track: str = "track_10min_16mb", extra: dict[str, str] | None = None) -> Path:
    folder = root / "records" / track / name
    folder.mkdir(parents=True)
    if readme:
        (folder / "README.md").write_text("# Test submission\n")
    if script is not None:
        (folder / "train_gpt.py").write_text(script)
    if submission is not None:
        (folder / "submission.json").write_text(submission if isinstance(submission, str) else json.dumps(submission, indent=2))
    for fname, text in (logs or {}).items():
        (folder / fname).parent.mkdir(parents=True, exist_ok=True)
        (folder / fname).write_text(text)
    for fname, text in (extra or {}).items():
        (folder / fname).write_text(text)
    return folder


def three_seed_sliding(root: Path, name: str = "2026-04-01_Sliding", **kw) -> Path:
    """A consistent three-seed sliding-window record."""
    seeds = {42: (1.11437394, 1.88156874), 314: (1.11508120, 1.88276292), 999: (1.11475014, 1.88220394)}
    logs = {f"train_seed{s}.log": sliding_log(s, b, l, code=len(SCRIPT)) for s, (b, l) in seeds.items()}
    mean_bpb = sum(b for b, _ in seeds.values()) / 3
    sub = {"author": "t", "github_id": "t", "name": "Sliding", "date": "2026-04-01", "val_bpb": round(mean_bpb, 8),
           "bytes_total": 15_900_000, "bytes_code": len(SCRIPT), "seeds": list(seeds)}
    sub.update(kw.pop("submission_update", {}))
    return make_folder(root, name, logs=logs | kw.pop("logs", {}), submission=sub, **kw)
