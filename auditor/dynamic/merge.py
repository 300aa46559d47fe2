"""Merge dynamic probe results into the static findings (in place).

A static finding is a lead. For each lead (REVIEW or FAIL), the probes that can measure its rule
(the rule's declared ``probes``, else a map from RULEBOOK IDs) decide:
- a probe FAIL at level FAIL confirms it: confidence HIGH, the probe's evidence attached (a measured
  tolerated pattern, such as a C3-f warm-up at WARN, confirms nothing);
- probe PASSes on a path that runs under the defaults (the lead is not gated by an env flag)
  downgrade it: FAIL → REVIEW, a non-disputed REVIEW → INFO, with the PASS evidence attached;
- INCONCLUSIVE leaves it as it is, with the reason attached.
A lead on a path gated off (``data["gate"]``) is left alone: the sandbox ran the scored run's
configuration, the same one the gate was judged under, so that path did not run and no probe
result speaks for it.
"""

from __future__ import annotations

from auditor.findings import Confidence, Finding, Level, Source, Status

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


def probes_for(finding: Finding) -> tuple[str, ...]:
    from auditor.registry import rule_by_code

    rule = rule_by_code(finding.code)
    if rule is not None and rule.probes:
        return tuple(rule.probes)
    for prefix, names in RULE_PROBES:
        if finding.rule.startswith(prefix):
            return names
    return ()


def _disputed(finding: Finding) -> bool:
    from auditor.registry import rule_by_code

    rule = rule_by_code(finding.code)
    return rule is not None and rule.status is Status.DISPUTED


def merge(static: list[Finding], dynamic: list[Finding]) -> None:
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
        outcomes = {d.data.get("outcome") for d in results}
        if any(d.data.get("outcome") == "FAIL" and d.level is Level.FAIL for d in results):
            d = next(d for d in results if d.data.get("outcome") == "FAIL" and d.level is Level.FAIL)
            f.confidence = Confidence.HIGH
            f.evidence.append(f"confirmed dynamically by {d.code} ({d.name}): {d.message}")
            f.evidence.extend(d.evidence[:2])
            f.data["dynamic"] = "confirmed"
        elif outcomes == {"PASS"}:
            d = results[0]
            f.evidence.append(f"not confirmed: {d.code} ({d.name}) measured the default path: {d.message}")
            f.data["dynamic"] = "cleared"
            if f.level is Level.FAIL:
                f.level, f.confidence = Level.REVIEW, Confidence.LOW
            elif not _disputed(f):
                f.level = Level.INFO
        else:
            reasons = "; ".join(sorted({d.message for d in results if d.data.get("outcome") != "PASS"}))
            f.evidence.append(f"dynamic probes inconclusive: {reasons}")
            f.data["dynamic"] = "inconclusive"
