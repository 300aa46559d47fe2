"""Training, including every later step that reads training data, ran past 600 seconds.

What it detects
    Per train log: the training time (``stopping_early: wallclock_cap train_time:Nms``, else the last
    step line's ``train_time``) plus Hessian collection on training data after the loop
    (``GPTQ:collected N Hessians in Ns``, ``gptq:calibrated N layers in Ns``), against 600,000 ms. The
    reference timer checks the cap after each step, so the last step may end up to
    ``LAST_STEP_SLACK_MS`` past it; that overshoot alone is reported as INFO. Per-seed training times
    claimed in ``submission.json`` are checked too. Self-generated calibration after the cap (no
    training data) is reported as WARN.
Why it breaks the metric
    TIME-TRAIN: training and everything that reads training data or fits the model to data must
    finish within 600 s on 8×H100 SXM; more time buys a better model outside the budget.
Example
    stopping_early: wallclock_cap train_time:599600ms step:4900/20000
    GPTQ:collected 67 Hessians in 3.5s        <- 603.1 s of training-data work
Legal alternative
    Reserve the calibration time inside the cap (``GPTQ_RESERVE_SECONDS``) so loop + Hessians ≤ 600 s;
    data-free packaging (quantization from cached Hessians, compression) may follow.
How it is confirmed
    Package check on the logs; the dynamic ``data-access`` probe shows train-shard reads after the loop.
Ruling
    README rule; valerio-oai's rulings that calibration belongs inside the 600 s (ruling on PR #609).
    The non-record track has no training limit (INFO).
Known gaps
    Work after the loop that reads training data without printing its time is invisible here (the
    dynamic probe sees the reads). Logs report minutes with one decimal in one dialect.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck, scope
from auditor.package.limits import TRAIN_BUDGET_MS

#: how far past the cap the last step may end (the reference checks the cap after each step)
LAST_STEP_SLACK_MS = 1_000


class TrainOverTime(PackageCheck):
    code = "PG621"; name = "train-over-time"; rule_id = "TIME-TRAIN"; family = "BUDGET"
    status = Status.RULING; level = Level.FAIL
    rulings = ("README", "ruling on PR #609"); ruling_url = "https://github.com/openai/parameter-golf/pull/609"
    probes = ("data-access",)
    hint = "Stop the loop early enough that training plus calibration on training data fits in 600 s."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        for run in f.distinct_runs:
            log = run.log
            if log.train is None:
                continue
            level, suffix = scope(f, run, self.level)
            train_ms = log.train.value
            hess_ms = log.hessians_s.value * 1000 if log.hessians_s else 0.0
            total = train_ms + hess_ms
            line = log.hessians_s.line if hess_ms and total > TRAIN_BUDGET_MS else log.train.line
            what = (f"training {train_ms / 1000:.1f} s + Hessian collection on training data {hess_ms / 1000:.1f} s"
                    if hess_ms else f"training {train_ms / 1000:.1f} s")
            data = {"train_ms": train_ms, "hessians_ms": hess_ms, "seed": run.seed}
            if total > TRAIN_BUDGET_MS + LAST_STEP_SLACK_MS:
                yield self.finding(ctx, run.rel, line, f"seed {run.seed}: {what} = {total / 1000:.1f} s, over the "
                                   f"600 s training budget{suffix}", level=level, data=data)
            elif total > TRAIN_BUDGET_MS:
                yield self.finding(ctx, run.rel, line, f"seed {run.seed}: {what} = {total / 1000:.3f} s; the last "
                                   "step ended just past the cap (the timer checks after each step)",
                                   level=Level.INFO, data=data)
            if log.selfgen_s and f.record_track and f.backs_claim(run):
                yield self.finding(ctx, run.rel, log.selfgen_s.line,
                                   f"seed {run.seed}: calibration data self-generated after the cap "
                                   f"({log.selfgen_s.value:.1f} s, no training data; tolerated in a merged record)",
                                   level=Level.WARN, data=data)
        claim = f.claim
        if claim is None or not f.record_track:
            return
        for s, sc in claim.seeds.items():
            if sc.train_ms is not None and sc.train_ms.value > TRAIN_BUDGET_MS + LAST_STEP_SLACK_MS:
                yield self.finding(ctx, f.claim_rel or "submission.json", sc.train_ms.line,
                                   f"seed {s}: submission.json claims {sc.train_ms.value / 1000:.1f} s of training")
