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
    first_nll: np.ndarray  # the value of that first computation
    counts: np.ndarray  # how many SCORE events covered each position
    first_grad: np.ndarray  # whether the first computation of each position ran with gradients on
    last_before: np.ndarray  # tape index of the last SCORE computation of each position up to its commit
    lines: dict[int, int] = field(default_factory=dict)  # committing event index -> code line
    measured: dict[str, float] = field(default_factory=dict)  # mean NLL per selection
    reason: str = ""
    #: per position: the committed value was computed by arithmetic after its lookup in a row (a cache or
    #: mixture on top of the model's distribution), so it is not read off any captured row
    derived: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: other selections that reconcile with the report equally well but commit different computations
    alternates: list["Scores"] = field(default_factory=list)

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

    def derived_at(self, t: int) -> bool | None:
        """Whether the committed score at ``t`` was computed after its lookup (None: not scored there)."""
        idx, ok = self._lookup(np.array([t]))
        if not ok[0] or self.derived.size <= idx[0]:
            return None
        return bool(self.derived[idx[0]])

    def commit_at(self, positions: np.ndarray) -> np.ndarray:
        """Tape index of the computation behind each position's reported score (int64 max if unscored)."""
        idx, ok = self._lookup(positions)
        never = np.iinfo(np.int64).max
        return np.where(ok, self.commit_event[idx] if self.positions.size else never, never)


def training_forwards(events: list[dict]) -> set[int]:
    """SCORE events whose graph fed a later backward: training forwards (their positions reach the next
    BWD event). Such a computation is the loss an update descends, not a score the pass reports."""
    out: set[int] = set()
    open_: list[dict] = []
    for e in events:
        if e["kind"] == "SCORE" and e.get("grad"):
            open_.append(e)
        elif e["kind"] == "BWD" and open_:
            fed = set(expand(e["pos"]).tolist())
            out.update(s["i"] for s in open_ if fed.issuperset(s["pos"]))
            open_ = []
        elif e["kind"] == "STEP":
            open_ = []
    return out


def reaching_sums(acc: list[dict]) -> list[dict]:
    """The accumulations that reached the reported total: the shortest run of the pass's last ACC events
    that covers every position the pass accumulated. Earlier sums over the same positions (a diagnostic
    evaluation with its own accumulator, printed nowhere) were superseded and reached no headline."""
    want = {int(q) for e in acc for q in e["pos"]}
    seen: set[int] = set()
    for k in range(len(acc) - 1, -1, -1):
        seen.update(int(q) for q in acc[k]["pos"])
        if seen == want:
            return acc[k:]
    return acc


def collect(p: Pass, reported: Reported | None, force: str | None = None) -> Scores:
    """The pass's per-position scores under the selection that reconciles with ``reported``. When
    several selections reconcile but name different computations, the others are kept as ``alternates``
    so that a probe decides only what holds under all of them."""
    events = p.kinds("SCORE")
    trained = training_forwards(p.events)
    per: dict[int, list[tuple[int, float]]] = {}
    lines: dict[int, int] = {}
    grad = {e["i"]: bool(e.get("grad")) for e in events}
    for e in events:
        lines[e["i"]] = e["line"]
        for pos, v in zip(e["pos"], e["nll"]):
            per.setdefault(int(pos), []).append((e["i"], float(v)))
    # a training forward commits nothing where the position has another computation
    cand = {q: [c for c in cs if c[0] not in trained] or cs for q, cs in per.items()}
    positions = np.array(sorted(per), dtype=np.int64)
    picks = {
        "first": [cand[q][0] for q in positions],
        "last": [cand[q][-1] for q in positions],
        "min": [min(cand[q], key=lambda x: x[1]) for q in positions],
    }
    measured = {k: float(np.mean([v for _, v in vals])) if vals else float("nan") for k, vals in picks.items()}
    # "all": every computation counted, duplicates included
    every = [v for q in positions for _, v in cand[q]]
    measured["all"] = float(np.mean(every)) if every else float("nan")
    # "summed": the slices of per-token NLL tensors the code summed (ACC events) into the reported total
    acc = reaching_sums(p.kinds("ACC"))
    summed = [float(v) for e in acc for v in e["nll"]]
    measured["summed"] = float(np.mean(summed)) if summed else float("nan")
    matches: list[str] = []
    reason = ""
    if force is not None:
        matches = [force]
    elif reported is None or reported.val_loss is None:
        reason = "the run printed no val_loss to compare the captured per-token scores with"
    else:
        tol = 0.5 * 10.0 ** -max(reported.loss_decimals, 0) + 1e-6 * abs(reported.val_loss)
        matches = [name for name in SELECTIONS if abs(measured[name] - reported.val_loss) <= tol]
        if "min" in matches and "first" not in matches and "last" not in matches:
            # the values summed are the per-position minimum over several scorings, not any one scorer's:
            # "min" names that oracle pick (oracle-selection), where "summed" would only restate the values
            matches.insert(0, "min")
        elif "summed" in matches:
            # the summed slices are the dataflow into the total: they say which computation reached it
            matches = ["summed"]
        if not matches:
            reason = (f"captured per-token scores (mean {measured['first']:.6f}) do not sum to the reported "
                      f"val_loss {reported.val_loss}; the reported values come from arithmetic outside "
                      "cross-entropy/NLL calls")
    built = [_summed(acc, per, lines, grad, measured) if name == "summed" else
             _picked(name, picks.get(name, picks["first"]), per, positions, lines, grad, measured)
             for name in dict.fromkeys(matches)]
    if not built:
        out = _picked(None, picks["first"], per, positions, lines, grad, measured)
        out.reason = reason
        return out
    main, others = built[0], built[1:]
    main.alternates = [o for o in others if o.positions.shape != main.positions.shape or
                       not np.array_equal(o.commit_event, main.commit_event)]
    return main


