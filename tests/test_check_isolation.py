"""No check can take down another (issue 16): a static rule or a package check that raises becomes one
PG950 finding (REVIEW) naming the check, the exception and the input, and every other finding stands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.engine import AuditOptions, audit
from auditor.findings import Level, Source
from auditor.package.verify import verify_folder
from rules.data_access.pg405_val_subset import ValSubset
from rules.package.pg731_seed_evidence import SeedEvidence
from tests.package.records import three_seed_sliding


def _boom_rule(self, a):
    yield from ()
    raise KeyError("injected rule failure")


def _boom_check(self, ctx):
    raise TypeError("injected check failure")


def _codes(findings) -> list[tuple[str, str, int, str]]:
    return sorted((f.code, Path(f.path).name, f.line, f.level.name) for f in findings)


def test_failing_package_check_is_one_pg950_finding_and_the_others_stand(tmp_path: Path, monkeypatch) -> None:
    folder = three_seed_sliding(tmp_path)
    before, extra_before = verify_folder(folder)
    monkeypatch.setattr(SeedEvidence, "check", _boom_check)
    after, extra_after = verify_folder(folder)
    crash = [f for f in after if f.code == "PG950"]
    assert len(crash) == 1
    (f,) = crash
    assert (f.level, f.source, f.path, f.line) == (Level.REVIEW, Source.PACKAGE, str(folder / "submission.json"), 1)
    assert f.message == (f"internal error in PG731 (seed-evidence) on {folder / 'submission.json'}: TypeError: "
                         "injected check failure; PG731's findings on this input are missing")
    assert f.evidence == ["raised at tests/test_check_isolation.py:26 in _boom_check"]
    assert f.data == {"check": "PG731", "exception": "TypeError"}
    assert _codes(x for x in after if x.code != "PG950") == _codes(x for x in before if x.code != "PG731")
    assert extra_after == extra_before


def test_failing_static_rule_in_a_folder_audit(tmp_path: Path, monkeypatch) -> None:
    folder = three_seed_sliding(tmp_path)
    options = AuditOptions(dynamic=False)
    before = audit(folder, options)
    monkeypatch.setattr(ValSubset, "check", _boom_rule)
    after = audit(folder, options)
    assert before.error is None and after.error is None
    crash = [f for f in after.findings if f.code == "PG950"]
    assert [(f.level, f.source, f.path, f.line) for f in crash] == [(Level.REVIEW, Source.STATIC, str(folder / "train_gpt.py"), 1)]
    assert crash[0].message == (f"internal error in PG405 (val-subset) on {folder / 'train_gpt.py'}: KeyError: "
                                "'injected rule failure'; PG405's findings on this input are missing")
    assert _codes(f for f in after.findings if f.code != "PG950") == _codes(f for f in before.findings if f.code != "PG405")
    assert after.verdict.value in ("REVIEW", "FAIL")


def test_both_fail_at_once_through_the_cli(tmp_path: Path, monkeypatch, capsys) -> None:
    folder = three_seed_sliding(tmp_path)
    monkeypatch.setattr(ValSubset, "check", _boom_rule)
    monkeypatch.setattr(SeedEvidence, "check", _boom_check)
    code = main([str(folder), "--no-dynamic", "--format", "json"])
    out, err = capsys.readouterr()
    (report,) = json.loads(out)["inputs"]
    assert code == 1 and err == ""
    assert report["verdict"] == "REVIEW" and report["error"] is None
    crashes = sorted((f["data"]["check"], f["verdict"]) for f in report["findings"] if f["code"] == "PG950")
    assert crashes == [("PG405", "REVIEW"), ("PG731", "REVIEW")]


@pytest.mark.parametrize(("select", "ignore", "shown"), [(("PG405",), (), True), ((), ("PG950",), False), ((), ("PG9",), False)])
def test_select_never_hides_a_crash_but_ignore_does(tmp_path: Path, monkeypatch, select, ignore, shown) -> None:
    script = tmp_path / "train_gpt.py"
    script.write_text("x = 1\n")
    monkeypatch.setattr(ValSubset, "check", _boom_rule)
    result = audit(script, AuditOptions(select=select, ignore=ignore))
    assert [f.code for f in result.findings] == (["PG950"] if shown else [])
