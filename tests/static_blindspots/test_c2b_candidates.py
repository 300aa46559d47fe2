"""C2-b reported as C2-b: a hashed candidate gather divided by the context count plus a constant
(PG202, at the division), and its legal twin dividing by the summed candidate mass."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.engine import AuditOptions, audit

FILES = Path(__file__).parent / "files"


@pytest.mark.parametrize(("name", "expected"), [
    ("hashed_candidates_ctx_denominator", {("PG202", "C2-b", 25, "FAIL")}),
    ("hashed_candidates_summed_mass", set()),
])
def test_candidate_denominator(name: str, expected: set) -> None:
    result = audit(FILES / f"{name}.py", AuditOptions(dynamic=False))
    assert result.error is None
    got = {(f.code, f.rule, f.line, f.level.name) for f in result.findings if f.rule.startswith(("C1", "C2", "C3"))}
    assert got == expected


def test_the_denominator_is_named() -> None:
    result = audit(FILES / "hashed_candidates_ctx_denominator.py", AuditOptions(dynamic=False))
    (finding,) = [f for f in result.findings if f.code == "PG202"]
    assert "`self.ctx_counts[ctx][:, None] + beta`" in finding.message


@pytest.mark.parametrize(("name", "expected"), [
    # BPB-FORMULA decides by what the index is: `tgt` is the same label slice as the loss's `targets`
    ("sliding_bytes_alias", set()),
    # the look-alike bug: bytes read at the inputs' slice
    ("sliding_bytes_inputs", {("PG503", 42, "FAIL")}),
])
def test_byte_positions_through_aliases(name: str, expected: set) -> None:
    result = audit(FILES / f"{name}.py", AuditOptions(dynamic=False))
    assert result.error is None
    assert {(f.code, f.line, f.level.name) for f in result.findings if f.code == "PG503"} == expected
