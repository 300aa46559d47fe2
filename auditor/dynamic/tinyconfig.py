"""A tiny configuration for a sandboxed run, derived from the script's own env settings.

The auditor reads the env names and folded defaults statically (``Analysis.settings``) and overrides
only *size-like* settings (model shape, sequence and batch sizes, iteration counts, TTT chunking), so
a run takes seconds while every code path the defaults enable still runs: feature flags, learning
rates and other behaviour settings keep their defaults. Names decide only how a value is shrunk,
never a verdict. Layer counts stay large enough for every layer index a setting refers to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from auditor.analysis.config import EnvSetting
from auditor.dynamic.data import VAL_TOKENS
from auditor.dynamic.loadfactor import MIN_EXPONENT, scaled

SEQ_LEN = 128
STRIDE = 32
HEAD_DIM = 16
ITERATIONS = 3
_UNFOLDED = 10**9

_SEQ_SCHEDULE = re.compile(r"SEQ(_LEN)?_SCHEDULE$")
_LENGTH = re.compile(r"(?<![\d.])\d{3,}(?![\d.])")  # integers of 3+ digits: lengths, not fractions
_LAYER_INDEX = re.compile(r"(LOOP|RECUR|PARALLEL|SKIP|XSA|VE|LAYER).*(START|END|IDX|INDEX|FROM|AT_LAYER)|(START|END)_LAYER")


@dataclass
class TinyConfig:
    env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _int(s: EnvSetting) -> int | None:
    d = s.default
    if not s.known or isinstance(d, bool):
        return None
    if isinstance(d, int):
        return d
    if isinstance(d, float) and d.is_integer():
        return int(d)
    return None


def derive(settings: Iterable[EnvSetting], vocab_size: int) -> TinyConfig:
    by_env = {s.env: s for s in settings}
    cfg = TinyConfig()

    def put(env: str, value: object, why: str) -> None:
        s = by_env[env]
        if s.known and str(s.default) == str(value):
            return
        cfg.env[env] = str(int(value) if isinstance(value, bool) else value)
        cfg.notes.append(f"{env}: {s.default!r} -> {value} ({why})")

    layer_indices = [_int(s) for e, s in by_env.items() if _LAYER_INDEX.search(e) and _int(s) is not None]
    heads = next((_int(by_env[e]) for e in ("NUM_HEADS", "N_HEADS") if e in by_env and _int(by_env[e])), 8)
    rope = next((_int(by_env[e]) for e in ("ROPE_DIMS", "ROPE_DIM") if e in by_env and _int(by_env[e])), 0)
    head_dim = max(HEAD_DIM, rope)
    dim = heads * head_dim
    for env, s in by_env.items():
        v = _int(s)
        if env == "VOCAB_SIZE":
            put(env, vocab_size, "probe tokenizer")
            continue
        if _SEQ_SCHEDULE.search(env) and isinstance(s.default, str) and s.default:
            # the schedule's lengths must stay within the shrunk TRAIN_SEQ_LEN (scripts check the maximum)
            put(env, _LENGTH.sub(lambda m: str(min(int(m.group()), SEQ_LEN)), s.default), "short sequences")
            continue
        if v is None:
            if s.known or s.default is not None:
                continue
            v = _UNFOLDED  # e.g. ``2048 * 48 * 8``: a size-like setting is shrunk whatever its default
        if env in ("NUM_LAYERS", "N_LAYERS", "DEPTH"):
            need = max([i + 1 for i in layer_indices if 0 <= i < v] + [2])
            put(env, min(v, need), "tiny model, every layer index setting stays valid")
        elif env in ("MODEL_DIM", "EMBEDDING_DIM", "D_MODEL", "EMBED_DIM", "N_EMBD") and v > dim:
            put(env, dim, "tiny model")
        elif re.search(r"(SEQ_LEN|CONTEXT_LEN|BLOCK_SIZE)$", env) and v > SEQ_LEN:
            put(env, SEQ_LEN, "short sequences")
        elif re.search(r"STRIDE$", env) and v > STRIDE:
            put(env, STRIDE, "sliding stride below the sequence length")
        elif re.search(r"(BATCH_TOKENS|BATCH_SIZE|BATCH_SEQS|CHUNK_TOKENS|_TOKENS)$", env) and v > 4096:
            put(env, 1024 if "TRAIN" in env else 4096 if "VAL" in env else 256, "small batches")
        elif re.search(r"(BATCH_SIZE|BATCH_SEQS|BATCH)$", env) and 4 < v <= 4096:
            put(env, 4, "small batches")
        elif re.search(r"(CHUNK_SIZE|CHUNK)$", env) and v > 256:
            put(env, 256, "several TTT chunks over the small val split")
        elif re.search(r"^ITERATIONS$|_ITERS$|_ITERATIONS$", env) and v > ITERATIONS:
            put(env, ITERATIONS if env == "ITERATIONS" else 1, "few steps")
        elif re.search(r"WARMUP_STEPS$|MOMENTUM_WARMUP_STEPS$", env) and v > 1:
            put(env, 1, "few steps")
        elif re.search(r"(EPOCHS|_STEPS)$", env) and v > 2:
            put(env, 2, "few steps; at least two keep multi-epoch ordering visible")
        elif re.search(r"(VAL_LOSS_EVERY|EVAL_EVERY)$", env) and v > 0:
            put(env, 0, "no diagnostic evals during training")
        elif re.search(r"LOG_EVERY$", env) and v > 1:
            put(env, 1, "log every step")
        elif re.search(r"(CALIB\w*BATCHES|CALIB\w*SAMPLES|N_CALIB\w*|CALIBRATION_\w+)$", env) and v > 2:
            put(env, 2, "few calibration batches")
        elif re.search(r"(LORA_RANK|_RANK)$", env) and env not in ("RANK", "LOCAL_RANK") and v > 8:
            put(env, 8, "small adapters")
        elif re.search(r"(_BUCKETS|HASH_SIZE|_TABLE_SIZE)$", env) and v >= 2**MIN_EXPONENT and v & (v - 1) == 0:
            put(env, scaled(v, VAL_TOKENS - 1), "hashed table: the scored run's tokens per bucket")
        elif re.search(r"(_DIM|_BUCKETS|_VOCAB_SIZE|HASH_SIZE|_TABLE_SIZE)$", env) and v > 128:
            put(env, 128, "small side tables")
        elif re.search(r"(_HIDDEN|MLP_HIDDEN)$", env) and v > 4 * dim:
            put(env, 4 * dim, "tiny model")
    return cfg
