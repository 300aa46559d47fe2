"""Flip test: changing the token at position t leaves every score before t unchanged.

What it measures
    The run is forked at the start of the headline pass; in each fork one val token x_t is replaced
    in memory (every live tensor or array holding it) and the headline pass runs on. The reported
    per-token scores at positions before t are compared with the unperturbed continuation (the
    parent of the forks), position by position.
How it decides
    FAIL when any score before t changed: the prediction at an earlier position depended on x_t
    (target-keyed caches, scored-region SLOT, adaptation on unscored tokens, two-pass state).
    PASS when no earlier score changed and the perturbed position's own score did.
    "Earlier" is in scoring order too: an earlier position whose reported score was computed after
    x_t's (documents sorted by length, phased TTT on already-scored documents — both legal in
    RULEBOOK §C3) may depend on x_t, which was scored by then.
Why it matters
    C1-CAUSAL (README "you can't cheat on your test loss"; ruling on PR #779; Issue #1017 condition 1);
    the method of the PR #1240 flip test.
Outcomes
    INCONCLUSIVE when the scores do not reconcile with the report, when no val tokens were found in
    memory, when a fork crashed or timed out, or when the perturbation did not reach the scorer.
Known gaps
    Two flip positions are tested; a leak confined to other positions can be missed. State built
    before the headline pass (training, export) is not re-run in the forks; the score-before-update
    probe covers updates made there.
"""

from __future__ import annotations

import numpy as np

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe, fmt_positions
from auditor.findings import Finding, Level, Status

TOL = 1e-6


class FlipTest(Probe):
    code = "PG802"
    name = "flip-test"
    rule_id = "C1-CAUSAL"
    family = "C1-CAUSAL"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #779", "Issue #1017 condition 1", "PR #1240 flip test")
    ruling_url = "https://github.com/openai/parameter-golf/pull/1240"
    probes = ("flip-test",)
    hint = "Make every quantity used to score x_t a function of x_<t only (keys, gates, weights, updates)."

    def run(self, ctx: Context) -> list[Finding]:
        why = self.scores_blocker(ctx)
        if why is None:
            why = self.forks_blocker(ctx, "flip")
        if why is not None:
            return self.inconclusive(ctx, why)
        f = ctx.forks
        ctrl = f.control
        tested = []
        for vid, (edits, child) in sorted(f.variants.items()):
            if not vid.startswith("flip"):
                continue
            t, v = edits[0]
            if child is None:
                return self.inconclusive(ctx, f"fork {vid} (x_{t} := {v}) crashed or timed out")
            common = np.intersect1d(ctrl.positions, child.positions)
            before = common[(common < t) & (ctrl.commit_at(common) <= ctrl.commit_at(np.array([t]))[0])]
            a, b = ctrl.at(before), child.at(before)
            changed = before[np.abs(a - b) > TOL + TOL * np.abs(a)]
            if changed.size:
                d = np.abs(ctrl.at(changed) - child.at(changed))
                ev = int(ctrl.commit_event[np.searchsorted(ctrl.positions, changed[0])])
                return [self.result(ctx, "FAIL", ctrl.lines.get(ev, ctx.headline_line()),
                                    f"changing x_{t} changed the scores of {changed.size} earlier positions",
                                    [f"x_{t}: {int(ctx.stream[t])} -> {v}; changed positions {fmt_positions(changed)}",
                                     f"largest change {d.max():.3g} nats at position {int(changed[d.argmax()])}",
                                     f"scored by SCORE event at line {ctrl.lines.get(ev)}"],
                                    data={"t": int(t), "changed": changed[:64].tolist()})]
            own = ctrl.at(np.array([t])), child.at(np.array([t]))
            if not np.isfinite(own[1][0]) or abs(own[0][0] - own[1][0]) <= TOL:
                return self.inconclusive(ctx, f"fork {vid}: the perturbation of x_{t} did not reach the scorer")
            tested.append(f"x_{t} := {v}: {before.size} earlier scores unchanged")
        if not tested:
            return self.inconclusive(ctx, "no flip variant ran")
        return [self.result(ctx, "PASS", ctx.headline_line(), "; ".join(tested), [f"fork problems: {f.problems}"] if f.problems else [])]
