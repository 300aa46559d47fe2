"""The engine on one input: rules run on decoded sources, selection, waivers, and every failure mode
ending as that input's ERROR verdict with a one-line reason."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from auditor.config import Config, Waiver
from auditor.engine import AuditOptions, audit

SCRIPT = "x = 1\nleak(x)\nmaybe(x)\n"


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "train_gpt.py"
    path.write_text(SCRIPT)
    return path


def test_findings_lines_levels_and_excerpt(script: Path, sample_catalog) -> None:
    result = audit(script, AuditOptions(select=("PG990",)))
    assert result.error is None and result.verdict.value == "FAIL"
    assert [(f.code, f.line, f.level.name) for f in result.sorted_findings()] == [("PG990", 2, "FAIL"), ("PG990", 3, "REVIEW")]
    assert result.findings[0].data["excerpt"] == {"start": 1, "lines": ["x = 1", "leak(x)", "maybe(x)"]}
    assert result.sha256 == hashlib.sha256(SCRIPT.encode()).hexdigest()


def test_select_and_ignore_apply_to_every_finding(script: Path, sample_catalog) -> None:
    assert audit(script, AuditOptions(select=("PG990",), ignore=("PG99",))).findings == []
    config = Config(select=("PG990",), ignore=())
    assert len(audit(script, AuditOptions(config=config)).findings) == 2
    assert audit(script, AuditOptions(config=Config(select=("PG990",), ignore=("PG990",)))).findings == []


def test_waiver_keeps_the_finding_but_not_its_verdict(script: Path, sample_catalog) -> None:
    waiver = Waiver(code="PG990", reason="recounted", ruling="https://example.org/r", path="*/train_gpt.py")
    result = audit(script, AuditOptions(select=("PG990",), config=Config(waivers=(waiver,), root=script.parent)))
    assert [f.waived for f in result.sorted_findings()] == [{"reason": "recounted", "ruling": "https://example.org/r"}] * 2
    assert result.verdict.value == "PASS"


def test_rule_bug_is_a_pg950_finding_naming_the_rule(tmp_path: Path, sample_catalog) -> None:
    path = tmp_path / "bug.py"
    path.write_text("leak(1)\nboom()\n")
    result = audit(path, AuditOptions(select=("PG990",)))
    assert result.error is None and result.verdict.value == "FAIL"  # the leak found before the crash stands
    assert [(f.code, f.line, f.level.name) for f in result.sorted_findings()] == [("PG990", 1, "FAIL"), ("PG950", 1, "REVIEW")]
    crash = result.sorted_findings()[1]
    assert crash.message == (f"internal error in PG990 (sample-leak) on {path}: ValueError: rule bug; "
                             "PG990's findings on this input are missing")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"def f(:\n    pass\n", "syntax error at line 1"),
        (b"", "empty"),
        (b"\x00\x01\x02binary", ""),
        (b"x = '\xff\xfe'\n", ""),
        (b"x = " + b"(" * 2000 + b"1" + b")" * 2000 + b"\n", "too many nested parentheses"),
    ],
    ids=["syntax", "empty", "binary", "non-utf8", "deep-nesting"],
)
def test_bad_input_is_an_error_verdict(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.py"
    path.write_bytes(content)
    result = audit(path)
    assert result.verdict.value == "ERROR"
    assert reason in (result.error or "") and "\n" not in (result.error or "")


def test_folder_without_script_and_missing_file(tmp_path: Path) -> None:
    assert audit(tmp_path).error == f"{tmp_path}: a folder to audit must contain train_gpt.py"
    missing = audit(tmp_path / "nope.py")
    assert missing.verdict.value == "ERROR" and missing.sha256 is None


def test_record_folder_runs_the_package_stage(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "train_gpt.py").write_text("print(1)\n")
    result = audit(folder, AuditOptions(dynamic=False))
    assert result.error is None and result.verdict.value == "FAIL"
    assert result.sha256 == hashlib.sha256(b"print(1)\n").hexdigest()
    assert {("PG701", "package")} <= {(f.code, f.source.value) for f in result.findings}
