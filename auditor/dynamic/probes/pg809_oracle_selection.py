"""Oracle selection: the realized token chooses how its own score is computed.

What it measures
    For each position of the headline pass, all captured cross-entropy / NLL values, and which
    per-position selection (first, last, minimum) reproduces the reported val_loss. At the swept
    position, chosen where a hint or cache changed the score after its lookup (it fired there), whether
    it still fires when the vocabulary sweep sets x_t to other ids.
How it decides
    FAIL when only the per-position *minimum* over several computations reconciles with the report:
    the ground truth chose which scorer counted (e.g. ``min(nll_model, nll_cache)``). FAIL when the
    score at the swept position was changed after its lookup for the realized x_t but is read unchanged
    off the model's row for another id: whether the hint fires depends on the scored token (a
    target-gated hint). PASS when the reported total is the first (or only) computation per position.
Why it matters
    C1-b (ruling on PR #659: oracle choice between scorers; the #677 closures of min-NLL passes; a hint
    emitted only when the realized token allows it).
Outcomes
    INCONCLUSIVE when no selection reconciles with the reported total.
Known gaps
    A minimum taken inside custom arithmetic (not over cross-entropy outputs) shows up as
    unreconciled scores, i.e. INCONCLUSIVE, not FAIL.
"""

from __future__ import annotations

import numpy as np

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe, fmt_positions
from auditor.findings import Finding, Level, Status


class OracleSelection(Probe):
    code = "PG809"
    name = "oracle-selection"
    rule_id = "C1-b"
    family = "C1-CAUSAL"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #659",)
    ruling_url = "https://github.com/openai/parameter-golf/pull/659"
    probes = ("oracle-selection",)
    hint = "Pick the scorer (or the mixing weight) from the prefix only, never from which scores lower."

    def run(self, ctx: Context) -> list[Finding]:
        why = self.scores_blocker(ctx)
        if why is not None:
            return self.inconclusive(ctx, why)
        s = ctx.scores
        multi = s.positions[s.counts > 1]
        if s.selection == "min" and multi.size:
            ev = int(s.commit_event[np.searchsorted(s.positions, multi[0])])
            return [self.result(ctx, "FAIL", s.lines.get(ev, ctx.headline_line()),
                                "the reported val_loss equals the per-position minimum over several scorings, "
                                "not any single scorer", [
                                    f"mean first={s.measured['first']:.6f} last={s.measured['last']:.6f} "
                                    f"min={s.measured['min']:.6f}; reported {ctx.reported.val_loss}",
                                    f"positions scored more than once {fmt_positions(multi)}"])]
        gated = self._gated_hint(ctx)
        if gated is not None:
            return [gated]
        return [self.result(ctx, "PASS", ctx.headline_line(), f"the reported total is the '{s.selection}' score per position")]

    def _gated_hint(self, ctx: Context) -> Finding | None:
        """The hint fired at the swept position t for the realized x_t, and not for some other x_t := v."""
        f, control = ctx.forks, ctx.forks.control if ctx.forks else None
        if f is None or control is None or not control.derived.any():
            return None
        plain: list[int] = []
        t = None
        for vid, (edits, child) in f.variants.items():
            if not vid.startswith("sweep") or child is None:
                continue
            t, v = int(edits[0][0]), int(edits[0][1])
            if not control.derived_at(t):
                return None  # nothing fired at the swept position in the unperturbed run
            if v != int(ctx.stream[t]) and child.derived_at(t) is False:
                plain.append(v)
        if t is None or not plain:
            return None
        return self.result(ctx, "FAIL", control.lines.get(int(control.commit_at(np.array([t]))[0]), ctx.headline_line()),
                           f"at position {t} the score is changed after its lookup for the realized token "
                           f"{int(ctx.stream[t])}, but read unchanged off the model's row when x_{t} is set to "
                           f"{len(plain)} other ids: whether the hint fires depends on the scored token",
                           [f"x_{t} := {v}: score read off the row, no hint" for v in plain[:4]], data={"t": t})

