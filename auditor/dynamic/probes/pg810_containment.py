"""Containment: what the sandbox had to stop (reads outside the sandbox, fork floods, limits hit).

What it measures
    Reads or writes outside the sandbox's work tree and the Python installation (refused and
    recorded), forks beyond the bound, and runs the watchdog killed (wall clock, process count,
    memory or CPU limits).
How it decides
    REVIEW with the evidence when anything was refused or killed; PASS otherwise. A submission has no
    reason to read a home directory or to fork without bound, but the rules do not name these, so a
    person decides.
Why it matters
    The audit must finish and stay safe on hostile input; C1-e (external side information) when a
    refused read targeted data outside the submission.
Outcomes
    A killed run also makes the value probes INCONCLUSIVE (PG800 gives the reason).
Known gaps
    Memory is bounded per process (address space), not for the process group as a whole.
"""

from __future__ import annotations

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe
from auditor.findings import Finding, Level, Status


class Containment(Probe):
    code = "PG810"
    scope = "meta"
    name = "sandbox-containment"
    rule_id = "C1-e"
    family = "SANDBOX"
    status = Status.META
    level = Level.REVIEW
    probes = ("sandbox-containment",)
    hint = "Read only the files in the record folder and the data paths the harness provides."

    def run(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        outside = ctx.view.of("OUTSIDE")
        if outside:
            e = outside[0]
            out.append(self.result(ctx, "FAIL", e["line"], f"{len(outside)} access(es) outside the sandbox refused",
                                   [f"tape event #{ev['i']} at line {ev['line']}: {'write' if ev['write'] else 'read'} "
                                    f"{ev['path']}" for ev in outside[:5]]))
        forks = ctx.view.of("FORK")
        if forks and forks[-1]["count"] > 4:
            e = forks[-1]
            out.append(self.result(ctx, "FAIL", e["line"], f"{e['count']} forks attempted; forks beyond 4 were refused",
                                   [f"tape event #{e['i']} at line {e['line']}"]))
        if ctx.base.killed:
            line = ctx.base.tape[-1]["line"] if ctx.base.tape else 1
            out.append(self.result(ctx, "FAIL", line, f"the run was killed: {ctx.base.killed}",
                                   [f"after {ctx.base.seconds:.1f} s, peak RSS {ctx.base.peak_rss >> 20} MiB"]))
        if out:
            return out
        return [self.result(ctx, "PASS", ctx.headline_line(), "nothing refused; the run stayed within its limits "
                            f"({ctx.base.seconds:.1f} s, peak RSS {ctx.base.peak_rss >> 20} MiB)")]
