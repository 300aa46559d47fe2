"""The JSON contract: exact fields, schema validity, verdicts, waivers and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from auditor.findings import Finding, InputResult, Level, Source
from findings_factory import finding
from auditor.report import ReportContext
from auditor.report.json_report import build, exit_code, render, schema


def test_report_validates_against_the_published_schema(results, ctx) -> None:
    report = json.loads(render(results, ctx))
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(report)


def test_top_level_fields(results, ctx) -> None:
    report = build(results, ctx)
    assert report["schema_version"] == "1.0.0"
    assert report["tool"] == {"name": "pgolf-audit", "version": "0.1.0", "ruleset_date": "2026-05-02"}
    assert report["verdict"] == "ERROR"
    assert report["exit_code"] == 2
    assert report["summary"] == {"PASS": 0, "REVIEW": 0, "FAIL": 2, "ERROR": 1}
    assert [i["path"] for i in report["inputs"]] == ["records/a/train_gpt.py", "records/b/train_gpt.py", "records/c/train_gpt.py"]
    assert [i["verdict"] for i in report["inputs"]] == ["FAIL", "FAIL", "ERROR"]


def test_input_and_finding_fields(results, ctx) -> None:
    first = build(results, ctx)["inputs"][0]
    assert first["sha256"] == "a" * 64
    assert first["counts"] == {"FAIL": 1, "REVIEW": 1, "WARN": 1, "INFO": 1}
    assert [(f["code"], f["verdict"], f["line"]) for f in first["findings"]] == [
        ("PG990", "FAIL", 2), ("PG990", "FAIL", 7), ("PG990", "REVIEW", 5), ("PG999", "WARN", 1), ("PG990", "INFO", 9)
    ]
    fail = first["findings"][0]
    assert fail == {
        "code": "PG990",
        "name": "sample-leak",
        "rule": "TEST-LEAK",
        "verdict": "FAIL",
        "source": "static",
        "confidence": "high",
        "path": "records/a/train_gpt.py",
        "line": 2,
        "end_line": 3,
        "message": "leak() called on validation tokens",
        "evidence": ["leak(x)"],
        "fingerprint": results[0].findings[1].fingerprint("records/a/train_gpt.py"),
        "provenance": {"packed_path": "records/a/train_gpt.py", "chain": [], "wrapper_line": None},
        "status": "maintainer ruling",
        "docs_url": "https://github.com/pgolf-audit/pgolf-audit/blob/main/docs/rules/PG990.md",
        "ruling_url": "https://github.com/openai/parameter-golf/pull/1",
        "waived": None,
        "data": {},
    }
    waived = first["findings"][1]
    assert waived["waived"] == {"reason": "counted by maintainers", "ruling": "https://github.com/openai/parameter-golf/pull/2"}
    package = first["findings"][3]
    assert (package["source"], package["status"], package["docs_url"]) == ("package", None, None)


def test_packed_finding_keeps_decoded_line_and_chain(results, ctx) -> None:
    second = build(results, ctx)["inputs"][1]
    assert second["extra"] == {"decoded": {"chain": ["b85", "lzma"], "sha256": "c" * 64}}
    assert second["findings"][0]["line"] == 40
    assert second["findings"][0]["provenance"] == {"packed_path": "records/b/train_gpt.py", "chain": ["b85", "lzma"], "wrapper_line": 3}


def test_error_input(results, ctx) -> None:
    third = build(results, ctx)["inputs"][2]
    assert (third["verdict"], third["error"], third["sha256"], third["findings"]) == (
        "ERROR", "syntax error at line 1: invalid syntax", None, []
    )


def test_waived_findings_do_not_count_toward_the_verdict(ctx) -> None:
    waived = finding(waived={"reason": "ok", "ruling": "https://example.org/r"})
    result = InputResult(path="/repo/x.py", sha256="d" * 64, findings=[waived])
    assert result.verdict.value == "PASS"
    assert build([result], ctx)["inputs"][0]["counts"]["FAIL"] == 0


def test_exit_codes_follow_verdict_and_fail_on() -> None:
    review = InputResult(path="x.py", sha256=None, findings=[finding(level=Level.REVIEW)])
    fail = InputResult(path="y.py", sha256=None, findings=[finding()])
    clean = InputResult(path="z.py", sha256=None)
    error = InputResult(path="w.py", sha256=None, error="empty file")
    assert exit_code([clean]) == 0
    assert exit_code([clean, review]) == 1
    assert exit_code([clean, review], fail_on="fail") == 0
    assert exit_code([fail], fail_on="fail") == 1
    assert exit_code([fail, error]) == 2


def test_render_is_plain_json_with_trailing_newline(results) -> None:
    text = render(results, ReportContext(root=Path("/elsewhere")))
    assert text.endswith("}\n")
    assert json.loads(text)["inputs"][0]["path"] == "/repo/records/a/train_gpt.py"


def test_fingerprints_do_not_depend_on_where_the_checkout_lives(tmp_path: Path) -> None:
    def report(root: Path) -> str:
        f = Finding("PG301", "C3-a", Level.FAIL, Source.STATIC, str(root / "records/a/train_gpt.py"), 3, "m")
        result = InputResult(path=str(root / "records/a"), sha256=None, findings=[f])
        return build([result], ReportContext(root=root))["inputs"][0]["findings"][0]["fingerprint"]

    assert report(tmp_path / "one") == report(tmp_path / "two")
