"""Reading an event tape recorded in the sandbox (``shims/pgtape``): passes, the headline, phases.

A *pass* is the run of events between two metric log lines (``val_loss:``/``val_bpb:`` with a number);
a log line that closes no scoring work (no ``SCORE`` or ``ACC`` event) reprints the previous pass (e.g.
an ``_exact`` line). A pass is also split after a training phase on val (an update between two scorings
of most of its positions), so an unprinted evaluation before training on val is not part of the pass
reported after it. The *headline* is the last metric line that reports ``val_bpb``, and its pass is
the headline pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

_NUM = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_LOSS = re.compile(r"val_loss\s*[:=]\s*" + _NUM)
_BPB = re.compile(r"val_bpb\s*[:=]\s*" + _NUM)
SCORE_KINDS = ("SCORE", "ACC")  # a cross-entropy/NLL call on val targets; a sum of followed per-token scores


def expand(ranges: list[list[int]]) -> np.ndarray:
    if not ranges:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(a, b + 1) for a, b in ranges])


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


@dataclass
class Reported:
    line: str
    event: int  # tape index of the LOG event
    val_loss: float | None
    val_bpb: float | None
    loss_decimals: int = 4
    bpb_decimals: int = 4


@dataclass
class Pass:
    start: int  # first tape index (exclusive of the previous log line)
    end: int  # tape index of the log line that reports it
    events: list[dict] = field(default_factory=list)

    def kinds(self, *kinds: str) -> list[dict]:
        return [e for e in self.events if e["kind"] in kinds]


#: share of a pass's positions scored both before and after an update that makes it a training phase
PHASE_COVER = 0.9


def _after_training_phase(p: Pass) -> Pass:
    """The pass from after its last training phase: an update on val positions such that the positions
    scored both before and after it cover most of the pass (a full evaluation, training on val, another
    evaluation, printed once). Score-first TTT updates on each chunk after scoring it and never scores
    that chunk again, so it has no such update and stays one pass."""
    scored = [(e["i"], e["pos"]) for e in p.events if e["kind"] == "SCORE"]
    every = {q for _, pos in scored for q in pos}
    cut = None
    for e in p.events:
        if e["kind"] not in ("STEP", "UPDATE") or not e.get("pos"):
            continue
        before = {q for i, pos in scored if i < e["i"] for q in pos}
        after = {q for i, pos in scored if i > e["i"] for q in pos}
        if every and len(before & after) >= PHASE_COVER * len(every):
            cut = e["i"]
    if cut is None:
        return p
    return Pass(cut, p.end, [e for e in p.events if e["i"] > cut])


def _same_bpb(text: str, bpb: float) -> bool:
    b = _BPB.search(text)
    return b is not None and abs(float(b.group(1)) - bpb) <= 0.5 * 10.0 ** -_decimals(b.group(1)) + 1e-12


@dataclass(frozen=True)
class Coverage:
    """Lines of the submission's files that ran (``COVER``), by the metric-log count current then."""

    lines: dict[str, dict[int, frozenset[int]]]
    headline: int | None  # the metric-log count during the headline pass

    def ran_in_headline(self, name: str, line: int) -> bool:
        passes = self.lines.get(name, {}).get(line)
        return self.headline is not None and passes is not None and self.headline in passes


@dataclass
class TapeView:
    tape: list[dict]

    def __post_init__(self) -> None:
        self.logs = [e for e in self.tape if e["kind"] == "LOG"]

    def reported(self) -> Reported | None:
        """The headline: the last metric line carrying val_bpb. When it prints no val_loss (an
        ``..._exact val_bpb:`` reprint), the val_loss is taken from the latest earlier line of the same
        pass: one that prints val_loss and the same val_bpb at its own precision."""
        for k in range(len(self.logs) - 1, -1, -1):
            e = self.logs[k]
            b = _BPB.search(e["text"])
            if not b:
                continue
            bpb = float(b.group(1))
            l = _LOSS.search(e["text"])
            if l is None:
                l = next((m for m in (_LOSS.search(x["text"]) for x in reversed(self.logs[:k]) if _same_bpb(x["text"], bpb))
                          if m), None)
            return Reported(e["text"], e["i"], float(l.group(1)) if l else None, bpb,
                            _decimals(l.group(1)) if l else 0, _decimals(b.group(1)))
        return None

    def headline_pass(self) -> Pass | None:
        rep = self.reported()
        if rep is None:
            return None
        bounds = [-1] + [e["i"] for e in self.logs]
        k = next(j for j, e in enumerate(self.logs) if e["i"] == rep.event)
        # walk back over log lines that close no scoring work (reprints of the same pass)
        while k >= 0:
            lo, hi = bounds[k], bounds[k + 1]
            events = [e for e in self.tape if lo < e["i"] < hi]
            if any(e["kind"] in SCORE_KINDS for e in events):
                return _after_training_phase(Pass(lo, hi, events))
            k -= 1
        return None

    def coverage(self, headline: Pass | None) -> Coverage | None:
        """The line record, or None when the run ended before writing it (killed, ``os._exit``)."""
        cover = next((e for e in reversed(self.tape) if e["kind"] == "COVER"), None)
        if cover is None:
            return None
        lines = {name: {int(k): frozenset(v) for k, v in hits.items()} for name, hits in cover["lines"].items()}
        count = None
        if headline is not None:
            opening = next((e for e in self.logs if e["i"] == headline.start), None)
            count = int(opening["metric"]) if opening is not None else 0
        return Coverage(lines, count)

    def metric_logs_before(self, index: int) -> int:
        """How many metric log lines precede tape index ``index`` (the fork trigger counter)."""
        return sum(1 for e in self.logs if e["i"] < index)

    def first(self, *kinds: str) -> dict | None:
        return next((e for e in self.tape if e["kind"] in kinds), None)

    def of(self, *kinds: str) -> list[dict]:
        return [e for e in self.tape if e["kind"] in kinds]

    def artifact_writes(self, written: dict[str, int]) -> list[dict]:
        """WRITE events of files that look like the model artifact (binary outputs, not logs or code)."""
        out = []
        for e in self.of("WRITE"):
            rel = e["path"].split("/work/", 1)[-1]
            if rel.endswith((".txt", ".log", ".json", ".py", ".md", ".csv", ".jsonl")) or rel.startswith(("logs/", "tmp/")):
                continue
            out.append(e)
        return out
