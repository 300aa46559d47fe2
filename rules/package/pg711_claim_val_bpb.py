"""The val_bpb (or val_loss) claimed in submission.json is not the logged headline.

What it detects
    Per claimed seed, the claimed value against that seed's headline line; the top-level claim
    against the mean of the logged headlines of the claimed seeds (every distinct seed when none is
    listed). Before blaming a seed label, the claimed value is searched in every final evaluation line
    of every shipped log:
    - printed as the seed's headline, or within the claim's rounding (half a unit in its last written
      decimal) plus ``Context.bpb_tolerance``: consistent;
    - printed by another final evaluator of the seed's log: REVIEW (not the designated headline);
    - printed in another log (a seed label that points at the wrong log): WARN;
    - printed nowhere: FAIL, or REVIEW when every log it is compared with was produced by other code
      (their code size matches no shipped file: not backed by a log of the shipped code).
    A top-level claim equal to the mean of the per-seed claims, each found in a log, is consistent;
    one equal to a single seed's value rather than the mean is INFO. Each level names its rule version.
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
    Maintainer practice: cocohearts' audits of 2026-05-02 (ruling on PR #1981,
    https://github.com/openai/parameter-golf/pull/1981: an unsupported "correction" applied to the
    score).
Known gaps
    Numbers quoted only in README prose are not compared.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.levels import Evidence
from auditor.package.check import Context, PackageCheck
from auditor.package.folder import Run
from auditor.package.logs import EvalLine
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
            found_all = True
            for s, sc in claim.seeds.items():
                c: Claimed | None = getattr(sc, metric)
                runs = [r for r in f.distinct_runs if r.seed == s and f.headline(r) is not None]
                if c is None:
                    continue
                if not runs:
                    found_all = found_all and self._anywhere(ctx, c, metric) is not None
                    continue
                if any(self._close(c, getattr(f.headline(r), metric), ctx) for r in runs):
                    continue
                yield from self._seed(ctx, src, s, c, metric, runs, cap)
                found_all = found_all and self._anywhere(ctx, c, metric) is not None
            yield from self._mean(ctx, metric, src, cap, found_all)

    def _seed(self, ctx: Context, src: str, s: int, c: Claimed, metric: str, runs: list[Run],
              cap: Level) -> Iterator[Finding]:
        f = ctx.folder
        run = runs[0]
        head = f.headline(run)
        other = next(((r, e) for r in runs for e in r.log.evals if e.final and self._close(c, getattr(e, metric), ctx)),
                     None)
        if other is not None:
            r, e = other
            yield self.finding(ctx, src, c.line, f"seed {s}: claimed {metric} {c.value} is the {e.label} line, not "
                               f"the headline {head.label} ({getattr(head, metric)})", level=min(Level.REVIEW, cap),
                               evidence=[f"{r.rel}:{e.line}: {e.text}", f"{run.rel}:{head.line}: {head.text}"])
            return
        elsewhere = self._anywhere(ctx, c, metric)
        if elsewhere is not None:
            r, e = elsewhere
            yield self.finding(ctx, src, c.line, f"seed {s}: claimed {metric} {c.value} is printed by {r.rel} "
                               f"(seed {r.seed}), not by the log of seed {s} ({getattr(head, metric)}): a seed label "
                               "pointing at another log", level=min(Level.WARN, cap),
                               evidence=[f"{r.rel}:{e.line}: {e.text}", f"{run.rel}:{head.line}: {head.text}"])
            return
        foreign = not any(f.of_shipped_code(r) for r in runs)
        yield self.finding(ctx, src, c.line, f"seed {s}: claimed {metric} {c.value} but the log's headline is "
                           f"{getattr(head, metric)}, and no shipped log prints the claimed value"
                           + ("; that log was produced by other code (not backed by a log of the shipped code)"
                              if foreign else ""),
                           level=cap, evidence=[f"{src}:{c.line}: {c.key} {c.value}", f"{run.rel}:{head.line}: {head.text}"],
                           case=self._case(cap, foreign), strength=Evidence.INSUFFICIENT if foreign else Evidence.STRONG)

    def _mean(self, ctx: Context, metric: str, src: str, cap: Level, per_seed_found: bool) -> Iterator[Finding]:
        f = ctx.folder
        c: Claimed | None = getattr(f.claim, metric)
        runs = f.runs_for_claim()
        if c is None or not runs:
            return
        per_seed = [getattr(sc, metric) for sc in f.claim.seeds.values()]
        if per_seed and None not in per_seed and per_seed_found and \
                self._close(c, statistics.fmean(float(x.value) for x in per_seed), ctx, slack=len(per_seed)):
            return  # the mean of per-seed claims, each printed by some shipped log
        if f.claim.seeds and len(runs) < len(f.claim.seeds):
            return  # claimed seeds without logs: PG713 reports them; the mean cannot be recomputed
        values = [getattr(f.headline(r), metric) for r in runs]
        mean = statistics.fmean(values)
        if self._close(c, mean, ctx, slack=len(values)):
            return
        every = [getattr(h, metric) for r in f.distinct_runs if (h := f.headline(r)) is not None]
        if not f.claim.seeds and len(every) > len(values) and self._close(c, statistics.fmean(every), ctx, slack=len(every)):
            return  # the mean over every run, several of one seed (runs are counted, not seed values)
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
        elsewhere = self._anywhere(ctx, c, metric)
        if elsewhere is not None:
            r, e = elsewhere
            yield self.finding(ctx, src, c.line, f"claimed {metric} {c.value} is printed by {r.rel}:{e.line}, not the "
                               f"mean of the claimed seeds' headlines ({mean:.8f})", level=min(Level.WARN, cap),
                               evidence=[f"{r.rel}:{e.line}: {e.text}", *evidence])
            return
        foreign = not any(f.of_shipped_code(r) for r in runs)
        yield self.finding(ctx, src, c.line, f"claimed {metric} {c.value} but the logged headlines of "
                           f"{len(values)} seed(s) average {mean:.8f}"
                           + ("; those logs were produced by other code (not backed by a log of the shipped code)"
                              if foreign else ""), evidence=evidence, level=cap,
                           data={"claimed": float(c.value), "logged_mean": mean}, case=self._case(cap, foreign),
                           strength=Evidence.INSUFFICIENT if foreign else Evidence.STRONG)

    def _anywhere(self, ctx: Context, c: Claimed, metric: str) -> tuple[Run, EvalLine] | None:
        """The first final evaluation line of any shipped log printing the claimed value."""
        for r in ctx.folder.distinct_runs:
            for e in r.log.evals:
                # the same number as written (its own rounding only): a looser tolerance, such as a
                # reproduction's, would match a neighbouring seed's value
                if e.final and abs(float(c.value) - getattr(e, metric)) <= c.rounding + 1e-9:
                    return r, e
        return None

    @staticmethod
    def _case(cap: Level, foreign: bool) -> str | None:
        if cap is not Level.FAIL:
            return None  # a val_loss mismatch is WARN whatever the date
        return "claim-from-foreign-log" if foreign else "contradiction"

    @staticmethod
    def _close(c: Claimed, logged: float, ctx: Context, slack: int = 1) -> bool:
        """Within the claim's rounding, plus the tolerance (per averaged value: logs print rounded)."""
        return abs(float(c.value) - logged) <= c.rounding + ctx.bpb_tolerance * slack + 1e-12
