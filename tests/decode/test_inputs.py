"""Input expansion and git-ref materialization (on a throwaway repository made here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.decode import InputError
from auditor.decode.inputs import expand_inputs, git_ref_inputs


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_expand_files_folders_and_globs(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "records/track_a/2026-01-01_X/train_gpt.py": "x = 1\n",
        "records/track_a/2026-01-02_Y/submission.json": "{}",
        "records/track_b/2026-01-03_Z/train_gpt.py": "x = 1\n",
        "loose/script.py": "x = 1\n",
    })
    r = tmp_path / "records"
    assert expand_inputs([str(r)]) == [r / "track_a/2026-01-01_X", r / "track_a/2026-01-02_Y", r / "track_b/2026-01-03_Z"]
    assert expand_inputs([str(r / "track_b/2026-01-03_Z")]) == [r / "track_b/2026-01-03_Z"]
    assert expand_inputs([str(r / "track_*/*/train_gpt.py")]) == [
        r / "track_a/2026-01-01_X/train_gpt.py", r / "track_b/2026-01-03_Z/train_gpt.py"]
    assert expand_inputs([str(tmp_path / "loose"), str(tmp_path / "loose")]) == [tmp_path / "loose"]
    with pytest.raises(InputError, match="no such file or folder"):
        expand_inputs([str(tmp_path / "nope")])
    with pytest.raises(InputError, match="the pattern matches nothing"):
        expand_inputs([str(tmp_path / "nope*/x.py")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no record folder and no Python script"):
        expand_inputs([str(tmp_path / "empty")])


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "HOME": str(repo), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env).stdout


def test_git_ref_materializes_changed_record_folders(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _tree(repo, {"train_gpt.py": "root = 1\n", "records/t/2026-01-01_Old/train_gpt.py": "old = 1\n",
                 "records/t/2026-01-01_Old/README.md": "old\n"})
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "checkout", "-q", "-b", "pr")
    _tree(repo, {"records/t/2026-02-02_New/train_gpt.py": "new = 1\n", "records/t/2026-02-02_New/helper.py": "h = 1\n",
                 "records/t/2026-02-02_New/csrc/k.cu": "// k\n", "records/t/2026-02-02_New/train.log": "log\n",
                 "records/t/2026-01-01_Old/train_gpt.py": "old = 2\n"})
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "pr")
    _git(repo, "checkout", "-q", "main")
    _tree(repo, {"records/t/2026-03-03_Later/train_gpt.py": "later = 1\n"})  # on main after the fork
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "later")
    work = tmp_path / "work"
    work.mkdir()
    got = git_ref_inputs(repo, "pr", work)
    assert got == [work / "records/t/2026-01-01_Old", work / "records/t/2026-02-02_New"]
    new = work / "records/t/2026-02-02_New"
    assert sorted(p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file()) == [
        "csrc/k.cu", "helper.py", "train.log", "train_gpt.py"]
    assert (work / "records/t/2026-01-01_Old/train_gpt.py").read_text() == "old = 2\n"
    assert _git(repo, "status", "--porcelain") == ""  # the user's checkout is untouched
    with pytest.raises(InputError, match="unknown git ref 'no-such-branch'"):
        git_ref_inputs(repo, "no-such-branch", work)
    with pytest.raises(InputError, match="not a git repository"):
        git_ref_inputs(tmp_path / "work", "HEAD", work)
