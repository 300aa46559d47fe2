"""Counterfactual evaluation by fork: re-run only the headline evaluation on perturbed val streams.

At the trigger (the first forward on val ids after a given number of metric log lines, i.e. the
start of the headline pass), the process finds every live id tensor/array holding val content, then
forks one child per variant, each in a scratch directory and under a run id of its own. A child writes its edits (``x_t := v``) into those objects, records its
own tape from the fork on, and exits when its stop condition is met; the parent waits for each child
in turn and then carries on unperturbed as the control.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
import warnings
from typing import Any

import numpy as np
import torch

import pgguard
from valindex import ValIndex


def _holders(tape: Any, wanted: set[int]) -> tuple[list[tuple[Any, dict[int, tuple]]], list[str]]:
    """Live objects holding val content at the wanted positions, with the index tuples per position."""
    found: list[tuple[Any, dict[int, tuple]]] = []
    problems: list[str] = []
    seen: set[int] = set()
    arrays: list[np.ndarray] = []
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor):
            cands = [obj]
        elif isinstance(obj, dict):
            cands = [v for v in obj.values() if isinstance(v, np.ndarray)]
        elif isinstance(obj, (list, tuple)):
            cands = [v for v in obj if isinstance(v, np.ndarray)] if len(obj) < 10000 else []
        else:
            continue
        for c in cands:
            if id(c) in seen:
                continue
            seen.add(id(c))
            if isinstance(c, np.ndarray):
                arrays.append(c)
            else:
                _add(tape, c, wanted, found, problems)
    for a in arrays:
        _add(tape, a, wanted, found, problems)
    return found, problems


def _add(tape: Any, obj: Any, wanted: set[int], found: list, problems: list) -> None:
    try:
        pos = tape.positions(obj)
    except Exception:
        return
    if pos is None:
        return
    shape = tuple(obj.shape)
    hits: dict[int, tuple] = {}
    for t in wanted:
        flat = np.flatnonzero(pos == t)
        if flat.size:
            hits[t] = np.unravel_index(flat, shape)
    if hits:
        if isinstance(obj, np.ndarray) and not obj.flags.writeable:
            problems.append(f"val tokens held in read-only memory ({type(obj).__name__} {shape})")
            return
        found.append((obj, hits))


def _apply(holders: list, edits: list[list[int]]) -> None:
    for obj, hits in holders:
        for t, v in edits:
            idx = hits.get(int(t))
            if idx is None:
                continue
            if isinstance(obj, torch.Tensor):
                try:
                    obj.detach().numpy()[idx] = v  # shares memory; works for every integer dtype
                    continue
                except (RuntimeError, TypeError, ValueError):
                    pass
                index = tuple(torch.as_tensor(i) for i in idx)
                if obj.is_inference():
                    with torch.inference_mode():
                        obj[index] = v
                else:
                    with torch.no_grad():
                        obj[index] = v
            else:
                obj[idx] = v


class ForkPlan:
    def __init__(self, tape: Any, plan: dict, on_fired: Any = None) -> None:
        self.on_fired = on_fired  # called in the control once the children are done (the line record starts)
        self.tape, self.plan = tape, plan
        self.fired = False
        self.child: dict | None = None
        tape.listeners.append(self.on_event)

    def on_event(self, event: dict) -> None:
        if self.child is not None:
            self._child_check(event)
            return
        if self.fired or event["kind"] != "FWD" or self.tape.metric_logs != self.plan["after_metric_logs"]:
            return
        self.fired = True
        self._fire(event)

    def _fire(self, event: dict) -> None:
        wanted = {int(t) for v in self.plan["variants"] for t, _ in v["edits"]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            holders, problems = _holders(self.tape, wanted)
        report = {"trigger_event": event["i"], "holders": len(holders), "problems": problems, "children": []}
        sys.stdout.flush()
        sys.stderr.flush()
        gc.collect()
        gc.freeze()  # children neither collect nor copy the inherited heap's GC headers
        running: dict[int, tuple[dict, float]] = {}
        pending = list(self.plan["variants"])
        timeout = float(self.plan.get("child_timeout", 60))
        while pending or running:
            while pending and len(running) < int(self.plan.get("parallel", 1)):
                variant = pending.pop(0)
                pgguard.STATE["allow_fork"] = True
                pid = os.fork()
                pgguard.STATE["allow_fork"] = False
                if pid == 0:
                    gc.disable()
                    self._become_child(variant, holders, event)
                    return
                running[pid] = (variant, time.perf_counter())
            for pid, (variant, start) in list(running.items()):
                status = self._poll(pid, start, timeout)
                if status is not None:
                    del running[pid]
                    report["children"].append({"id": variant["id"], "status": status,
                                               "seconds": round(time.perf_counter() - start, 3)})
            time.sleep(0.002)
        gc.unfreeze()
        self.tape.record("FORKED", **report)
        if self.on_fired is not None:
            self.on_fired()

    @staticmethod
    def _poll(pid: int, start: float, timeout: float) -> str | None:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return "ok" if code == 0 else f"exit {code}"
        if time.perf_counter() - start > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        return None

    def _become_child(self, variant: dict, holders: list, event: dict) -> None:
        with pgguard.trusted():
            log = os.open(variant["out"] + ".log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        _own_scratch(variant["id"])
        self.tape.out_path = variant["out"]
        self.tape.pid = os.getpid()
        try:
            _apply(holders, variant["edits"])
        except Exception:
            import traceback

            traceback.print_exc()
            os._exit(3)
        stream = self.tape.stream.copy()
        for t, v in variant["edits"]:
            stream[int(t)] = int(v)
        try:
            self.tape.index = ValIndex(stream)
        except ValueError:
            pass  # an edit recreated an existing K-gram: positions next to it may go unmapped
        self.tape.stream = stream
        self.tape.events = [dict(event, kind="FWD")]
        self.child = {"until": variant["until"], "scores": 0, "logs": self.tape.metric_logs}
        import atexit

        atexit.register(self._finish)

    def _child_check(self, event: dict) -> None:
        until = self.child["until"]
        if event["kind"] == self.child["until"].get("kind", "SCORE"):
            self.child["scores"] += 1
            if "score_events" in until and self.child["scores"] >= until["score_events"]:
                self._finish()
        elif event["kind"] == "LOG" and "metric_logs" in until and event["metric"] >= until["metric_logs"]:
            self._finish()

    def _finish(self) -> None:
        self.tape.record("END", rc=0, child=True)
        self.tape.flush()
        os._exit(0)


def _own_scratch(variant_id: str) -> None:
    """Give the child a working directory and run id of its own, so that what it writes under relative
    paths (logs, an artifact) never reaches the control or a sibling: the work tree's files are copied,
    its folders (the read-only data among them) linked."""
    work = os.getcwd()
    scratch = os.path.join(work, "tmp", f"fork-{variant_id}")
    os.makedirs(scratch, exist_ok=True)
    for name in os.listdir(work):
        src = os.path.join(work, name)
        if name == "tmp":
            continue
        if os.path.isfile(src) and not os.path.islink(src):
            with open(src, "rb") as f, open(os.path.join(scratch, name), "wb") as g:
                g.write(f.read())
        else:
            os.symlink(src, os.path.join(scratch, name))
    os.chdir(scratch)
    os.environ["RUN_ID"] = f"{os.environ.get('RUN_ID', 'pgolf')}_{variant_id}"


def install(tape: Any, plan: dict | None, on_fired: Any = None) -> ForkPlan | None:
    return ForkPlan(tape, plan, on_fired) if plan else None
