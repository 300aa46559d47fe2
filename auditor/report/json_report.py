"""The JSON report: the machine-readable contract other tools (the Action, the leaderboard) rely on.

Its shape is fixed by ``schemas/report.schema.json`` (validated in tests); ``SCHEMA_VERSION`` follows
semantic versioning: a new optional field is a minor bump, a removed or retyped field a major one.
Finding ``line`` numbers are in the decoded source when ``provenance.chain`` is not empty.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor import RULESET_DATE, __version__
from auditor.findings import Finding, InputResult, Level, Verdict
from auditor.report import ReportContext, display_path, overall, rule_info

SCHEMA_VERSION = "1.0.0"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "report.schema.json"
#: reporter-only data kept out of the JSON (source excerpts are in the files themselves)
PRIVATE_DATA = ("excerpt",)


def exit_code(results: Sequence[InputResult], fail_on: str = "review") -> int:
    """0 PASS; 1 FAIL, or REVIEW unless ``fail_on == "fail"``; 2 when any input could not be audited."""
    verdict = overall(results)
    if verdict is Verdict.ERROR:
        return 2
    if verdict is Verdict.FAIL or (verdict is Verdict.REVIEW and fail_on == "review"):
        return 1
    return 0


def finding_dict(f: Finding, root: Path) -> dict[str, Any]:
    info = rule_info(f.code)
    return {
        "code": f.code,
        "name": f.name or (info.name if info else ""),
        "rule": f.rule,
        "verdict": f.level.name,
        "source": f.source.value,
        "confidence": f.confidence.name.lower(),
        "path": display_path(f.path, root),
        "line": f.line,
        "end_line": f.end_line,
        "message": f.message,
        "evidence": list(f.evidence),
        "fingerprint": f.fingerprint(display_path(f.path, root)),
        "provenance": None
        if f.provenance is None
        else {
            "packed_path": display_path(f.provenance.packed_path, root),
            "chain": list(f.provenance.chain),
            "wrapper_line": f.provenance.wrapper_line,
        },
        "status": info.status.value if info else None,
        "docs_url": info.docs_url() if info else None,
        "ruling_url": (info.ruling_url or None) if info else None,
        "waived": dict(f.waived) if f.waived else None,
        "data": {k: v for k, v in f.data.items() if k not in PRIVATE_DATA},
    }


def input_dict(r: InputResult, root: Path) -> dict[str, Any]:
    counts = {lvl.name: 0 for lvl in (Level.FAIL, Level.REVIEW, Level.WARN, Level.INFO)}
    for f in r.findings:
        if f.waived is None and f.level.name in counts:
            counts[f.level.name] += 1
    return {
        "path": display_path(r.path, root),
        "kind": "folder" if Path(r.path).is_dir() else "file",
        "sha256": r.sha256,
        "verdict": r.verdict.value,
        "error": r.error,
        "counts": counts,
        "findings": [finding_dict(f, root) for f in r.sorted_findings()],
        "extra": r.extra,
        "seconds": round(r.seconds, 3),
    }


def build(results: Sequence[InputResult], ctx: ReportContext) -> dict[str, Any]:
    verdicts = [r.verdict.value for r in results]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "pgolf-audit", "version": __version__, "ruleset_date": RULESET_DATE},
        "verdict": overall(results).value,
        "exit_code": exit_code(results, ctx.fail_on),
        "fail_on": ctx.fail_on,
        "summary": {v.value: verdicts.count(v.value) for v in Verdict},
        "inputs": [input_dict(r, ctx.root) for r in results],
    }


def render(results: Sequence[InputResult], ctx: ReportContext) -> str:
    return json.dumps(build(results, ctx), indent=2, ensure_ascii=False, default=str) + "\n"


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())
