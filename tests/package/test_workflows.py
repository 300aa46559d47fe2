"""action.yml and the record-PR workflows: schema-valid and fork-safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
AUDIT = ROOT / ".github/workflows/audit-pr.yml"
REPORT = ROOT / ".github/workflows/audit-pr-report.yml"


def _load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    if True in doc:  # PyYAML reads the key `on` as boolean True
        doc["on"] = doc.pop(True)
    return doc


def _schema(name: str) -> dict:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema ships the vendored GitHub schemas")
    import check_jsonschema

    path = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / f"{name}.json"
    return json.loads(path.read_text())


@pytest.mark.parametrize(("path", "schema"), [(ACTION, "github-actions"), (AUDIT, "github-workflows"), (REPORT, "github-workflows")])
def test_schema_valid(path, schema):
    import jsonschema

    jsonschema.validate(_load(path), _schema(schema))


def test_action_interface():
    doc = _load(ACTION)
    assert doc["runs"]["using"] == "composite"
    assert set(doc["inputs"]) >= {"path", "mode", "select", "ignore", "fail-on", "sarif-file", "summary", "comment"}
    assert set(doc["outputs"]) == {"verdict", "findings", "report-json", "sarif-file"}
    for step in doc["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "inputs reach scripts through env, never by interpolation"
    install = next(s["run"] for s in doc["runs"]["steps"] if "pip install" in s.get("run", ""))
    assert '"$ACTION_PATH"' in install and 'if [ "$DYNAMIC" = "true" ]' in install  # torch only for dynamic probes


def _all_text(doc) -> str:
    return json.dumps(doc)


def test_unprivileged_audit_workflow():
    doc = _load(AUDIT)
    assert set(doc["on"]) == {"pull_request"}
    assert doc["permissions"] == {"contents": "read"}
    text = _all_text(doc)
    assert "pull_request_target" not in text and "secrets." not in text
    steps = doc["jobs"]["audit"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] is False
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert {"pgolf-audit.sarif", "pgolf-audit.json", "pgolf-audit-comment.md", "pr.json"} <= set(upload["with"]["path"].split())


def test_privileged_report_workflow_never_touches_pr_code():
    doc = _load(REPORT)
    assert set(doc["on"]) == {"workflow_run"} and doc["on"]["workflow_run"]["workflows"] == [_load(AUDIT)["name"]]
    assert doc["permissions"] == {"contents": "read", "actions": "read", "security-events": "write", "pull-requests": "write"}
    text = _all_text(doc)
    assert "pull_request_target" not in text
    for step in doc["jobs"]["report"]["steps"]:
        if step.get("uses", "").startswith("actions/checkout"):
            assert "ref" not in step.get("with", {}) and "repository" not in step.get("with", {})  # default branch only
        if not step.get("uses", "").startswith("github/codeql-action/upload-sarif"):  # it only labels the alerts
            assert "head_sha" not in json.dumps(step.get("with", {})), step
    uses = [s.get("uses", "") for s in doc["jobs"]["report"]["steps"]]
    assert any(u.startswith("github/codeql-action/upload-sarif") for u in uses)
    assert any(u.startswith("actions/download-artifact") for u in uses)
    comment = next(s for s in doc["jobs"]["report"]["steps"] if "auditor.package.action comment" in s.get("run", ""))
    assert "--run-head-sha" in comment["run"]
