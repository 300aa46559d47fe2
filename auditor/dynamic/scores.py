"""Per-token scores of the headline pass, reconciled with the total the submission reports.

Captured values are the per-token NLLs of every cross-entropy / NLL call on val targets (``SCORE``
events), and the per-token values the code sums (``ACC`` events: scores followed from a cross-entropy
call or a lookup of target ids in a row, through arithmetic, views and numpy, to a total). A position
may be computed several times in one pass (a TTT step's forward, a rescoring); which computation the
submission *reported* is decided by value: the candidate selections ("first", "last", "min" per
position, "all" computations with duplicates, or the "summed" values) are averaged and compared with
the reported ``val_loss`` to within the printed precision. When none matches, the value-level probes
are INCONCLUSIVE, never PASS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from auditor.dynamic.tape import Pass, Reported, expand

SELECTIONS = ("first", "summed", "last", "min", "all")


@dataclass
class Scores:
    """Per-position scores of one pass under one selection."""

    selection: str | None  # the selection that reconciles with the report; None if none does
    positions: np.ndarray  # sorted unique target positions scored in the pass
    nll: np.ndarray  # committed NLL per position (per ``selection``, or "first" when unreconciled)
    commit_event: np.ndarray  # tape index of the committing SCORE event per position
    first_event: np.ndarray  # tape index of the first SCORE event per position
    counts: np.ndarray  # how many SCORE events covered each position
    first_grad: np.ndarray  # whether the first computation of each position ran with gradients on
    last_before: np.ndarray  # tape index of the last SCORE computation of each position up to its commit
    lines: dict[int, int] = field(default_factory=dict)  # committing event index -> code line
    measured: dict[str, float] = field(default_factory=dict)  # mean NLL per selection
    reason: str = ""
    #: per position: the committed value was computed by arithmetic after its lookup in a row (a cache or
    #: mixture on top of the model's distribution), so it is not read off any captured row
    derived: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def reconciled(self) -> bool:
        return self.selection is not None

    def _lookup(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of each position in ``self.positions`` (clipped) and whether it is there."""
        idx = np.clip(np.searchsorted(self.positions, positions), 0, max(self.positions.size - 1, 0))
        ok = self.positions[idx] == positions if self.positions.size else np.zeros(positions.size, bool)
        return idx, ok

    def at(self, positions: np.ndarray) -> np.ndarray:
        idx, ok = self._lookup(positions)
        return np.where(ok, self.nll[idx] if self.positions.size else np.nan, np.nan)

    def commit_at(self, positions: np.ndarray) -> np.ndarray:
        """Tape index of the computation behind each position's reported score (int64 max if unscored)."""
        idx, ok = self._lookup(positions)
        never = np.iinfo(np.int64).max
        return np.where(ok, self.commit_event[idx] if self.positions.size else never, never)


def collect(p: Pass, reported: Reported | None, force: str | None = None) -> Scores:
    events = p.kinds("SCORE")
    per: dict[int, list[tuple[int, float]]] = {}
    lines: dict[int, int] = {}
    grad = {e["i"]: bool(e.get("grad")) for e in events}
    for e in events:
        lines[e["i"]] = e["line"]
        for pos, v in zip(e["pos"], e["nll"]):
            per.setdefault(int(pos), []).append((e["i"], float(v)))
    positions = np.array(sorted(per), dtype=np.int64)
    picks = {
        "first": [per[q][0] for q in positions],
        "last": [per[q][-1] for q in positions],
        "min": [min(per[q], key=lambda x: x[1]) for q in positions],
    }
    measured = {k: float(np.mean([v for _, v in vals])) if vals else float("nan") for k, vals in picks.items()}
    # "all": every computation counted, duplicates included
    every = [v for q in positions for _, v in per[q]]
    measured["all"] = float(np.mean(every)) if every else float("nan")
    # "summed": the slices of per-token NLL tensors the code summed (ACC events), duplicates included
    acc = p.kinds("ACC")
    summed = [float(v) for e in acc for v in e["nll"]]
    measured["summed"] = float(np.mean(summed)) if summed else float("nan")
    selection, reason = None, ""
    if force is not None:
        selection = force
    elif reported is None or reported.val_loss is None:
        reason = "the run printed no val_loss to compare the captured per-token scores with"
    else:
        tol = 0.5 * 10.0 ** -max(reported.loss_decimals, 0) + 1e-6 * abs(reported.val_loss)
        matches = [name for name in SELECTIONS if abs(measured[name] - reported.val_loss) <= tol]
        if "min" in matches and "first" not in matches and "last" not in matches:
            # the values summed are the per-position minimum over several scorings, not any one scorer's:
            # "min" names that oracle pick (oracle-selection), where "summed" would only restate the values
            matches.insert(0, "min")
        if {"first", "last", "summed"} <= set(matches) and any(per[q][0][0] != per[q][-1][0] for q in positions):
            # equal values computed twice (a warm-up on a throw-away copy, then the evaluation): the
            # summed slices say which computation reached the total
            matches.insert(0, "summed")
        selection = matches[0] if matches else None
        if selection is None:
            reason = (f"captured per-token scores (mean {measured['first']:.6f}) do not sum to the reported "
                      f"val_loss {reported.val_loss}; the reported values come from arithmetic outside "
                      "cross-entropy/NLL calls")
    if selection == "summed":
        return _summed(acc, per, lines, grad, measured)
    chosen = picks[selection if selection in picks else "first"]
    return Scores(
        selection=selection,
        positions=positions,
        nll=np.array([v for _, v in chosen], dtype=np.float64),
        commit_event=np.array([i for i, _ in chosen], dtype=np.int64),
        first_event=np.array([per[q][0][0] for q in positions], dtype=np.int64),
        counts=np.array([len(per[q]) for q in positions], dtype=np.int64),
        first_grad=np.array([grad[per[q][0][0]] for q in positions], dtype=bool),
        last_before=np.array([max(i for i, _ in per[q] if i <= c) for q, (c, _) in zip(positions, chosen)], dtype=np.int64),
        lines=lines,
        measured=measured,
        reason=reason,
        derived=np.zeros(positions.size, dtype=bool),
    )


def _summed(acc: list[dict], per: dict, lines: dict, grad: dict, measured: dict) -> Scores:
    """Scores committed by the summed slices: each position's first summed value, its event and count."""
    first: dict[int, tuple[int, float]] = {}
    counts: dict[int, int] = {}
    derived = {e["i"]: set(expand(e.get("derived", [])).tolist()) for e in acc}
    for e in acc:
        lines[e["i"]] = e["line"]
        for q, v in zip(e["pos"], e["nll"]):
            first.setdefault(int(q), (e["i"], float(v)))
            counts[int(q)] = counts.get(int(q), 0) + 1
    positions = np.array(sorted(first), dtype=np.int64)
    return Scores(
        selection="summed",
        positions=positions,
        nll=np.array([first[q][1] for q in positions], dtype=np.float64),
        commit_event=np.array([first[q][0] for q in positions], dtype=np.int64),
        first_event=np.array([per[q][0][0] if q in per else first[q][0] for q in positions], dtype=np.int64),
        counts=np.array([counts[q] for q in positions], dtype=np.int64),
        first_grad=np.array([grad.get(per[q][0][0], False) if q in per else False for q in positions], dtype=bool),
        last_before=np.array([max([i for i, _ in per.get(q, []) if i <= first[q][0]] or [first[q][0]]) for q in positions],
                             dtype=np.int64),
        lines=lines,
        measured=measured,
        derived=np.array([q in derived[first[q][0]] for q in positions], dtype=bool),
    )
