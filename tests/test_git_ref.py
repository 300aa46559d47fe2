"""``pgolf-audit check --git-ref REF``: a PR head's record folders are audited from git, never from the
user's work tree, and reported under their repository paths."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from auditor.cli import main

TRACK = "records/track_10min_16mb"


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "HOME": str(repo), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env).stdout


def _commit(repo: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, {"train_gpt.py": "root = 1\n", f"{TRACK}/2026-01-01_Old/train_gpt.py": "old = 1\n"}, "base")
    _git(repo, "checkout", "-q", "-b", "pr")
    _commit(repo, {f"{TRACK}/2026-02-02_New/train_gpt.py": "new = 1\n", f"{TRACK}/2026-02-02_New/helper.py": "h = 1\n",
                   f"{TRACK}/2026-01-01_Old/train_gpt.py": "old = 2\n"}, "pr")
    _git(repo, "checkout", "-q", "main")
    _commit(repo, {f"{TRACK}/2026-03-03_Later/train_gpt.py": "later = 1\n"}, "later on main")
    return repo


def test_git_ref_without_paths_audits_the_folders_the_ref_adds(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    out = tmp_path / "report.json"
    code = main(["check", "--git-ref", "pr", "--repo", str(repo), "--no-dynamic", "--format", "json", "-o", str(out),
                 "--select", "PG9"])
    report = json.loads(out.read_text())
    # reported relative to the repository, as SARIF and annotations need them
    assert sorted(i["path"] for i in report["inputs"]) == [f"{TRACK}/2026-01-01_Old", f"{TRACK}/2026-02-02_New"]
    assert {i["verdict"] for i in report["inputs"]} == {"PASS"} and code == 0
    assert _git(repo, "status", "--porcelain") == ""  # the user's checkout is untouched


def test_unknown_ref_and_missing_paths_exit_2(tmp_path: Path, capsys) -> None:
    repo = _repo(tmp_path)
    assert main(["check", "--git-ref", "no-such-branch", "--repo", str(repo)]) == 2
    assert "unknown git ref 'no-such-branch'" in capsys.readouterr().err
    assert main(["check"]) == 2
    assert "name at least one PATH" in capsys.readouterr().err
