"""Hand-built results shared by the reporter tests: every level, a packed script, a waiver, an ERROR."""

from __future__ import annotations

from pathlib import Path

import pytest

from findings_factory import finding

from auditor.findings import Confidence, InputResult, Level, Provenance, Source
from auditor.report import ReportContext

ROOT = Path("/repo")


@pytest.fixture
def ctx() -> ReportContext:
    return ReportContext(root=ROOT, width=100)


@pytest.fixture
def results(sample_catalog) -> list[InputResult]:
    plain = InputResult(
        path="/repo/records/a/train_gpt.py",
        sha256="a" * 64,
        findings=[
            finding(level=Level.INFO, line=9, message="context only", confidence=Confidence.LOW),
            finding(level=Level.FAIL, line=2, end_line=3, data={"excerpt": {"start": 1, "lines": ["x = 1", "leak(x)", "y = 2"]}}),
            finding(level=Level.REVIEW, line=5, message="maybe() may leak", confidence=Confidence.MEDIUM),
            finding(code="PG999", rule="ART-CODE-COUNT", name="uncounted-helper", level=Level.WARN, line=1, source=Source.PACKAGE, message="helper not counted"),
            finding(line=7, waived={"reason": "counted by maintainers", "ruling": "https://github.com/openai/parameter-golf/pull/2"}),
        ],
        seconds=0.25,
    )
    packed_path = "/repo/records/b/train_gpt.py"
    packed = InputResult(
        path=packed_path,
        sha256="b" * 64,
        findings=[finding(path=packed_path, line=40, provenance=Provenance(packed_path, ("b85", "lzma"), wrapper_line=3))],
        extra={"decoded": {"chain": ["b85", "lzma"], "sha256": "c" * 64}},
    )
    broken = InputResult(path="/repo/records/c/train_gpt.py", sha256=None, error="syntax error at line 1: invalid syntax")
    return [plain, packed, broken]
