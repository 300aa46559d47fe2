"""Whole-file fixtures for PG503 (bpb formula), PG104 (external side information), PG202 (wrong
denominator) and PG204 (per-byte spreading): the findings of these rules on every fixture submission
must be exactly the expected (code, line, level); on all other fixtures they must be silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.analysis import Analysis
from auditor.findings import Provenance
from auditor.registry import all_rules
from auditor.source import SourceFile

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
OURS = ("PG104", "PG202", "PG204", "PG503")
RULES = [r for r in all_rules() if r.code in OURS]

EXPECTED = {
    # val_bpb = (loss_sum / tok_count) / ln 2 while byte_sum is measured with the LUTs and only logged
    "illegal_bpb_token_denominator": {("PG503", 198, "FAIL")},
}


def _findings(case: str) -> set[tuple[str, int, str]]:
    path = EXAMPLES / f"{case}.py"
    a = Analysis(SourceFile(str(path), path.read_text(), "0" * 64, Provenance(str(path))))
    return {(f.code, f.line, f.level.name) for rule in RULES for f in rule().check(a) if f is not None}


def test_rules_are_registered() -> None:
    assert sorted(r.code for r in RULES) == sorted(OURS)


@pytest.mark.parametrize("case", sorted(p.stem for p in EXAMPLES.glob("*.py")))
def test_fixture_findings(case: str) -> None:
    assert _findings(case) == EXPECTED.get(case, set())
