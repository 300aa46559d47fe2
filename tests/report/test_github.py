"""Workflow-command annotations: exact format, escaping, severity order, per-kind cap, final notice."""

from __future__ import annotations

from findings_factory import finding

from auditor.findings import Confidence, InputResult, Level
from auditor.report.github import PER_KIND, escape_data, escape_property, render


def test_exact_lines(results, ctx) -> None:
    lines = render(results, ctx).splitlines()
    assert lines[0] == "::error file=records/c/train_gpt.py,title=pgolf-audit::could not audit: syntax error at line 1: invalid syntax"
    assert lines[1] == (
        "::error file=records/a/train_gpt.py,line=2,endLine=3,title=PG990::[FAIL] sample-leak (TEST-LEAK): "
        "leak() called on validation tokens%0AFix: Stop calling leak().%0A"
        "Docs: https://github.com/pgolf-audit/pgolf-audit/blob/main/docs/rules/PG990.md"
    )
    assert lines[2].startswith("::error file=records/b/train_gpt.py,line=3,title=PG990::[FAIL] sample-leak (TEST-LEAK): ")
    assert "%0AAt line 40 of the decoded source (packed as b85 → lzma)." in lines[2]
    assert [line.split(" ", 1)[0] for line in lines[3:]] == ["::warning", "::warning", "::notice"]
    assert lines[3].startswith("::warning file=records/a/train_gpt.py,line=5,title=PG990::[REVIEW]")
    assert lines[4] == "::warning file=records/a/train_gpt.py,line=1,title=PG999::[WARN] uncounted-helper (ART-CODE-COUNT): helper not counted"
    assert len(lines) == 6  # the waived finding at line 7 is not annotated


def test_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_cap_per_kind_with_final_notice(ctx, sample_catalog) -> None:
    fails = [finding(line=i, confidence=Confidence.LOW if i % 2 else Confidence.HIGH) for i in range(1, 16)]
    infos = [finding(level=Level.INFO, line=100 + i) for i in range(3)]
    lines = render([InputResult(path="/repo/x.py", sha256=None, findings=fails + infos)], ctx).splitlines()
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == PER_KIND == 10
    # high-confidence findings first: the 7 even lines, then odd ones in line order
    shown = [int(line.split("line=")[1].split(",")[0]) for line in errors]
    assert shown == [2, 4, 6, 8, 10, 12, 14, 1, 3, 5]
    assert len([line for line in lines if line.startswith("::notice file=")]) == 3
    assert lines[-1] == (
        "::notice title=pgolf-audit::5 more findings not shown as annotations (5 FAIL); "
        "see the step summary, the JSON report or the SARIF upload for all of them."
    )
