"""SARIF 2.1.0 for GitHub code scanning (ANCHORS §5).

One run; ``tool.driver.rules`` lists the whole catalog so ``ruleIndex`` is stable across runs.
GitHub tracks an alert by rule id, path and fingerprint, so all three are stable: the path is relative
to the repository root (``%SRCROOT%``) and ``partialFingerprints`` comes from code, path and message.
A finding in a packed script is anchored on the packed file's wrapper line (the only line GitHub can
show) and names the decoded line in its message and properties. Waived findings carry an external
suppression with the waiver's reason; inputs that could not be audited are tool notifications.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor import RULESET_DATE, __version__
from auditor.findings import Confidence, Finding, InputResult, Level
from auditor.registry import catalog
from auditor.report import ReportContext, display_path
from auditor.rule import RuleInfo

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/pgolf-audit/pgolf-audit"
LEVELS = {Level.FAIL: "error", Level.REVIEW: "warning", Level.WARN: "warning", Level.INFO: "note", Level.PASS: "none"}
PRECISION = {Confidence.HIGH: "high", Confidence.MEDIUM: "medium", Confidence.LOW: "low"}
FINGERPRINT_KEY = "pgolfAudit/v1"


def artifact_location(path: str, root: Path) -> dict[str, str]:
    rel = display_path(path, root)
    if Path(rel).is_absolute():
        return {"uri": Path(rel).as_uri()}
    return {"uri": quote(rel), "uriBaseId": "%SRCROOT%"}


def descriptor(rule: type[RuleInfo]) -> dict[str, Any]:
    doc = rule.doc()
    tags = list(dict.fromkeys(["parameter-golf", rule.family, rule.rule_id, rule.status.name.lower()]))  # SARIF: unique
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": doc.split("\n\n", 1)[-1] if "\n\n" in doc else doc},
        "help": {"text": doc, "markdown": _help_markdown(rule)},
        "helpUri": rule.docs_url(),
        "defaultConfiguration": {"level": LEVELS[rule.level]},
        "properties": {
            "rule": rule.rule_id,
            "family": rule.family,
            "status": rule.status.value,
            "precision": PRECISION[rule.confidence],
            "tags": tags,
        },
    }


def _help_markdown(rule: type[RuleInfo]) -> str:
    parts = [f"**{rule.code} {rule.name}** ({rule.rule_id}, {rule.status.value})", "", rule.summary()]
    if rule.hint:
        parts += ["", f"Fix: {rule.hint}"]
    if rule.ruling_url:
        parts += ["", f"Ruling: {rule.ruling_url}"]
    parts += ["", f"Documentation: {rule.docs_url()}"]
    return "\n".join(parts)


def result(f: Finding, index: dict[str, int], root: Path) -> dict[str, Any]:
    message = f.message
    line, end_line = f.line, f.end_line or f.line
    properties: dict[str, Any] = {
        "verdict": f.level.name,
        "source": f.source.value,
        "confidence": f.confidence.name.lower(),
        "rule": f.rule,
        "evidence": list(f.evidence),
        "provenance": list(f.provenance.chain) if f.provenance else [],
    }
    if f.provenance is not None and f.provenance.is_packed:
        properties["decodedLine"] = f.line
        message = f"{message} [line {f.line} of the decoded source; packed as {f.provenance.describe()}]"
        line = end_line = f.provenance.wrapper_line or 1
    out: dict[str, Any] = {
        "ruleId": f.code,
        "level": LEVELS[f.level],
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(f.path, root),
                    "region": {"startLine": line, "endLine": max(line, end_line)},
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint(display_path(f.path, root))},
        "properties": properties,
    }
    if f.code in index:
        out["ruleIndex"] = index[f.code]
    if f.waived:
        out["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": f"{f.waived['reason']} ({f.waived['ruling']})"}
        ]
    return out


def build(results: Sequence[InputResult], ctx: ReportContext) -> dict[str, Any]:
    rules = catalog()
    index = {r.code: i for i, r in enumerate(rules)}
    notifications = [
        {
            "level": "error",
            "message": {"text": f"could not audit: {r.error}"},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(r.path, ctx.root)}}],
        }
        for r in results
        if r.error is not None
    ]
    run = {
        "tool": {
            "driver": {
                "name": "pgolf-audit",
                "semanticVersion": __version__,
                "version": f"{__version__}+rules.{RULESET_DATE}",
                "informationUri": INFORMATION_URI,
                "rules": [descriptor(r) for r in rules],
            }
        },
        "automationDetails": {"id": "pgolf-audit/"},
        "invocations": [{"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}],
        "results": [result(f, index, ctx.root) for r in results for f in r.sorted_findings()],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(results: Sequence[InputResult], ctx: ReportContext) -> str:
    return json.dumps(build(results, ctx), indent=2, ensure_ascii=False) + "\n"
