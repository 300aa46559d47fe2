"""Every rule's inline VALID and INVALID examples, run as tests with exact expected lines (Fixit style,
pylint-exact): a VALID snippet yields no finding of that rule, an INVALID one exactly its lines and levels."""

from __future__ import annotations

import pytest

from auditor.analysis import Analysis
from auditor.findings import Provenance
from auditor.registry import all_rules
from auditor.rule import Invalid, Rule, Valid
from auditor.source import SourceFile


def _cases() -> list:
    params = []
    for rule in all_rules():
        for i, case in enumerate(rule.VALID):
            params.append(pytest.param(rule, case, id=f"{rule.code}-valid-{i}"))
        for i, case in enumerate(rule.INVALID):
            params.append(pytest.param(rule, case, id=f"{rule.code}-invalid-{i}"))
    return params


def run_rule(rule: type[Rule], text: str) -> list[tuple[int, str]]:
    source = SourceFile("case.py", text, "0" * 64, Provenance("case.py"))
    findings = [f for f in rule().check(Analysis(source)) if f is not None]
    return sorted((f.line, f.level.name) for f in findings)


@pytest.mark.parametrize(("rule", "case"), _cases())
def test_rule_case(rule: type[Rule], case: Valid | Invalid) -> None:
    got = run_rule(rule, case.source)
    if isinstance(case, Valid):
        assert got == [], f"{rule.code} fired on a VALID case ({case.note}): {got}"
    else:
        level = (case.level or rule.level).name
        assert got == [(line, level) for line in sorted(case.expected_lines)], case.note


def test_every_rule_has_examples_and_docs() -> None:
    sections = ("What it detects", "Why it breaks the metric", "Legal alternative", "Ruling", "Known gaps")
    for rule in all_rules():
        assert rule.VALID and rule.INVALID, f"{rule.code} needs VALID and INVALID cases"
        doc = rule.doc()
        missing = [s for s in sections if s not in doc]
        assert not missing, f"{rule.code} doc page lacks sections {missing}"
        assert rule.code.startswith("PG") and len(rule.code) == 5
        assert rule.rule_id and rule.name == rule.name.lower()
