"""Whole-file fixtures for the C1/C2, C3-e, network, val-subset and metric rules: every static rule
runs on each fixture, and the findings of these rules must be exactly the expected (code, line, level)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.analysis import Analysis
from auditor.findings import Provenance
from auditor.registry import all_rules
from auditor.source import SourceFile

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
OURS = ("PG101", "PG102", "PG103", "PG201", "PG203", "PG205", "PG305", "PG404", "PG405", "PG501", "PG502")

EXPECTED = {
    "legal_normalized_tilt": set(),
    "legal_bigramhash": set(),
    "illegal_target_in_key_cache": {("PG101", 184, "FAIL"), ("PG201", 185, "FAIL")},
    "illegal_unnormalized_blend": {("PG205", 177, "FAIL")},
    "illegal_target_gated_hint": {("PG102", 189, "FAIL")},
    "illegal_byte_lut_missing_space": {("PG501", 60, "FAIL")},
    "illegal_network_at_eval": {("PG404", 185, "FAIL")},
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_fixture_findings(case: str) -> None:
    path = EXAMPLES / f"{case}.py"
    text = path.read_text()
    a = Analysis(SourceFile(str(path), text, "0" * 64, Provenance(str(path))))
    got = {
        (f.code, f.line, f.level.name)
        for rule in all_rules()
        for f in rule().check(a)
        if f is not None and f.code in OURS
    }
    assert got == EXPECTED[case]
