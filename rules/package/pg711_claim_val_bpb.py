"""The val_bpb (or val_loss) claimed in submission.json is not the logged headline.

What it detects
    Per claimed seed, the claimed value against that seed's headline line; the top-level claim
    against the mean of the logged headlines of the claimed seeds (every distinct seed when none is
    listed). A difference beyond the claim's own rounding (half a unit in its last written decimal)
    plus ``Context.bpb_tolerance`` is FAIL; REVIEW when the claimed number is another final evaluation
    line of the same log (a different evaluator than the designated headline); INFO when the
    top-level claim is one seed's value rather than the mean.
Why it breaks the metric
    CLAIM-CONSISTENCY: the leaderboard ranks the claimed number; it must be the logged full-val
    metric of the submitted configuration, for every seed.
Example
    submission.json "val_bpb": 1.0790 while the logs' headlines average 1.0812
Legal alternative
    Copy the ``*_exact`` headline values from the logs; claim their mean over the submitted seeds.
How it is confirmed
    Package check (typed parsing of the headline line: TTT over sliding over round trip, the
    evaluator every seed prints); ``reproduce`` recomputes it on a GPU box.
Ruling
    Maintainer practice: cocohearts' audits of 2026-05-02 (ruling on PR #1981: an unsupported
    "correction" applied to the score).
Known gaps
    Numbers quoted only in README prose are not compared.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck
from auditor.package.submission import Claimed


class ClaimValBpb(PackageCheck):
    code = "PG711"; name = "claim-val-bpb"; rule_id = "CLAIM-CONSISTENCY"; family = "PACKAGE"
    status = Status.PRACTICE; level = Level.FAIL
    rulings = ("ruling on PR #1981",); ruling_url = "https://github.com/openai/parameter-golf/pull/1981"
    hint = "Claim the logged *_exact headline values and their mean."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        claim = f.claim
        if claim is None:
            return
        src = f.claim_rel or "submission.json"
        for metric in ("val_bpb", "val_loss"):
            cap = Level.FAIL if metric == "val_bpb" else Level.WARN
            for s, sc in claim.seeds.items():
                c: Claimed | None = getattr(sc, metric)
                runs = [r for r in f.distinct_runs if r.seed == s and f.headline(r) is not None]
                if c is None or not runs:
                    continue
                values = [getattr(f.headline(r), metric) for r in runs]
                if any(self._close(c, v, ctx) for v in values):
                    continue
                run = runs[0]
                head = f.headline(run)
                other = next((e for r in runs for e in r.log.evals if e.final and self._close(c, getattr(e, metric), ctx)), None)
                if other is not None:
                    yield self.finding(ctx, src, c.line, f"seed {s}: claimed {metric} {c.value} is the "
                                       f"{other.label} line, not the headline {head.label} ({getattr(head, metric)})",
                                       level=min(Level.REVIEW, cap), evidence=[f"{run.rel}:{other.line}: {other.text}",
                                                                     f"{run.rel}:{head.line}: {head.text}"])
                else:
                    yield self.finding(ctx, src, c.line, f"seed {s}: claimed {metric} {c.value} but the log's "
                                       f"headline is {getattr(head, metric)}", level=cap,
                                       evidence=[f"{src}:{c.line}: {c.key} {c.value}", f"{run.rel}:{head.line}: {head.text}"])
            yield from self._mean(ctx, metric, src, cap)

    def _mean(self, ctx: Context, metric: str, src: str, cap: Level) -> Iterator[Finding]:
        f = ctx.folder
        c: Claimed | None = getattr(f.claim, metric)
        runs = f.runs_for_claim()
        if c is None or not runs:
            return
        if f.claim.seeds and len(runs) < len(f.claim.seeds):
            return  # claimed seeds without logs: PG713 reports them; the mean cannot be recomputed
        values = [getattr(f.headline(r), metric) for r in runs]
        mean = statistics.fmean(values)
        if self._close(c, mean, ctx, slack=len(values)):
            return
        evidence = [f"{r.rel}:{f.headline(r).line}: {f.headline(r).text}" for r in runs[:5]]
        single = [r for r in runs if self._close(c, getattr(f.headline(r), metric), ctx)]
        if single:
            yield self.finding(ctx, src, c.line, f"claimed {metric} {c.value} is seed {single[0].seed}'s value, not the "
                               f"mean over the {len(values)} logged seeds ({mean:.8f})", level=Level.INFO,
                               evidence=evidence)
            return
        other = next((e for r in runs for e in r.log.evals if e.final and self._close(c, getattr(e, metric), ctx)), None)
        if other is not None:
            yield self.finding(ctx, src, c.line, f"claimed {metric} {c.value} is a {other.label} line, not the mean of "
                               f"the headline evaluator ({mean:.8f})", level=min(Level.REVIEW, cap), evidence=evidence)
            return
        yield self.finding(ctx, src, c.line, f"claimed {metric} {c.value} but the logged headlines of "
                           f"{len(values)} seed(s) average {mean:.8f}", evidence=evidence, level=cap,
                           data={"claimed": float(c.value), "logged_mean": mean})

    @staticmethod
    def _close(c: Claimed, logged: float, ctx: Context, slack: int = 1) -> bool:
        """Within the claim's rounding, plus the tolerance (per averaged value: logs print rounded)."""
        return abs(float(c.value) - logged) <= c.rounding + ctx.bpb_tolerance * slack + 1e-12
