"""The one level policy: (rule, evidence strength, gate state, rule version in force, waiver, dynamic
outcome) → the level a finding is reported at, and whether it counts in the verdict.

Every stage asks this module instead of deciding on its own: static rules (``Rule.report``), the
parameter-gate helper of the analysis layer, package checks (``PackageCheck.finding``), waivers
(``engine._apply_waivers``) and — through :func:`after_dynamic` — the dynamic merge. The steps, in
order (each can only lower a level, except the rule version, which replaces the rule's own level):

1. **rule version**: the level the ruling in force on the submission's date gives this case
   (``auditor.rulings.version``); otherwise the level the check asked for.
2. **evidence**: evidence that cannot settle the question (undecodable code, logs from other code,
   a configuration that cannot be resolved) caps at REVIEW (RULEBOOK §0.1).
3. **gate**: a violating path live only behind a non-default environment flag is REVIEW; a
   default-on path that the run's configuration switched off is WARN; dead code is not reported.
4. **status**: a disputed rule never FAILs.
5. **dynamic outcome**: a probe FAIL confirms; probe PASSes on the default path clear a lead
   (FAIL → REVIEW, a non-disputed REVIEW → INFO); inconclusive or not run leaves it.
6. **waiver**: a maintainer waiver keeps the level but the finding no longer counts in the verdict.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from auditor.findings import Confidence, Finding, Level, Source, Status
from auditor.rulings import SubmissionDate, Version, governed, history, version


class Evidence(enum.Enum):
    #: code on the executed path, or a value measured in a log of the shipped code
    STRONG = "strong"
    #: evidence that cannot settle it: logs from other code, undecodable code, unresolved configuration
    INSUFFICIENT = "insufficient"


class Gate(enum.Enum):
    LIVE = "live"  # runs under the defaults (or the run's configuration)
    OFF_BY_DEFAULT = "off-by-default"  # only an env override switches it on, and no run config says so
    OFF_IN_RUN = "off-in-run"  # on by default, but the run that produced the score switched it off
    DEAD = "dead"  # no entry point reaches it


class Dynamic(enum.Enum):
    NOT_RUN = "not-run"  # no probe measures this rule, or the stage did not run
    CONFIRMED = "confirmed"  # a probe measured the violation (outcome FAIL at level FAIL)
    CLEARED = "cleared"  # every probe measuring it PASSed on the default path
    INCONCLUSIVE = "inconclusive"
    NOT_MEASURED = "not-measured"  # the lead's path is gated off in the configuration the sandbox ran


@dataclass(frozen=True)
class Decision:
    """``level`` is ``None`` when the finding is not reported at all (dead code)."""

    level: Level | None
    counted: bool = True
    confidence: Confidence | None = None  # set when the policy changes it
    #: why the level differs from the one asked for, one short clause per step that changed it
    reasons: tuple[str, ...] = ()


def decide(
    asked: Level,
    *,
    status: Status = Status.RULING,
    evidence: Evidence = Evidence.STRONG,
    gate: Gate = Gate.LIVE,
    version: Version | None = None,
    dynamic: Dynamic = Dynamic.NOT_RUN,
    waived: bool = False,
) -> Decision:
    """The level of one finding (module docstring). ``asked`` is the level the check judged the case
    at (its class level, or a lower one it chose for a tolerated shape)."""
    reasons: list[str] = []
    level = asked
    if version is not None and version.level is not level:
        level = version.level
        reasons.append(f"{version.level.name} under {version.ruling.id}")
    if evidence is Evidence.INSUFFICIENT and level > Level.REVIEW:
        level = Level.REVIEW
        reasons.append("evidence cannot settle it")
    if gate is Gate.DEAD:
        return Decision(None, reasons=(*reasons, "unreachable code"))
    if gate is not Gate.LIVE and level > Level.REVIEW:
        level = Level.WARN if gate is Gate.OFF_IN_RUN else Level.REVIEW
        reasons.append("path off in the scored run" if gate is Gate.OFF_IN_RUN else "path off by default")
    if status is Status.DISPUTED and level > Level.REVIEW:
        level = Level.REVIEW
        reasons.append("disputed rule")
    confidence = None
    if dynamic is not Dynamic.NOT_RUN:
        level, confidence, why = _dynamic_step(level, dynamic, status is Status.DISPUTED)
        if why:
            reasons.append(why)
    return Decision(level, counted=not waived, confidence=confidence, reasons=tuple(reasons))


def _dynamic_step(level: Level, dynamic: Dynamic, disputed: bool) -> tuple[Level, Confidence | None, str]:
    if level < Level.REVIEW:  # only leads (REVIEW or FAIL) are confirmed or cleared
        return level, None, ""
    if dynamic is Dynamic.CONFIRMED:
        return level, Confidence.HIGH, ""
    if dynamic is Dynamic.CLEARED:
        if level is Level.FAIL:
            return Level.REVIEW, Confidence.LOW, "cleared dynamically"
        return (level, None, "") if disputed else (Level.INFO, None, "cleared dynamically")
    return level, None, ""


def apply_versions(findings: list[Finding], date: SubmissionDate | None) -> None:
    """Findings of the static and dynamic stages whose level the rulings registry sets by date: the
    case is ``data["case"]`` when the finding names one (a probe may, e.g. ``next-document-bos``),
    else ``default`` for static rules. A rule version not yet in force on the submission's date
    lowers the finding to its earlier level; the finding names the version applied. Package checks
    apply their versions themselves (``PackageCheck.finding(case=...)``). Only lowers: a gate, a
    disputed status or a dynamic clearance may already have put the finding below the version."""
    for f in findings:
        if f.source is Source.PACKAGE or "rule_version" in f.data:
            continue
        case = f.data.get("case") or ("default" if f.source is Source.STATIC else None)
        if not case or not governed(f.code, case):
            if f.level is Level.FAIL:
                _cite(f, date)
            continue
        v = version(f.code, case, date)
        f.data["rule_version"] = v.as_data()
        f.evidence.append(v.describe())
        if v.level < f.level:
            f.level = v.level
            f.message += f" [{v.ruling.title}, {v.ruling.date}" + ("" if v.in_force else ": not yet in force") + "]"


def _cite(f: Finding, date: SubmissionDate | None) -> None:
    """Every FAIL names the ruling it rests on: the latest ruling its check cites that was in force on
    the submission's date (else the earliest), in ``data["ruling"]`` and as the last evidence line."""
    cited = history(f.code)
    if not cited:
        return
    in_force = [r for r in cited if date is None or date.when.on_or_after(r.when)]
    r = (in_force or cited)[-1]
    f.data["ruling"] = {"id": r.id, "date": r.date, "url": r.url, "title": r.title}
    f.evidence.append(f"ruling: {r.title} ({r.date}, {r.url})")


