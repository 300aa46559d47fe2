"""A record-track run without 8×H100 SXM evidence.

What it detects
    Per train log: ``world_size`` (the dump or ``world_size:N grad_accum_steps:M``) and GPU names from
    ``nvidia-smi`` dumps. On the record track a world size other than 8 is FAIL (a projection from
    other hardware), GPUs named other than H100 are REVIEW (e.g. H200), and no evidence in any log nor
    in submission.json's ``hardware`` is REVIEW. On the non-record track it is INFO.
Why it breaks the metric
    HW: leaderboard timings are on 8×H100 SXM; the 600 s budgets mean nothing on other hardware.
Example
    world_size:4 grad_accum_steps:2       <- a 4×H100 run offered as a record
Legal alternative
    Time the record on 8×H100 SXM; submit other hardware to the non-record track.
How it is confirmed
    Package check on logs and submission.json.
Ruling
    README rule; cocohearts' ruling on PR #1959 (a 4×H100 projection rejected).
Known gaps
    The SXM vs PCIe variant is only visible when nvidia-smi prints it; H100 80GB HBM3 is SXM.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck, scope


class Hardware(PackageCheck):
    code = "PG741"; name = "hardware"; rule_id = "HW"; family = "PACKAGE"
    status = Status.RULING; level = Level.FAIL
    rulings = ("README", "ruling on PR #1959"); ruling_url = "https://github.com/openai/parameter-golf/pull/1959"
    hint = "Run records on 8×H100 SXM; put other hardware in the non-record track."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        runs = [r for r in f.distinct_runs if f.headline(r) is not None]
        evidence_seen = bool(f.claim and f.claim.hardware and "8" in f.claim.hardware and "H100" in f.claim.hardware.upper())
        for run in runs:
            log = run.log
            ws = int(log.world_size.value) if log.world_size else None
            other = sorted(g for g in log.gpus if "H100" not in g)
            if ws is not None:
                evidence_seen = True
            if not f.record_track:
                if ws is not None and (ws != 8 or other):
                    yield self.finding(ctx, run.rel, log.world_size.line, f"non-record run on {ws} GPU(s)"
                                       f"{' (' + ', '.join(other) + ')' if other else ''}", level=Level.INFO)
                continue
            level, suffix = scope(f, run, self.level)
            if ws is not None and ws != 8:
                yield self.finding(ctx, run.rel, log.world_size.line, f"seed {run.seed}: world_size {ws}, not 8×H100: "
                                   f"not record evidence{suffix}", level=level)
            elif other:
                gpu_line = next((i for i, t in enumerate(log.lines, 1) if other[0] in t), 1)
                yield self.finding(ctx, run.rel, gpu_line, f"seed {run.seed}: ran on {', '.join(other)}, not H100 "
                                   f"SXM{suffix}", level=min(level, Level.REVIEW))
        if f.record_track and runs and not evidence_seen:
            yield self.finding(ctx, runs[0].rel, 1, "no hardware evidence (world_size, nvidia-smi, or "
                               "submission.json hardware) for a record-track claim", level=Level.REVIEW,
                               evidence=[f"logs: {', '.join(r.rel for r in runs)}"])
