"""PR mode over a throwaway git repository, and the leaderboard tables."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.package.modes import (added_folders, audit_folders, audit_pr, leaderboard_html, leaderboard_markdown,
                                   leaderboard_rows, pr_changes, record_folders)
from tests.package.records import SCRIPT, make_folder, sliding_log, three_seed_sliding


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    (root / "train_gpt.py").write_text("print('baseline')\n")
    three_seed_sliding(root, "2026-04-01_Old")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    _git(root, "checkout", "-q", "-b", "pr")
    logs = {"train_seed1.log": sliding_log(1, 1.10, 1.86, total=16_000_500, code=len(SCRIPT))}
    make_folder(root, "2026-04-02_New", logs=logs, submission={"name": "n", "author": "a", "github_id": "g",
                                                               "date": "2026-04-02", "val_bpb": 1.10})
    (root / "train_gpt.py").write_text("print('edited')\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "pr")
    return root


def test_pr_mode_audits_the_added_folder_and_flags_the_scope(repo):
    changes = pr_changes(repo, "main", "pr")
    assert added_folders(changes) == ["records/track_10min_16mb/2026-04-02_New"]
    results = audit_pr(repo, "main", "pr", full=False)
    folder, scope = results
    assert folder.path == str(repo / "records/track_10min_16mb/2026-04-02_New")
    fails = sorted((f.code, Path(f.path).name) for f in folder.findings if f.level.name == "FAIL")
    assert fails == [("PG611", "train_seed1.log"), ("PG731", "submission.json")]
    assert [(f.code, Path(f.path).name, f.message) for f in scope.findings] == [
        ("PG708", "train_gpt.py", "the PR changes 1 file(s) outside its record folder: train_gpt.py (a fixable format issue)")]
    assert folder.extra["git"]["commit"] == _git(repo, "rev-parse", "pr")
    assert _git(repo, "status", "--porcelain") == ""  # the checkout is untouched


def test_leaderboard_tables(repo):
    results = audit_folders(record_folders(repo), full=False)
    rows = leaderboard_rows(results, repo)
    assert [(r["folder"], r["verdict"]) for r in rows] == [("records/track_10min_16mb/2026-04-01_Old", "PASS"),
                                                          ("records/track_10min_16mb/2026-04-02_New", "FAIL")]
    md = leaderboard_markdown(rows)
    assert "| records/track_10min_16mb/2026-04-02_New | FAIL | 1.10000 | 1.10000 | 16,000,500 | 599.9 | 72.6 | 2 FAIL (PG611, PG731) |" in md
    html = leaderboard_html(rows)
    assert html.count("<tr class=") == 2 and '<tr class="fail"><td>records/track_10min_16mb/2026-04-02_New</td>' in html
