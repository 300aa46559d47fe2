"""Vocabulary sweep: the reported scores form a normalized distribution over the whole alphabet.

What it measures
    At a sampled position t of the headline pass, the run is forked once per candidate id v; each
    fork sets x_t := v and stops right after t's committing score, giving the reported
    q_t(v) = exp(-nll_t(v)). The unperturbed run records the full row its scoring call normalized
    over at t (log-softmax of the cross-entropy input, or the raw NLL input).
How it decides
    Full sweep (every id of the probe alphabet): FAIL when Σ_v q_t(v) differs from 1 by more than
    1e-3. Sampled sweep (the default, 16 ids plus the true one): FAIL when the row itself does not sum to 1, or when a
    candidate's reported score differs from the row's mass at that candidate — the score of v was not
    read off one fixed distribution (target-only boosts or biases, target-keyed ratios). PASS otherwise.
Why it matters
    C2-NORMALIZED (valerio-oai's closures of 2026-03-27; Issue #1017 condition 2); the #886 method
    (an implied cache distribution summing to about 277).
Outcomes
    INCONCLUSIVE when the scores do not reconcile with the report (the reported per-token values are
    then not the captured ones), or when any fork failed.
Known gaps
    One position per run is swept; a scorer normalized there but not elsewhere is missed. The sampled
    sweep proves normalization only for scores read from a captured row (cross-entropy / NLL calls).
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
        why = self.scores_blocker(ctx)
        if why is None:
            why = self.forks_blocker(ctx, "sweep")
        if why is not None:
            return self.inconclusive(ctx, why)
        f = ctx.forks
        sweep = {vid: v for vid, v in f.variants.items() if vid.startswith("sweep")}
        if not sweep:
            return self.inconclusive(ctx, "the vocabulary sweep was not run")
        scores: dict[int, float] = {}
        t = None
        for vid, (edits, child) in sweep.items():
            t, v = edits[0]
            value = child.at(np.array([t]))[0] if child is not None else np.nan
            if not np.isfinite(value):
                return self.inconclusive(ctx, f"sweep fork x_{t} := {v} produced no score at position {t}")
            scores[int(v)] = float(value)
        ev = int(f.control.commit_event[np.searchsorted(f.control.positions, t)]) if f.control.positions.size else -1
        line = f.control.lines.get(ev, ctx.headline_line())
        data = {"t": int(t), "candidates": len(scores)}
        if len(scores) >= ctx.data.vocab_size:
            total = float(sum(np.exp(-s) for s in scores.values()))
            evidence = [f"Σ_v q_{t}(v) over all {len(scores)} ids = {total:.6f}"]
            return self._decide(ctx, line, abs(total - 1.0) > TOL, f"the implied distribution at position {t} sums to "
                                f"{total:.6f}", evidence, {**data, "sum": total})
        row = f.rows.get(int(t))
        if row is None:
            return self.inconclusive(ctx, f"the scoring call at position {t} exposed no row to compare with")
        row = np.asarray(row)
        total = float(np.exp(row).sum())
        gaps = {v: s - (-row[v]) for v, s in scores.items() if v < row.size}
        worst = max(gaps, key=lambda v: abs(gaps[v]))
        implied = float(sum(np.exp(-s) for s in scores.values()))
        evidence = [f"row at position {t} (width {row.size}) sums to {total:.6f}",
                    f"{len(scores)} candidate ids: reported score minus row score, worst {gaps[worst]:+.4g} nats at id {worst}",
                    f"Σ over the sampled candidates of exp(-score) = {implied:.4f} (row mass of the same ids "
                    f"{float(np.exp(row[list(gaps)]).sum()):.4f})"]
        bad = abs(total - 1.0) > TOL or any(abs(g) > 1e-4 for g in gaps.values())
        return self._decide(ctx, line, bad, f"scores at position {t} are read off one distribution summing to {total:.6f}"
                            if not bad else f"scores at position {t} are not read off one fixed normalized distribution: "
                            f"q_t depends on x_t or does not sum to 1 (row sum {total:.4f}, worst gap {gaps[worst]:+.3g} nats)", evidence, data)

    def _decide(self, ctx: Context, line: int, bad: bool, message: str, evidence: list[str], data: dict) -> list[Finding]:
        return [self.result(ctx, "FAIL" if bad else "PASS", line, message, evidence, data=data)]
