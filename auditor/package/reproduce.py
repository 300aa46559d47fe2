"""``reproduce``: re-run a record folder's script with its claimed seeds, then verify the fresh logs.

Each seed runs ``torchrun --standalone --nproc_per_node N <entry>`` in its own copy of the folder
(the submission's own files are never written to), with ``SEED``, ``RUN_ID``, ``DATA_PATH``,
``TOKENIZER_PATH`` set (plus ``--env`` pairs), stdout and stderr captured to ``<out>/logs/``, and a
hard timeout that kills the whole process group. The fresh logs then replace the shipped ones in
``<out>/fresh/`` (a copy of the folder's non-log files), and that folder goes through
:func:`verify_folder` with the reproduction tolerance: the claims are compared with what was just
measured, and every cap, time and significance check runs on the fresh numbers.

The runner is injectable, so tests drive the whole flow on CPU with a fake one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from auditor.findings import Finding
from auditor.package.check import Sota
from auditor.package.folder import load_folder
from auditor.package.logs import parse_log
from auditor.package.verify import verify_folder

#: default allowed |claimed − reproduced| val_bpb per seed (run-to-run noise is 0.0002–0.0009 bpb)
DEFAULT_TOLERANCE = 0.002
#: default per-seed wall-clock limit: 10 min training + 10 min evaluation + start-up and export
DEFAULT_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class RunSpec:
    seed: int
    cmd: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path
    log_path: Path
    timeout_s: float


@dataclass(frozen=True)
class RunOutcome:
    seed: int
    returncode: int | None
    seconds: float
    timed_out: bool
    log_path: Path


class Runner(Protocol):
    def __call__(self, spec: RunSpec) -> RunOutcome: ...


def subprocess_runner(spec: RunSpec) -> RunOutcome:
    """Run one seed; stdout+stderr to the log; on timeout kill the process group (torchrun's workers)."""
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(spec.log_path, "wb") as out:
        proc = subprocess.Popen(spec.cmd, cwd=spec.cwd, env=dict(spec.env), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc: int | None = proc.wait(timeout=spec.timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc, timed_out = None, True
    return RunOutcome(spec.seed, rc, time.monotonic() - start, timed_out, spec.log_path)


@dataclass
class Reproduction:
    """The outcome of ``reproduce``: per-seed runs, the fresh folder's findings and report fields."""

    folder: Path
    fresh: Path
    outcomes: list[RunOutcome]
    findings: list[Finding]
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        return self.extra["reproduction"]


def plan(
    folder: Path,
    seeds: Sequence[int],
    out: Path,
    nproc: int,
    data_path: str | None = None,
    tokenizer_path: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    launcher: Sequence[str] = ("torchrun", "--standalone"),
    timeout_s: float = DEFAULT_TIMEOUT_S,
    base_env: Mapping[str, str] | None = None,
) -> list[RunSpec]:
    """One :class:`RunSpec` per seed, each in a fresh copy of the folder under ``out/work``."""
    model = load_folder(folder)
    if model.entry is None:
        raise ValueError(f"{folder}: no training script to run (train_gpt.py or train*.py)")
    specs = []
    for seed in seeds:
        work = out / "work" / f"seed{seed}"
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns(*(r.rel for r in model.runs)))
        env = dict(os.environ if base_env is None else base_env)
        env |= {"SEED": str(seed), "RUN_ID": f"reproduce_seed{seed}"}
        if data_path:
            env["DATA_PATH"] = str(data_path)
        if tokenizer_path:
            env["TOKENIZER_PATH"] = str(tokenizer_path)
        env |= dict(extra_env or {})
        cmd = (*launcher, f"--nproc_per_node={nproc}", model.entry)
        specs.append(RunSpec(seed, cmd, env, work, out / "logs" / f"train_seed{seed}.log", timeout_s))
    return specs


def reproduce(
    folder: Path,
    seeds: Sequence[int],
    out: Path,
    nproc: int = 8,
    data_path: str | None = None,
    tokenizer_path: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    runner: Runner = subprocess_runner,
    tolerance: float = DEFAULT_TOLERANCE,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    sota: Sota | None = None,
    launcher: Sequence[str] = ("torchrun", "--standalone"),
    progress: Callable[[str], None] = lambda message: None,
) -> Reproduction:
    """Run every seed, assemble the fresh folder, verify it against the claim."""
    folder, out = Path(folder), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    specs = plan(folder, seeds, out, nproc, data_path, tokenizer_path, extra_env, launcher, timeout_s)
    outcomes = []
    for i, spec in enumerate(specs, 1):
        progress(f"seed {spec.seed} ({i}/{len(specs)}): {' '.join(spec.cmd)}")
        outcome = runner(spec)
        outcomes.append(outcome)
        status = "timed out" if outcome.timed_out else f"exit {outcome.returncode}"
        progress(f"seed {spec.seed}: {status} after {outcome.seconds:.0f} s, log {outcome.log_path}")
    fresh = _fresh_folder(folder, out, outcomes)
    findings, extra = verify_folder(fresh, sota=sota, bpb_tolerance=tolerance)
    extra["reproduction"] = _rows(folder, outcomes, tolerance)
    return Reproduction(folder, fresh, outcomes, findings, extra)


def _fresh_folder(folder: Path, out: Path, outcomes: Sequence[RunOutcome]) -> Path:
    """The submission's non-log files plus the fresh logs, under ``out/fresh/<folder name>``."""
    model = load_folder(folder)
    fresh = out / "fresh" / folder.name
    if fresh.exists():
        shutil.rmtree(fresh)
    shutil.copytree(folder, fresh, ignore=shutil.ignore_patterns(*(r.rel.rsplit("/", 1)[-1] for r in model.runs)))
    for o in outcomes:
        if o.log_path.exists():
            shutil.copyfile(o.log_path, fresh / o.log_path.name)
    return fresh


def _rows(folder: Path, outcomes: Sequence[RunOutcome], tolerance: float) -> list[dict[str, Any]]:
    """Per seed: claimed vs reproduced headline, bytes and times, and whether it is within tolerance."""
    claim = load_folder(folder).claim
    rows = []
    for o in outcomes:
        log = parse_log(o.log_path) if o.log_path.exists() else None
        head = log.headline if log else None
        sc = claim.seeds.get(o.seed) if claim else None
        claimed = float(sc.val_bpb.value) if sc and sc.val_bpb else None
        got = head.val_bpb if head else None
        rows.append({
            "seed": o.seed,
            "returncode": o.returncode,
            "timed_out": o.timed_out,
            "wall_seconds": round(o.seconds, 3),
            "claimed_val_bpb": claimed,
            "val_bpb": got,
            "delta": None if claimed is None or got is None else got - claimed,
            "within_tolerance": None if claimed is None or got is None else abs(got - claimed) <= tolerance,
            "bytes_total": log.total.bytes if log and log.total else None,
            "train_seconds": log.train.value / 1000 if log and log.train else None,
            "eval_seconds": (log.headline_eval_ms() or 0) / 1000 if log and head else None,
            "log": str(o.log_path),
        })
    return rows
