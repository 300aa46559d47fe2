"""Shared pytest setup: the ``--update-golden`` option and the test-only rule PG990 (``sample_catalog``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # test helpers: findings_factory, sample_rule


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/expected/*.json from the current output (review the diff before committing)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def sample_catalog(monkeypatch: pytest.MonkeyPatch):
    """Make the test-only rule PG990 (tests/sample_rule.py) part of the catalog for one test."""
    from sample_rule import SampleLeak

    import auditor.registry as registry
    import auditor.report as report
    import auditor.report.rule_docs as rule_docs
    import auditor.report.sarif as sarif

    real_catalog, real_rules = registry.catalog, registry.all_rules
    catalog = lambda: tuple(sorted((*real_catalog(), SampleLeak), key=lambda r: r.code))  # noqa: E731
    all_rules = lambda: tuple(sorted((*real_rules(), SampleLeak), key=lambda r: r.code))  # noqa: E731

    def rule_by_code(code: str):
        return next((r for r in catalog() if r.code == code.upper()), None)

    def select(select=(), ignore=()):
        return [r for r in registry.all_rules() if registry.code_selected(r.code, select, ignore)]

    monkeypatch.setattr(registry, "catalog", catalog)
    monkeypatch.setattr(registry, "all_rules", all_rules)
    monkeypatch.setattr(registry, "rule_by_code", rule_by_code)
    monkeypatch.setattr(registry, "select", select)
    monkeypatch.setattr(report, "rule_by_code", rule_by_code)
    monkeypatch.setattr(sarif, "catalog", catalog)
    monkeypatch.setattr(rule_docs, "catalog", catalog)
    return SampleLeak
