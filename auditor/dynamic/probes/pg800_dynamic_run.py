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
    Static findings are leads; only a run that reaches the headline can confirm or clear them. RULEBOOK
    §11: a crash of the shipped script on its default path is the submission's (REVIEW), not the tool's.
    A crash that is a defect of the code itself on its default path (a name used before it is bound or
    never defined), not of the sandbox or the tiny sizes, is a finding about the submission: FAIL at
    REVIEW, "the shipped script does not run end to end", with the exception and the line.
Outcomes
    PASS (INFO), FAIL (REVIEW: the shipped script's own defect) or INCONCLUSIVE (REVIEW).
Known gaps
    The tiny configuration shrinks sizes, never feature flags; a path that only a non-default
    setting enables is not run.
"""

from __future__ import annotations

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe
from auditor.findings import Finding, Level, Status


#: exceptions that are defects of the code on any input and configuration (not of the sandbox or sizes)
CODE_DEFECTS = frozenset({"UnboundLocalError", "NameError"})


class DynamicRun(Probe):
    code = "PG800"
    scope = "meta"
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
            if exc is not None and exc["type"] in CODE_DEFECTS and exc.get("at_line") and not ctx.base.killed:
                return [self.result(ctx, "FAIL", line, f"the shipped script does not run end to end: {exc['type']}: "
                                    f"{exc['msg'][:200]} (line {line})", [f"exit status {ctx.base.rc} after "
                                    f"{ctx.base.seconds:.1f} s", *ctx.tiny_notes[:3]], level=Level.REVIEW)]
            evidence = [f"exit status {ctx.base.rc} after {ctx.base.seconds:.1f} s"]
            if exc:
                evidence.append(f"{exc['type']}: {exc['msg']}")
            evidence.extend(ctx.tiny_notes[:3])
            return self.inconclusive(ctx, ctx.blocked, line) if not evidence else [
                self.result(ctx, "INCONCLUSIVE", line, ctx.blocked, evidence)]
        return [self.result(ctx, "PASS", ctx.headline_line(), f"ran to the headline in {ctx.base.seconds:.1f} s "
                            f"(peak RSS {ctx.base.peak_rss >> 20} MiB): {ctx.reported.line.strip()[:160]}",
                            ctx.tiny_notes[:12])]