def after_dynamic(level: Level, outcome: Dynamic, *, disputed: bool, gated: bool) -> tuple[Level, Confidence | None]:
    """The dynamic merge's step, for ``auditor/dynamic/merge.py``: a static lead at ``level`` after
    the probes that measure its rule reported ``outcome``. ``gated``: the lead sits on a path the
    sandboxed run's configuration keeps off, so no probe result speaks for it (``NOT_MEASURED``).
    Returns the new level and the new confidence (``None``: unchanged)."""
    if gated:
        outcome = Dynamic.NOT_MEASURED
    new, confidence, _ = _dynamic_step(level, outcome, disputed)
    return new, confidence


def scoped(level: Level, *, record_track: bool, backs_claim: bool) -> tuple[Level, str]:
    """A budget or hardware finding on one run: the full level for a record-track run the claim rests
    on; INFO on the non-record track and for logs that do not back the claim (development runs,
    ablations shipped beside the seeds). Returns the level and the message suffix that says why."""
    if not record_track:
        return Level.INFO, " (non-record track)"
    if not backs_claim:
        return Level.INFO, " (a log that does not back the claim)"
    return level, ""


def probe_level(rule_level: Level, outcome: str, tolerated: Level | None = None) -> Level:
    """A probe's own finding: PASS → INFO, INCONCLUSIVE → REVIEW (the analysis could not decide),
    FAIL → the rule's level, or ``tolerated`` when the measured pattern is one maintainers tolerate."""
    if outcome == "PASS":
        return Level.INFO
    if outcome == "FAIL":
        return tolerated if tolerated is not None else rule_level
    return Level.REVIEW
