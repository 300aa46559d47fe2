"""Dynamic run: whether the submission ran to its headline in the sandbox, and if not, why.

What it measures
    The sandboxed run of the script's own code at the tiny configuration: exit status, the exception
    and the submission line it came from, and whether a headline ``val_bpb`` line was printed and its
    pass captured.
How it decides
    PASS when the run reached a headline whose scores were captured; INCONCLUSIVE (REVIEW) with the
    reason otherwise, e.g. a custom Triton or CUTLASS kernel with no CPU fallback, Python syntax this
    interpreter cannot run, or a crash at the tiny configuration. The value probes are then
    INCONCLUSIVE with the same reason; they never PASS silently.
Why it matters
    Static findings are leads; only a run that reaches the headline can confirm or clear them.
Outcomes
    PASS (INFO) or INCONCLUSIVE (REVIEW).
Known gaps
    The tiny configuration shrinks sizes, never feature flags; a path that only a non-default
    setting enables is not run.
"""

from __future__ import annotations

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe
from auditor.findings import Finding, Level, Status


class DynamicRun(Probe):
    code = "PG800"
    name = "dynamic-run"
    rule_id = "DYNAMIC"
    family = "META"
    status = Status.META
    level = Level.REVIEW
    probes = ("dynamic-run",)
    hint = "Keep a plain PyTorch fallback next to custom kernels so the evaluation can be checked on CPU."

    def run(self, ctx: Context) -> list[Finding]:
        if ctx.blocked:
            exc = ctx.base.exception
            line = (exc or {}).get("at_line") or 1
            evidence = [f"exit status {ctx.base.rc} after {ctx.base.seconds:.1f} s"]
            if exc:
                evidence.append(f"{exc['type']}: {exc['msg']}")
            evidence.extend(ctx.tiny_notes[:3])
            return self.inconclusive(ctx, ctx.blocked, line) if not evidence else [
                self.result(ctx, "INCONCLUSIVE", line, ctx.blocked, evidence)]
        return [self.result(ctx, "PASS", ctx.headline_line(), f"ran to the headline in {ctx.base.seconds:.1f} s "
                            f"(peak RSS {ctx.base.peak_rss >> 20} MiB): {ctx.reported.line.strip()[:160]}",
                            ctx.tiny_notes[:12])]
