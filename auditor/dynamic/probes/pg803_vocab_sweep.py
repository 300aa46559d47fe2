"""Vocabulary sweep: the reported scores form a normalized distribution over the whole alphabet.

What it measures
    At a sampled position t of the headline pass, the run is forked once per token id v of the
    tokenizer; each fork sets x_t := v and stops right after t's committing score. The reported
    per-token score of each fork gives q_t(v) = exp(-nll_t(v)).
How it decides
    FAIL when Σ_v q_t(v) differs from 1 by more than 1e-3 (hashed ratio caches, unnormalized blends or
    boosts, target-only arithmetic); PASS otherwise.
Why it matters
    C2-NORMALIZED (valerio-oai's closures of 2026-03-27; Issue #1017 condition 2); the #886 method
    (an implied cache distribution summing to about 277).
Outcomes
    INCONCLUSIVE when the scores do not reconcile with the report (the reported per-token values are
    then not the captured ones), or when any fork failed.
Known gaps
    One position per run is swept (the probe alphabet has 384 ids); a scorer that is normalized at
    that position but not elsewhere is missed.
"""

from __future__ import annotations

import numpy as np

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe
from auditor.findings import Finding, Level, Status

TOL = 1e-3


class VocabSweep(Probe):
    code = "PG803"
    name = "vocab-sweep"
    rule_id = "C2-NORMALIZED"
    family = "C2-NORMALIZED"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("closures of 2026-03-27 (#677)", "Issue #1017 condition 2", "PR #886 analysis")
    ruling_url = "https://github.com/openai/parameter-golf/issues/677"
    probes = ("vocab-sweep",)
    hint = "Score -log q(x_t) under a distribution over all V ids that sums to 1 (softmax or explicit Z)."

    def run(self, ctx: Context) -> list[Finding]:
        s = ctx.scores
        if s is None:
            return self.inconclusive(ctx, ctx.blocked or "the run reported no headline val_bpb")
        if not s.reconciled:
            return self.inconclusive(ctx, s.reason)
        f = ctx.forks
        if f is None or f.control is None:
            return self.inconclusive(ctx, f.reason if f else "the sweep forks did not run")
        if f.reason or f.problems:
            return self.inconclusive(ctx, f.reason or "; ".join(f.problems))
        sweep = {vid: v for vid, v in f.variants.items() if vid.startswith("sweep")}
        if not sweep:
            return self.inconclusive(ctx, "the vocabulary sweep was not run")
        probs = []
        t = None
        for vid, (edits, child) in sorted(sweep.items(), key=lambda kv: kv[1][0][0][1]):
            t, v = edits[0]
            value = child.at(np.array([t]))[0] if child is not None else np.nan
            if not np.isfinite(value):
                return self.inconclusive(ctx, f"sweep fork x_{t} := {v} produced no score at position {t}")
            probs.append(np.exp(-value))
        total = float(np.sum(probs))
        ev = int(f.control.commit_event[np.searchsorted(f.control.positions, t)]) if f.control.positions.size else -1
        line = f.control.lines.get(ev, ctx.headline_line())
        evidence = [f"Σ_v q_{t}(v) over {len(probs)} ids = {total:.6f}", f"largest q = {max(probs):.4g} at id {int(np.argmax(probs))}"]
        if abs(total - 1.0) > TOL:
            return [self.result(ctx, "FAIL", line, f"the implied distribution at position {t} sums to {total:.4f}, not 1",
                                evidence, data={"t": int(t), "sum": total})]
        return [self.result(ctx, "PASS", line, f"the implied distribution at position {t} sums to {total:.6f}", evidence,
                            data={"t": int(t), "sum": total})]
