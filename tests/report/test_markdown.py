"""Markdown step summary / PR comment: marker first, verdict and findings tables, escaping, caps."""

from __future__ import annotations

from findings_factory import finding

from auditor.findings import InputResult
from auditor.report.markdown import MARKER, MAX_ROWS, escape, render


def test_marker_and_tables(results, ctx) -> None:
    lines = render(results, ctx).splitlines()
    assert lines[0] == MARKER == "<!-- pgolf-audit -->"
    assert lines[1] == "## pgolf-audit: ⚠️ ERROR"
    assert lines[3:8] == [
        "| Input | Verdict | FAIL | REVIEW | WARN | INFO |",
        "|---|---|---|---|---|---|",
        "| `records/a/train_gpt.py` | ❌ FAIL | 1 | 1 | 1 | 1 |",
        "| `records/b/train_gpt.py` | ❌ FAIL | 1 | 0 | 0 | 0 |",
        "| `records/c/train_gpt.py` | ⚠️ ERROR | 0 | 0 | 0 | 0 |",
    ]
    assert "- `records/c/train_gpt.py`: syntax error at line 1: invalid syntax" in lines
    assert (
        "| FAIL | [PG990](https://github.com/pgolf-audit/pgolf-audit/blob/main/docs/rules/PG990.md) sample-leak "
        "| [TEST-LEAK](https://github.com/openai/parameter-golf/pull/1) | `records/a/train_gpt.py:2` "
        "| leak() called on validation tokens |"
    ) in lines
    assert any(line.startswith("| FAIL |") and "`records/b/train_gpt.py:40` (decoded)" in line for line in lines)
    assert (
        "- PG990 at `records/a/train_gpt.py:7`: counted by maintainers "
        "([ruling](https://github.com/openai/parameter-golf/pull/2))"
    ) in lines
    assert lines[-1] == "<sub>pgolf-audit 0.1.0 · rules as of 2026-05-02 · exit code 2 (fail-on review)</sub>"


def test_untrusted_text_is_escaped() -> None:
    assert escape("<!-- pgolf-audit --> a|b @octocat `x`\nnext") == "&lt;!-- pgolf-audit --&gt; a\\|b &#64;octocat 'x' next"
    assert escape("x" * 400).endswith("…") and len(escape("x" * 400)) == 300


def test_findings_table_is_capped(ctx, sample_catalog) -> None:
    many = InputResult(path="/repo/x.py", sha256=None, findings=[finding(line=i) for i in range(1, MAX_ROWS + 6)])
    text = render([many], ctx)
    assert text.count("| FAIL | [PG990]") == MAX_ROWS
    assert "5 more findings are in the JSON and SARIF reports." in text
    assert text.count(MARKER) == 1