def _picked(selection: str | None, chosen: list[tuple[int, float]], per: dict[int, list[tuple[int, float]]],
            positions: np.ndarray, lines: dict[int, int], grad: dict[int, bool], measured: dict[str, float]) -> Scores:
    return Scores(
        selection=selection,
        positions=positions,
        nll=np.array([v for _, v in chosen], dtype=np.float64),
        commit_event=np.array([i for i, _ in chosen], dtype=np.int64),
        first_event=np.array([per[q][0][0] for q in positions], dtype=np.int64),
        first_nll=np.array([per[q][0][1] for q in positions], dtype=np.float64),
        counts=np.array([len(per[q]) for q in positions], dtype=np.int64),
        first_grad=np.array([grad[per[q][0][0]] for q in positions], dtype=bool),
        last_before=np.array([max(i for i, _ in per[q] if i <= c) for q, (c, _) in zip(positions, chosen)], dtype=np.int64),
        lines=lines,
        measured=measured,
        derived=np.zeros(positions.size, dtype=bool),
    )


def _summed(acc: list[dict], per: dict[int, list[tuple[int, float]]], lines: dict[int, int], grad: dict[int, bool],
            measured: dict[str, float]) -> Scores:
    """Scores committed by the summed slices: each position's first summed value and its count. The
    commit is the computation the value came from: the latest SCORE of that position before the sum with
    the same value (the latest before the sum when the value was derived; the sum itself for a lookup
    that no cross-entropy call computed)."""
    first: dict[int, tuple[int, float]] = {}
    counts: dict[int, int] = {}
    derived = {e["i"]: set(expand(e.get("derived", [])).tolist()) for e in acc}
    for e in acc:
        lines[e["i"]] = e["line"]
        for q, v in zip(e["pos"], e["nll"]):
            first.setdefault(int(q), (e["i"], float(v)))
            counts[int(q)] = counts.get(int(q), 0) + 1
    positions = np.array(sorted(first), dtype=np.int64)
    commit = np.array([_source(per.get(q, []), *first[q]) for q in positions], dtype=np.int64)
    return Scores(
        selection="summed",
        positions=positions,
        nll=np.array([first[q][1] for q in positions], dtype=np.float64),
        commit_event=commit,
        first_event=np.array([per[q][0][0] if q in per else first[q][0] for q in positions], dtype=np.int64),
        first_nll=np.array([per[q][0][1] if q in per else first[q][1] for q in positions], dtype=np.float64),
        counts=np.array([counts[q] for q in positions], dtype=np.int64),
        first_grad=np.array([grad.get(per[q][0][0], False) if q in per else False for q in positions], dtype=bool),
        last_before=np.array([max([i for i, _ in per.get(q, []) if i <= c] or [c]) for q, c in zip(positions, commit)],
                             dtype=np.int64),
        lines=lines,
        measured=measured,
        derived=np.array([q in derived[first[q][0]] for q in positions], dtype=bool),
    )


def _source(computations: list[tuple[int, float]], acc_event: int, value: float) -> int:
    earlier = [(i, v) for i, v in computations if i < acc_event]
    same = [i for i, v in earlier if abs(v - value) <= 1e-6 * max(1.0, abs(value))]
    if same:
        return same[-1]
    return earlier[-1][0] if earlier else acc_event
