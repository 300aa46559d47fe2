"""Training throughput of a reference preset: tokens/s and ms per optimizer step.

    python benchmarks/train_throughput.py                     # `tiny` on CPU, 30 timed steps
    python benchmarks/train_throughput.py --preset tiny-record --steps 20 --looping --threads 1
    python benchmarks/train_throughput.py --preset baseline --device cuda --compile   # on a GPU box

Runs the trainer's step (forward, backward, every optimizer; baseline batch and grad-accumulation settings of
the preset) on the embedded dataset's train shards (or DATA_PATH/TOKENIZER_PATH), after `--warmup` untimed
steps. Single process; for multi-GPU numbers use `pgolf-train` under torchrun and read `step_avg` in the log.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference.data import DistributedTokenLoader, resolve_dataset  # noqa: E402
from reference.model import GPT, cast_for_training  # noqa: E402
from reference.optim import build_optimizers  # noqa: E402
from reference.presets import PRESETS  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--looping", action="store_true", help="time the depth-recurrent graph (record presets)")
    ap.add_argument("--threads", type=int, help="intra-op CPU threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    preset = PRESETS[args.preset]
    tc, device = preset.train, torch.device(args.device)
    grad_accum = tc.grad_accum_steps or 8
    cuda = device.type == "cuda"
    model = GPT(preset.model).to(device)
    if cuda:
        cast_for_training(model)
    model.looping_active = args.looping
    fwd = torch.compile(model, dynamic=False, fullgraph=True) if args.compile else model
    optimizers = build_optimizers(model, tc.optim)
    loader = DistributedTokenLoader(resolve_dataset().train_pattern, 0, 1, device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda)

    def step() -> None:
        for _ in range(grad_accum):
            x, y = loader.next_batch(tc.train_batch_tokens, tc.train_seq_len, grad_accum)
            with autocast:
                loss = fwd(x, y)
            (loss / grad_accum).backward()
        for opt in optimizers:
            opt.step()
            opt.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    mean = statistics.fmean(times)
    print(f"preset:{args.preset} device:{device} threads:{torch.get_num_threads()} compile:{args.compile} looping:{args.looping}")
    print(f"tokens_per_step:{tc.train_batch_tokens} grad_accum_steps:{grad_accum} steps:{args.steps}")
    print(f"step_ms mean:{1000 * mean:.2f} median:{1000 * statistics.median(times):.2f} min:{1000 * min(times):.2f}")
    print(f"tokens_per_s:{tc.train_batch_tokens / mean:,.0f}")


if __name__ == "__main__":
    main()
