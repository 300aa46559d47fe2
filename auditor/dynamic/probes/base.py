"""Shared machinery of the dynamic probes (identity attributes come from ``RuleInfo``)."""

from __future__ import annotations

from typing import ClassVar

from auditor.dynamic.context import Context
from auditor.findings import Confidence, Finding, Level, Source
from auditor.levels import probe_level
from auditor.rule import RuleInfo

INCONCLUSIVE = "INCONCLUSIVE"


class Probe(RuleInfo):
    """A dynamic probe. ``run`` returns findings built with :meth:`result`; the runner calls ``decide``."""

    #: "value": decides from the headline pass's scores; "run": from events of the whole run (reads,
    #: network, containment); "meta": reports on the run itself
    scope: ClassVar[str] = "value"

    def run(self, ctx: Context) -> list[Finding]:
        raise NotImplementedError

    def decide(self, ctx: Context) -> list[Finding]:
        """``run``, held to what a run that stopped early can prove: no value probe decides (the last
        metric line printed is not the headline), and a run-level PASS speaks only for the part that ran,
        so it is INCONCLUSIVE; a run-level FAIL is a fact whatever came after."""
        if not ctx.blocked or self.scope == "meta":
            return self.run(ctx)
        if self.scope == "value":
            return self.inconclusive(ctx, ctx.blocked)
        return [f if f.data.get("outcome") == "FAIL" else
                self.result(ctx, INCONCLUSIVE, f.line, f"the run stopped early ({ctx.blocked}); in the part that ran: "
                            f"{f.message.split(': ', 1)[-1]}") for f in self.run(ctx)]

    @staticmethod
    def scores_blocker(ctx: Context) -> str | None:
        """Why the value-level probes cannot decide (no per-token scores that add up to the reported
        total), or None when they can."""
        if ctx.scores is None:
            return ctx.blocked or "the run reported no headline val_bpb"
        if not ctx.scores.reconciled:
            return ctx.scores.reason
        return None

    @staticmethod
    def forks_blocker(ctx: Context, what: str) -> str | None:
        """Why the perturbation forks (``what``: flip, sweep) give no evidence, or None."""
        f = ctx.forks
        if f is None or f.control is None:
            return f.reason if f else f"the {what} forks did not run"
        if f.reason or f.problems:
            return f.reason or "; ".join(f.problems)
        return None

    def result(self, ctx: Context, outcome: str, line: int, message: str, evidence: list[str] | None = None,
               rule: str | None = None, data: dict | None = None, confidence: Confidence | None = None,
               level: Level | None = None) -> Finding:
        """``outcome`` is PASS, FAIL or INCONCLUSIVE; PASS → INFO, INCONCLUSIVE → REVIEW, FAIL → the
        probe's level unless ``level`` says otherwise (a tolerated pattern measured: WARN)."""
        level = probe_level(self.level, outcome, tolerated=level)
        prefix = {"PASS": "PASS", "FAIL": "FAIL", INCONCLUSIVE: "INCONCLUSIVE"}[outcome]
        return Finding(
            code=self.code,
            rule=rule or self.rule_id,
            level=level,
            source=Source.DYNAMIC,
            path=ctx.path,
            line=max(int(line or 1), 1),
            message=f"{self.name} {prefix}: {message}",
            evidence=list(evidence or []),
            confidence=confidence or (self.confidence if outcome != INCONCLUSIVE else Confidence.LOW),
            name=self.name,
            provenance=ctx.provenance,
            data={"outcome": outcome, "probe": self.name, **(data or {})},
        )

    def inconclusive(self, ctx: Context, reason: str, line: int | None = None) -> list[Finding]:
        return [self.result(ctx, INCONCLUSIVE, line or ctx.headline_line(), reason)]


def fmt_positions(pos, limit: int = 8) -> str:
    pos = list(pos)
    shown = ", ".join(str(int(p)) for p in pos[:limit])
    return f"[{shown}{', …' if len(pos) > limit else ''}] ({len(pos)} positions)"
