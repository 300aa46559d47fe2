"""Training, including every later step that reads training data, ran past 600 seconds.

What it detects
    Per train log: the training loop's time (``stopping_early: wallclock_cap train_time:Nms``, else
    the last step line's ``train_time``) plus Hessian collection on training data after the loop
    (``GPTQ:collected N Hessians in Ns``, ``gptq:calibrated N layers in Ns``), against 600,000 ms.
    - The loop itself more than one step past 600,000 ms: FAIL. Up to one step past is the reference
      timer's own overshoot (it checks the cap after each step): INFO.
    - Calibration on training data after the cap ending within about 607 s in total: REVIEW, naming
      the overshoot in seconds — the March rulings forbid it, while the final leaderboard's top rows
      all did it and finished at 603.0 to 606.6 s. Beyond about 607 s: FAIL.
    - When the folder (or a companion folder supplying its runs) also ships a compliant re-run of
      the same configuration and seed (a larger reserve that fits), the overshooting run is INFO.
    Per-seed training times claimed in ``submission.json`` are checked too. Self-generated
    calibration after the cap (no training data) is WARN. Every level names its rule version.
Why it breaks the metric
    TIME-TRAIN: training and everything that reads training data or fits the model to data must
    finish within 600 s on 8×H100 SXM; more time buys a better model outside the budget.
Example
    stopping_early: wallclock_cap train_time:599600ms step:4900/20000
    GPTQ:collected 67 Hessians in 3.5s        <- 603.1 s of training-data work: REVIEW (3.1 s over)
Legal alternative
    Reserve the calibration time inside the cap (``GPTQ_RESERVE_SECONDS``) so loop + Hessians ≤ 600 s;
    data-free packaging (quantization from cached Hessians, compression) may follow.
How it is confirmed
    Package check on the logs; the dynamic ``data-access`` probe shows train-shard reads after the loop.
Ruling
    README rule; valerio-oai's ruling on PR #609 (https://github.com/openai/parameter-golf/pull/609):
    calibration belongs inside the 600 s. Final leaderboard practice (PR #2146,
    https://github.com/openai/parameter-golf/pull/2146, and the compliance re-runs cited on PR #1902,
    https://github.com/openai/parameter-golf/pull/1902): overshoots up to about 607 s stayed on the
    leaderboard. The non-record track has no training limit (INFO).
Known gaps
    Work after the loop that reads training data without printing its time is invisible here (the
    dynamic probe sees the reads). Logs report minutes with one decimal in one dialect. Whether a
    re-run used the same configuration is assumed from its being shipped beside the original.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck, scope
from auditor.package.folder import RecordFolder, Run
from auditor.package.limits import TRAIN_BUDGET_MS

#: how far past the cap the last step may end when a log gives no step time (the reference checks
#: the cap after each step)
LAST_STEP_SLACK_MS = 1_000
#: the largest total of training plus calibration on training data the final leaderboard accepted
ACCEPTED_OVERSHOOT_TOTAL_MS = 607_000


def step_ms(run: Run) -> float:
    """How far past the cap the loop may stop: one training step (the logged ``step_avg``, else train
    time / steps), and at least ``LAST_STEP_SLACK_MS`` — the reference timer syncs only at intervals,
    so merged logs of the unmodified loop stop 40 to 130 ms past 600,000 ms with 44 to 87 ms steps."""
    log = run.log
    if log.step_avg_ms is not None:
        step = log.step_avg_ms.value
    elif log.train is not None and log.steps:
        step = log.train.value / log.steps
    else:
        step = 0.0
    return max(step, LAST_STEP_SLACK_MS)


def timing(run: Run) -> tuple[float, float, float] | None:
    """(loop ms, Hessian-collection ms, total ms) of a run, or None when the log has no train time."""
    log = run.log
    if log.train is None:
        return None
    hess = log.hessians_s.value * 1000 if log.hessians_s else 0.0
    return log.train.value, hess, log.train.value + hess


def fits(run: Run) -> bool:
    t = timing(run)
    return t is not None and t[0] <= TRAIN_BUDGET_MS + step_ms(run) and (t[1] == 0 or t[2] <= TRAIN_BUDGET_MS)


class TrainOverTime(PackageCheck):
    code = "PG621"; name = "train-over-time"; rule_id = "TIME-TRAIN"; family = "BUDGET"
    status = Status.RULING; level = Level.FAIL
    rulings = ("README", "ruling on PR #609", "final leaderboard practice (PR #2146)")
    ruling_url = "https://github.com/openai/parameter-golf/pull/609"
    probes = ("data-access",)
    hint = "Stop the loop early enough that training plus calibration on training data fits in 600 s."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        for run in f.distinct_runs:
            t = timing(run)
            if t is None:
                continue
            yield from self._run(ctx, f, run, t, self._compliant_rerun(f, run))
        claim = f.claim
        if claim is None or not f.record_track:
            return
        for s, sc in claim.seeds.items():
            if sc.train_ms is not None and sc.train_ms.value > TRAIN_BUDGET_MS + LAST_STEP_SLACK_MS:
                yield self.finding(ctx, f.claim_rel or "submission.json", sc.train_ms.line,
                                   f"seed {s}: submission.json claims {sc.train_ms.value / 1000:.1f} s of training")

    def _run(self, ctx: Context, f: RecordFolder, run: Run, t: tuple[float, float, float],
             rerun: str | None) -> Iterator[Finding]:
        log = run.log
        train_ms, hess_ms, total = t
        level, suffix = scope(f, run, self.level)
        full = level is self.level  # a record-track run the claim rests on: the dated level applies
        step = step_ms(run)
        data = {"train_ms": train_ms, "hessians_ms": hess_ms, "seed": run.seed, "step_ms": step}
        loop = f"training loop {train_ms / 1000:.1f} s"
        if train_ms > TRAIN_BUDGET_MS + step:
            yield self.finding(ctx, run.rel, log.train.line, f"seed {run.seed}: {loop}, more than one step "
                               f"({step:.0f} ms) past the 600 s training budget{suffix}", level=level, data=data,
                               case="train-loop-over" if full else None)
        elif hess_ms and total > TRAIN_BUDGET_MS:
            over = (total - TRAIN_BUDGET_MS) / 1000
            what = (f"seed {run.seed}: {loop} + Hessian collection on training data {hess_ms / 1000:.1f} s = "
                    f"{total / 1000:.1f} s, {over:.1f} s past the 600 s cap")
            evidence = [f"{run.rel}:{log.train.line}: {log.lines[log.train.line - 1].strip()}",
                        f"{run.rel}:{log.hessians_s.line}: {log.lines[log.hessians_s.line - 1].strip()}"]
            if rerun is not None and full:
                yield self.finding(ctx, run.rel, log.hessians_s.line, f"{what}; a compliant re-run of the same "
                                   f"configuration ships: {rerun}", evidence=evidence, data=data,
                                   case="compliant-rerun-ships")
            elif total <= ACCEPTED_OVERSHOOT_TOTAL_MS:
                yield self.finding(ctx, run.rel, log.hessians_s.line, f"{what}: the March rulings (PR #609) forbid "
                                   "training data after the cap, while the final leaderboard (PR #2146) kept rows "
                                   f"finishing at up to 606.6 s{suffix}", evidence=evidence, data=data,
                                   level=min(level, Level.REVIEW), case="calibration-after-cap" if full else None)
            else:
                yield self.finding(ctx, run.rel, log.hessians_s.line, f"{what}, beyond the ~607 s the final "
                                   f"leaderboard accepted{suffix}", evidence=evidence, data=data, level=level,
                                   case="calibration-beyond-tolerance" if full else None)
        elif train_ms > TRAIN_BUDGET_MS:
            yield self.finding(ctx, run.rel, log.train.line, f"seed {run.seed}: {loop}; the last step ended "
                               "within one step past the cap (the timer checks after each step)",
                               level=Level.INFO, data=data)
        if log.selfgen_s and f.record_track and f.backs_claim(run):
            yield self.finding(ctx, run.rel, log.selfgen_s.line,
                               f"seed {run.seed}: calibration data self-generated after the cap "
                               f"({log.selfgen_s.value:.1f} s, no training data; tolerated in a merged record)",
                               level=Level.WARN, data=data)

    @staticmethod
    def _compliant_rerun(f: RecordFolder, run: Run) -> str | None:
        """A shipped re-run of ``run`` (same seed, in this folder or a companion supplying its runs)
        whose loop and calibration fit in 600 s: a "compliance re-run" with a larger reserve."""
        for src, prefix in [(f, ""), *((c, f"../{c.path.name}/") for c, _ in f.companions)]:
            for r in src.distinct_runs:
                if r is run or r.seed != run.seed or not (r.log.hessians_s and fits(r)) or src.headline(r) is None:
                    continue
                t = timing(r)
                assert t is not None
                return f"{prefix}{r.rel} ({t[2] / 1000:.1f} s with calibration)"
        return None
