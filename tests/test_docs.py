"""The per-check pages under docs/rules are generated from the rule modules and committed; they must
match what `pgolf-audit docs` writes now."""

from __future__ import annotations

from pathlib import Path

from auditor.cli import main
from auditor.registry import catalog
from auditor.report.rule_docs import GENERATED, page, sections, stale_files, write_docs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules"


def test_committed_docs_are_up_to_date() -> None:
    stale = stale_files(DOCS)
    assert stale == [], f"stale rule docs {stale}: run `pgolf-audit docs --out docs/rules` and commit the result"
    assert {p.name for p in DOCS.glob("PG*.md")} == {f"{r.code}.md" for r in catalog()}


def test_page_sections_examples_and_identity(sample_catalog) -> None:
    text = page(sample_catalog)
    lines = text.splitlines()
    assert lines[:4] == [GENERATED, "# PG990 sample-leak", "", "Flags calls to ``leak()`` (test-only rule for the engine and reporters)."]
    assert "| Rule | TEST-LEAK |" in lines and "| Kind | static rule |" in lines
    assert "| Rulings | test ruling ([link](https://github.com/openai/parameter-golf/pull/1)) |" in lines
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == [
        "## What it detects", "## Why it breaks the metric", "## Example", "## Legal alternative", "## How it is confirmed",
        "## Ruling", "## Known gaps", "## Fix", "## Passes (first VALID example)", "## Flagged (first INVALID example)",
    ]
    assert "```python\nleak(val_tokens)\n```" in text
    assert text.endswith("```python\nx = 1\nleak(x)\n```\n\nReported at line 2 as FAIL.\n")


def test_sections_parser() -> None:
    summary, parts = sections("Summary line\ncontinued.\n\nTitle\n    body 1\n\n    body 2\nOther\n    x")
    assert summary == "Summary line continued."
    assert parts == [("Title", "body 1\n\nbody 2"), ("Other", "x")]


def test_docs_command_writes_and_checks(tmp_path: Path, sample_catalog, capsys) -> None:
    out = tmp_path / "rules"
    assert main(["docs", "--out", str(out), "--check"]) == 1
    assert main(["docs", "--out", str(out)]) == 0
    assert (out / "PG990.md").read_text() == page(sample_catalog)
    (out / "PG000.md").write_text("stale")
    assert main(["docs", "--out", str(out), "--check"]) == 1
    write_docs(out)
    assert not (out / "PG000.md").exists()
    assert main(["docs", "--out", str(out), "--check"]) == 0
    capsys.readouterr()
