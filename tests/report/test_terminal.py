"""The rich terminal report: grouping, excerpt with line numbers, packed-source note, hint, links, summary."""

from __future__ import annotations

from auditor.report.terminal import render


def test_grouped_findings_with_excerpt_hint_and_links(results, ctx) -> None:
    text = render(results, ctx)
    first = text[: text.index("records/b/train_gpt.py")]
    assert first.startswith("records/a/train_gpt.py  FAIL  sha256 aaaaaaaaaaaa…")
    order = [first.index(h) for h in ("FAIL (1)", "REVIEW (1)", "WARN (1)", "INFO (1)", "WAIVED (1)")]
    assert order == sorted(order)
    assert "    FAIL   PG990 sample-leak  records/a/train_gpt.py:2\n           TEST-LEAK, maintainer ruling, static, high confidence\n" in first
    assert "             1 x = 1\n           ❱ 2 leak(x)\n             3 y = 2\n" in first
    assert "fix: Stop calling leak()." in first
    assert "ruling: https://github.com/openai/parameter-golf/pull/1" in first
    assert "docs: https://github.com/pgolf-audit/pgolf-audit/blob/main/docs/rules/PG990.md" in first
    assert "waived by config: counted by maintainers\n           (https://github.com/openai/parameter-golf/pull/2)" in first
    assert "evidence: helper not counted" not in first and "evidence: leak(x)" in first


def test_packed_note_error_and_summary(results, ctx) -> None:
    text = render(results, ctx)
    assert "the script is packed (b85 → lzma); line numbers refer to the decoded source" in text
    assert "could not audit: syntax error at line 1: invalid syntax" in text
    assert "pgolf-audit summary" in text
    assert text.rstrip().splitlines()[-1] == "verdict: ERROR  (3 inputs: 2 FAIL, 1 ERROR; exit code 2)"
