#!/usr/bin/env bash
# Step time and losses of the reference `baseline` preset vs the upstream baseline script, same data and steps.
#
#   benchmarks/gpu_baseline_compare.sh /path/to/upstream/train_gpt.py [STEPS=300] [NPROC=1]
#
# Needs a CUDA box with this repo installed (`pip install -e .`, so `pgolf-train` is on PATH) and the upstream
# script's own dependencies. Data: DATA_PATH/TOKENIZER_PATH if both are set (e.g. the real fineweb10B_sp1024),
# otherwise the embedded sp1024 dataset in the official shard format (small: the stream wraps every few steps,
# which is fine for timing). Both runs: no wallclock cap, validation only at the end, 20 compile warm-up steps,
# seed 1337. Prints both step_avg values, their ratio (reference / upstream) and the final losses.
set -euo pipefail

UPSTREAM=$(realpath "${1:?usage: $0 /path/to/upstream/train_gpt.py [STEPS] [NPROC]}")
STEPS=${2:-300}
NPROC=${3:-1}
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d -t pgolf-compare-XXXXXX)

if [[ -z "${DATA_PATH:-}" || -z "${TOKENIZER_PATH:-}" ]]; then
  eval "$(cd "$REPO" && python -c 'from reference.data import resolve_dataset; d = resolve_dataset(); print(f"export DATA_PATH={d.data_path} TOKENIZER_PATH={d.tokenizer_path}")')"
fi
echo "data: $DATA_PATH  tokenizer: $TOKENIZER_PATH  steps: $STEPS  nproc: $NPROC  work: $WORK"

export ITERATIONS=$STEPS MAX_WALLCLOCK_SECONDS=0 VAL_LOSS_EVERY=0 TRAIN_LOG_EVERY=50 WARMUP_STEPS=20 SEED=1337

mkdir -p "$WORK/upstream"
(cd "$WORK/upstream" && torchrun --standalone --nproc_per_node="$NPROC" "$UPSTREAM" > run.log 2>&1)
torchrun --standalone --nproc_per_node="$NPROC" --no-python pgolf-train --preset baseline --out "$WORK/reference" \
  --iterations "$STEPS" --max-wallclock-seconds 0 --val-loss-every 0 --train-log-every 50 --warmup-steps 20 --seed 1337 \
  > "$WORK/reference.stdout" 2>&1

python - "$WORK/upstream/run.log" "$WORK/reference/train_seed1337.log" "$STEPS" <<'EOF'
import re
import sys

upstream_log, reference_log, steps = sys.argv[1], sys.argv[2], sys.argv[3]


def summary(path):
    text = open(path, encoding="utf-8").read()
    train = re.findall(rf"step:{steps}/{steps} train_loss:(\S+) train_time:(\d+)ms step_avg:(\S+)ms", text)
    final = re.search(r"final_int8_zlib_roundtrip_exact val_loss:(\S+) val_bpb:(\S+)", text)
    if not train or not final:
        sys.exit(f"could not parse {path}")
    loss, _, step_avg = train[-1]
    return float(loss), float(step_avg), final.group(1), final.group(2)


up, ref = summary(upstream_log), summary(reference_log)
print(f"{'':10} {'step_avg_ms':>12} {'train_loss':>11} {'rt_val_loss':>12} {'rt_val_bpb':>12}")
for name, (loss, avg, vl, vb) in (("upstream", up), ("reference", ref)):
    print(f"{name:10} {avg:12.2f} {loss:11.4f} {vl:>12} {vb:>12}")
print(f"step_time_ratio reference/upstream: {ref[1] / up[1]:.3f}")
EOF
echo "logs: $WORK/upstream/run.log $WORK/reference/train_seed1337.log"
