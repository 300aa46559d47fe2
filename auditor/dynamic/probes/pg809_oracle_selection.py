"""Oracle selection: the reported per-token score is the minimum over alternative computations.

What it measures
    For each position of the headline pass, all captured cross-entropy / NLL values, and which
    per-position selection (first, last, minimum) reproduces the reported val_loss.
How it decides
    FAIL when only the per-position *minimum* over several computations reconciles with the report:
    the ground truth chose which scorer counted (e.g. ``min(nll_model, nll_cache)``).
    PASS when the reported total is the first (or only) computation per position.
Why it matters
    C1-b (ruling on PR #659: oracle choice between scorers; the #677 closures of min-NLL passes).
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
        return [self.result(ctx, "PASS", ctx.headline_line(), f"the reported total is the '{s.selection}' score per position")]
