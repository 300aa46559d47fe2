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


def test_a_folder_with_nothing_to_audit_does_not_stop_the_batch(tmp_path: Path, capsys) -> None:
    import json

    from auditor.cli import main

    (tmp_path / "ok.py").write_text("x = 1\n")
    rust = tmp_path / "rust_only"
    rust.mkdir()
    (rust / "main.rs").write_text("fn main() {}\n")
    code = main([str(tmp_path / "ok.py"), str(rust), "--no-dynamic", "--format", "json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 2
    assert [(Path(i["path"]).name, i["verdict"], i["error"]) for i in report["inputs"]] == [
        ("ok.py", "PASS", None), ("rust_only", "ERROR", f"{rust}: a folder to audit must contain train_gpt.py")]
    assert err == f"pgolf-audit: error: {rust}: a folder to audit must contain train_gpt.py\n"
    assert main([str(rust)]) == 2  # alone, it is still a usage error
    assert capsys.readouterr().err == f"pgolf-audit: error: {rust}: no Python files or record folders (with train_gpt.py) found\n"
