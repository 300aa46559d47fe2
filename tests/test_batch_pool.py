"""The batch engine keeps one worker pool per process across ``run_batch`` calls (issue 16), and drops
it when the rule catalog it was forked with changes or a worker dies."""

from __future__ import annotations

from pathlib import Path

from auditor import batch
from auditor.batch import run_batch
from auditor.engine import AuditOptions


def test_pool_is_reused_across_batches(tmp_path: Path) -> None:
    files = []
    for i in range(3):
        files.append(tmp_path / f"s{i}.py")
        files[-1].write_text(f"x = {i}\n")
    first = run_batch(files, AuditOptions(), jobs=2)
    pools = list(batch._shared.values())
    second = run_batch(files[:2], AuditOptions(), jobs=2)
    assert [r.verdict.value for r in first] == ["PASS"] * 3 and [r.path for r in second] == [str(f) for f in files[:2]]
    assert len(pools) == 1 and list(batch._shared.values()) == pools


def test_a_changed_catalog_gets_a_fresh_pool(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    run_batch([a, b], AuditOptions(), jobs=2)
    before = list(batch._shared.values())
    from rules.data_access.pg405_val_subset import ValSubset

    original = ValSubset.check
    try:
        ValSubset.check = lambda self, an: iter(())  # type: ignore[method-assign]
        run_batch([a, b], AuditOptions(), jobs=2)
        after = list(batch._shared.values())
    finally:
        ValSubset.check = original  # type: ignore[method-assign]
    assert len(after) == 1 and after != before
