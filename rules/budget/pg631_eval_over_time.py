"""Evaluation for the headline score ran past 600 seconds.

What it detects
    Per train log: the headline evaluator's own time (its ``eval_time:Nms``, or its timed twin line),
    the script's ``total_eval_time:Ns`` when it prints one, and the sum of every timed scoring phase
    after training. FAIL when the headline phase or the logged total exceeds 600,000 ms; REVIEW when
    only the sum of all phases does (which phases the headline needs cannot be told from the log).
    Per-seed evaluation times claimed in ``submission.json`` are checked too.
Why it breaks the metric
    TIME-EVAL: evaluation has its own 600 s budget on 8×H100, covering every phase the headline needs
    (round trip, sliding window, TTT, n-gram or hint precompute).
Example
    legal_ttt val_loss:1.8900 val_bpb:1.1190 eval_time:616000ms     <- 616 s
Legal alternative
    Fewer TTT epochs or chunks, a larger stride, or a faster kernel, so the headline's phases fit.
How it is confirmed
    Package check on the logs; ``reproduce`` re-times the run.
Ruling
    README rule; valerio-oai rejected a 616 s evaluation (ruling on PR #529); cocohearts summed the
    eval phases in a 2026-05-02 audit (ruling on PR #1972). Compile warm-up on random tokens and
    artifact decompression are excluded (tolerated). The non-record track is exempt (INFO).
Known gaps
    Phases that print no time are not summed; precompute outside the timer is only visible to the
    static stage.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck, scope
from auditor.package.limits import EVAL_BUDGET_MS


class EvalOverTime(PackageCheck):
    code = "PG631"; name = "eval-over-time"; rule_id = "TIME-EVAL"; family = "BUDGET"
    status = Status.RULING; level = Level.FAIL
    rulings = ("README", "ruling on PR #529", "ruling on PR #1972")
    ruling_url = "https://github.com/openai/parameter-golf/pull/529"
    hint = "Make the headline's evaluation phases fit in 600 s on 8×H100."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        for run in f.distinct_runs:
            log, head = run.log, f.headline(run)
            fail, suffix = scope(f, run, self.level)
            phases: dict[tuple[str, float], float] = {}
            for e in log.scoring_phases_ms():
                if e.kind != "diagnostic":  # diagnostics are reported, not summed (RULEBOOK TIME-EVAL)
                    phases[(e.kind, round(e.val_bpb, 4))] = e.eval_ms or 0.0  # _exact twins share a time
            phase_sum = sum(phases.values())
            head_ms = None
            if head is not None:
                head_ms = head.eval_ms if head.eval_ms is not None else next(
                    (ms for (k, v), ms in phases.items() if k == head.kind and abs(v - head.val_bpb) < 5e-5), None)
            data = {"headline_eval_ms": head_ms, "phases_sum_ms": phase_sum, "seed": run.seed,
                    "total_eval_ms": log.total_eval_s.value * 1000 if log.total_eval_s else None}
            if head is not None and head_ms is not None and head_ms > EVAL_BUDGET_MS:
                yield self.finding(ctx, run.rel, head.line, f"seed {run.seed}: the headline evaluation "
                                   f"({head.label}) took {head_ms / 1000:.1f} s, over the 600 s budget{suffix}",
                                   level=fail, data=data)
            elif log.total_eval_s and log.total_eval_s.value * 1000 > EVAL_BUDGET_MS:
                yield self.finding(ctx, run.rel, log.total_eval_s.line, f"seed {run.seed}: total evaluation time "
                                   f"{log.total_eval_s.value:.1f} s is over the 600 s budget{suffix}",
                                   level=fail, data=data)
            elif phase_sum > EVAL_BUDGET_MS:
                last = [e for e in log.scoring_phases_ms() if e.kind != "diagnostic"][-1]
                yield self.finding(ctx, run.rel, last.line, f"seed {run.seed}: scoring phases after training sum to "
                                   f"{phase_sum / 1000:.1f} s (headline phase {((head_ms or 0) / 1000):.1f} s); "
                                   f"check which phases the headline needs{suffix}",
                                   level=min(fail, Level.REVIEW), data=data)
        claim = f.claim
        if claim is None or not f.record_track:
            return
        for s, sc in claim.seeds.items():
            if sc.eval_ms is not None and sc.eval_ms.value > EVAL_BUDGET_MS:
                yield self.finding(ctx, f.claim_rel or "submission.json", sc.eval_ms.line,
                                   f"seed {s}: submission.json claims {sc.eval_ms.value / 1000:.1f} s of evaluation")
