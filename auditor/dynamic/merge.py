"""Merge dynamic probe results into the static findings (in place).

A static finding is a lead. For each lead (REVIEW or FAIL), the probes that can measure its rule
(the rule's declared ``probes``, else a map from RULEBOOK IDs) decide:
- a probe FAIL at level FAIL confirms it: confidence HIGH, the probe's evidence attached (a measured
  tolerated pattern, such as a C3-f warm-up at WARN, confirms nothing);
- probe PASSes clear it (FAIL → REVIEW, a non-disputed REVIEW → INFO) only when all three hold:
  the probe can observe the lead's rule at all (``UNOBSERVABLE``), the lead's line ran in the headline
  pass of the sandbox run (line record ``COVER``) outside any test of the process topology the sandbox
  does not reproduce (``topology``), and the lead is not gated off by the run configuration;
- anything else leaves the lead at its level, with the reason attached (INCONCLUSIVE, not exercised,
  not observable).
A dynamic result never weakens a static finding it did not observe: a wrong PASS that clears a true
FAIL is the worst error this tool can make.
"""

from __future__ import annotations

from collections.abc import Callable

from auditor.findings import Finding, Level, Source, Status
from auditor.levels import Dynamic, after_dynamic

#: RULEBOOK ID prefix -> probe names that measure it
RULE_PROBES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("C1-b", ("oracle-selection", "flip-test")),
    ("C1", ("flip-test",)),
    ("SLOT", ("flip-test", "score-before-update")),
    ("C2", ("vocab-sweep",)),
    ("C3", ("score-before-update",)),
    ("GPTQ-CALIB", ("score-before-update", "data-access")),
    ("NO-VAL-IN-TRAIN", ("score-before-update",)),
    ("C4", ("coverage",)),
    ("VAL-FULL-COVERAGE", ("coverage",)),
    ("NO-TRAIN-DATA-AT-EVAL", ("data-access",)),
    ("NO-NETWORK", ("network",)),
    ("TOKENIZER-BYTES", ("byte-accounting",)),
    ("BPB-FORMULA", ("byte-accounting",)),
    ("ART-CODE-COUNT", ("artifact-accounting",)),
)

#: RULEBOOK ID prefix -> what a probe PASS cannot see for it, so it never clears such a lead
UNOBSERVABLE: tuple[tuple[str, str], ...] = (
    # the flip test changes only position t's own score; a target-keyed lookup needs the vocabulary sweep
    # at a position where the cache is warm (``WARM_SWEEP_OBSERVES``); a target-gated hint needs one where
    # the hint fires, which the sweep does not choose
    ("C1-a", "a target-keyed lookup shows only in a vocabulary sweep at a position where the cache is warm"),
    ("C1-b", "a target-gated hint shows only in a vocabulary sweep at a position where the hint fires"),
    ("C2", "a cache's normalization shows only in a vocabulary sweep at a position where the cache is warm"),
    ("C1-d", "document-boundary masking is not measured by any probe"),
    ("GPTQ-CALIB", "calibration timing needs the 600 s training timeline, which the tiny run does not have"),
)

#: the finding -> why its line does not count as exercised in the headline pass at the scored
#: configuration (it did not run there, or ran under another process topology), or None when it does
RanInHeadline = Callable[[Finding], "str | None"]


def probes_for(finding: Finding) -> tuple[str, ...]:
    from auditor.registry import rule_by_code

    rule = rule_by_code(finding.code)
    if rule is not None and rule.probes:
        return tuple(rule.probes)
    for prefix, names in RULE_PROBES:
        if finding.rule.startswith(prefix):
            return names
    return ()


#: leads a vocabulary sweep PASS at a warm position can observe (the cache was live where it swept)
WARM_SWEEP_OBSERVES = ("C1-a", "C2")


def unobservable(finding: Finding, passed: Finding) -> str | None:
    """Why this probe PASS cannot clear this lead, or None when it observed what the lead is about."""
    if passed.data.get("probe") == "vocab-sweep" and passed.data.get("warm") and \
            finding.rule.startswith(WARM_SWEEP_OBSERVES):
        return None
    return next((why for prefix, why in UNOBSERVABLE if finding.rule.startswith(prefix)), None)


def _disputed(finding: Finding) -> bool:
    from auditor.registry import rule_by_code

    rule = rule_by_code(finding.code)
    return rule is not None and rule.status is Status.DISPUTED


def merge(static: list[Finding], dynamic: list[Finding], ran: RanInHeadline) -> None:
    by_probe: dict[str, list[Finding]] = {}
    for d in dynamic:
        by_probe.setdefault(d.data.get("probe", d.name), []).append(d)
    for f in static:
        if f.source is not Source.STATIC or f.level < Level.REVIEW:
            continue
        results = [d for name in probes_for(f) for d in by_probe.get(name, [])]
        if not results:
            continue
        if f.data.get("gate"):
            f.evidence.append(f"not measured dynamically: {f.data['gate']} keeps this path off in the configuration "
                              f"the sandbox ran")
            f.data["dynamic"] = "not-run"
            continue
        confirming = next((d for d in results if d.data.get("outcome") == "FAIL" and d.level is Level.FAIL), None)
        if confirming is not None:
            _apply(f, Dynamic.CONFIRMED)
            f.evidence.append(f"confirmed dynamically by {confirming.code} ({confirming.name}): {confirming.message}")
            f.evidence.extend(confirming.evidence[:2])
            f.data["dynamic"] = "confirmed"
        elif {d.data.get("outcome") for d in results} == {"PASS"}:
            _clear(f, results[0], ran)
        else:
            reasons = "; ".join(sorted({d.message for d in results if d.data.get("outcome") != "PASS"}))
            f.evidence.append(f"dynamic probes inconclusive: {reasons}")
            f.data["dynamic"] = "inconclusive"


def _clear(f: Finding, passed: Finding, ran: RanInHeadline) -> None:
    """Downgrade the lead on a probe PASS, unless the PASS did not observe it; then say why not."""
    blind = unobservable(f, passed)
    if blind is not None:
        f.evidence.append(f"not cleared by {passed.code} ({passed.name}) PASS: {blind}")
        f.data["dynamic"] = "not-observable"
        return
    why = ran(f)
    if why is not None:
        f.evidence.append(f"not exercised in the sandbox run: {why}; {passed.code} ({passed.name}) PASS does not "
                          "speak for it")
        f.data["dynamic"] = "not-exercised"
        return
    f.evidence.append(f"not confirmed: {passed.code} ({passed.name}) measured this line in the headline pass: "
                      f"{passed.message}")
    f.data["dynamic"] = "cleared"
    _apply(f, Dynamic.CLEARED)


def _apply(f: Finding, outcome: Dynamic) -> None:
    """The level policy's dynamic step (``auditor.levels``), applied to the lead."""
    level, confidence = after_dynamic(f.level, outcome, disputed=_disputed(f), gated=False)
    f.level = level
    if confidence is not None:
        f.confidence = confidence
