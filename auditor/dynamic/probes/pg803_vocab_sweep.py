"""Vocabulary sweep: the reported scores form a normalized distribution over the whole alphabet.

What it measures
    At a sampled position t of the headline pass, the run is forked once per candidate id v; each
    fork sets x_t := v and stops right after t's committing score, giving the reported
    q_t(v) = exp(-nll_t(v)). The unperturbed run records the full row its scoring call normalized
    over at t (log-softmax of the cross-entropy input, or the raw NLL input).
How it decides
    Full sweep (every id of the probe alphabet): FAIL when Σ_v q_t(v) differs from 1 by more than
    1e-3. Any sweep: FAIL when the sampled candidates alone carry more than 1 + 1e-3, and so does each
    flip position (the flip forks score a second candidate there, beside the true one): no distribution
    over the alphabet holds them (hashed ratios pushed towards 1 by collisions). Sampled sweep (the
    default, 16 ids plus the true one): FAIL when the row itself does not sum to 1, or when a
    candidate's reported score differs from the row's mass at that candidate — the score of v was not
    read off one fixed distribution (target-only boosts or biases, target-keyed ratios). PASS otherwise,
    unless some reported scores were computed by arithmetic after their lookup in a row (a cache or a
    mixture on top of the model's distribution, in torch or numpy): no captured row is their
    distribution, so a sampled sweep cannot show they are normalized (INCONCLUSIVE).
Why it matters
    C2-NORMALIZED (valerio-oai's closures of 2026-03-27; Issue #1017 condition 2); the #886 method
    (an implied cache distribution summing to about 277).
Outcomes
    INCONCLUSIVE when the scores do not reconcile with the report (the reported per-token values are
    then not the captured ones), when any fork failed, or when the sampled sweep meets scores derived
    after their lookup whose sampled mass stays within 1.
    The swept position is three quarters into the pass when scores are mixed after their lookup, so a
    cache built during the pass is warm there (``warm`` in the result); hashed tables are shrunk to the
    scored run's tokens per bucket (``loadfactor``), so they collide as they did at full scale.
Known gaps
    One position per run is swept; a scorer normalized there but not elsewhere is missed. The sampled
    sweep proves normalization only for scores read from a captured row (cross-entropy / NLL calls, a
    gather or numpy lookup of the target in a probability or log-probability row). A table sized by a
    computed value (not a power-of-two literal or setting) keeps its size and may not collide.
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
        line = self._line(ctx, t)
        control = ctx.forks.control
        # warm: t's score was committed after the pass's first scores, so caches built in the pass hold data
        warm = bool(control is not None and control.commit_event.size and
                    np.nanmin(control.commit_at(np.array([t]))) > control.commit_event.min())
        data = {"t": int(t), "candidates": len(scores), "warm": warm}
        implied = float(sum(np.exp(-s) for s in scores.values()))
        if len(scores) >= ctx.data.vocab_size:
            evidence = [f"Σ_v q_{t}(v) over all {len(scores)} ids = {implied:.6f}"]
            return self._decide(ctx, line, abs(implied - 1.0) > TOL, f"the implied distribution at position {t} sums to "
                                f"{implied:.6f}", evidence, {**data, "sum": implied})
        derived = ctx.scores.derived if ctx.scores is not None else np.zeros(0, dtype=bool)
        row = f.rows.get(int(t))
        total, evidence = float("nan"), []
        if row is not None:
            row = np.asarray(row)
            total = float(np.exp(row).sum())
            gaps = {v: s - (-row[v]) for v, s in scores.items() if v < row.size}
            worst = max(gaps, key=lambda v: abs(gaps[v]))
            evidence = [f"row at position {t} (width {row.size}) sums to {total:.6f}",
                        f"{len(scores)} candidate ids: reported score minus row score, worst {gaps[worst]:+.4g} nats at id {worst}",
                        f"Σ over the sampled candidates of exp(-score) = {implied:.4f} (row mass of the same ids "
                        f"{float(np.exp(row[list(gaps)]).sum()):.4f})"]
            if abs(total - 1.0) > TOL or any(abs(g) > 1e-4 for g in gaps.values()):
                return self._decide(ctx, line, True, f"scores at position {t} are not read off one fixed normalized "
                                    f"distribution: q_t depends on x_t or does not sum to 1 (row sum {total:.4f}, worst gap "
                                    f"{gaps[worst]:+.3g} nats)", evidence, data)
        over = self._masses(ctx, t, scores, implied)
        u, ids, mass = max(over, key=lambda m: m[2])
        if mass > 1.0 + TOL:
            return self._decide(ctx, self._line(ctx, u), True, f"{len(ids)} candidate ids at position {u} alone carry "
                                f"probability {mass:.4f} > 1: the scores are not read off a distribution over the alphabet",
                                [f"Σ exp(-score) at position {p} over ids {_ids(c)} = {m:.6f}" for p, c, m in over],
                                {**data, "t": u, "mass": mass})
        if derived.any():  # a row-read position speaks for none of the derived ones
            lead = f"at position {t} the score is read off a row summing to {total:.6f}, but " if row is not None else ""
            return self.inconclusive(ctx, lead + self._derived_reason(derived, t, implied), line)
        if row is None:
            return self.inconclusive(ctx, f"the scoring call at position {t} exposed no row to compare with")
        return self._decide(ctx, line, False, f"scores at position {t} are read off one distribution summing to {total:.6f}",
                            evidence, data)

    @staticmethod
    def _line(ctx: Context, t: int) -> int:
        c = ctx.forks.control
        i = int(np.searchsorted(c.positions, t)) if c.positions.size else 0
        ev = int(c.commit_event[i]) if i < c.positions.size and c.positions[i] == t else -1
        return c.lines.get(ev, ctx.headline_line())

    @staticmethod
    def _masses(ctx: Context, t: int, scores: dict[int, float], implied: float) -> list[tuple[int, list[int], float]]:
        """Probability mass of the candidates scored at one position: the sweep's at t, and at each flip
        position the true id's (control) plus the flipped-in id's (fork). One distribution holds at most 1."""
        out = [(int(t), sorted(scores), implied)]
        for vid, (edits, child) in ctx.forks.variants.items():
            if not vid.startswith("flip") or child is None:
                continue
            u, v = edits[0]
            a, b = ctx.forks.control.at(np.array([u]))[0], child.at(np.array([u]))[0]
            if np.isfinite(a) and np.isfinite(b):
                out.append((int(u), sorted({int(ctx.stream[u]), int(v)}), float(np.exp(-a) + np.exp(-b))))
        return out

    @staticmethod
    def _derived_reason(derived: np.ndarray, t: int, implied: float) -> str:
        return (f"{int(derived.sum())} of {derived.size} reported scores are computed by arithmetic after their lookup in "
                f"a row (a cache or mixture on top of the model's distribution): no captured row is their distribution, "
                f"and the sampled candidates at position {t} carry {implied:.4f} ≤ 1; the full sweep (sweep='full') "
                f"measures Σ_v q_t(v)")

    def _decide(self, ctx: Context, line: int, bad: bool, message: str, evidence: list[str], data: dict) -> list[Finding]:
        return [self.result(ctx, "FAIL" if bad else "PASS", line, message, evidence, data=data)]


def _ids(ids: list[int], limit: int = 8) -> str:
    return "[" + ", ".join(map(str, ids[:limit])) + (", …]" if len(ids) > limit else "]")
