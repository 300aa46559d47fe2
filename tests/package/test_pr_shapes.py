"""``pgolf-audit pr`` on the PR shapes real queues hold (issue 16): no shared history, a blob missing
from the clone, a ref that does not exist, a folder directly under ``records/``, a change to logs only,
a loose script in a track folder. Each is a throwaway repository written by us."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.package.discovery import Change, pr_inputs, record_folder_of
from auditor.package.modes import EMPTY_TREE, audit_pr

TRACK = "records/track_10min_16mb"
SCRIPT = "import os\nprint(os.environ.get('SEED', '1'))\n"


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "HOME": str(repo), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env).stdout.strip()


def _commit(repo: Path, files: dict[str, str | bytes], message: str = "c") -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            (repo / name).write_bytes(text)
        else:
            (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _commit(root, {"train_gpt.py": SCRIPT, f"{TRACK}/2026-01-01_Old/train_gpt.py": SCRIPT,
                   f"{TRACK}/2026-01-01_Old/README.md": "# old\n"}, "base")
    return root


def _pr(repo: Path, branch: str, files: dict[str, str | bytes], orphan: bool = False) -> None:
    if orphan:
        _git(repo, "checkout", "-q", "--orphan", branch)
        _git(repo, "rm", "-rq", "--cached", ".")
        for p in list(repo.iterdir()):
            if p.name != ".git":
                subprocess.run(["rm", "-rf", str(p)], check=True)
    else:
        _git(repo, "checkout", "-q", "-b", branch, "main")
    _commit(repo, files, branch)
    _git(repo, "checkout", "-q", "main")


def _run(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = main(["pr", *argv, "--package-only", "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_pr_inputs_is_the_one_discovery() -> None:
    changes = [Change("A", f"{TRACK}/2026-02-02_New/train_gpt.py"), Change("A", f"{TRACK}/2026-02-02_New/README.md"),
               Change("M", f"{TRACK}/2026-01-01_Old/train_seed1.log"), Change("A", "records/2026-03-03_Flat/train_gpt.py"),
               Change("A", f"{TRACK}/loose.py"), Change("D", f"{TRACK}/2026-01-01_Gone/train_gpt.py"),
               Change("M", "README.md"), Change("A", "records/track_non_record_16mb/2026-04-04_K/kernel.cu")]
    found = pr_inputs(changes)
    assert found.touched == (f"{TRACK}/2026-02-02_New", f"{TRACK}/2026-01-01_Old", "records/2026-03-03_Flat",
                             "records/track_non_record_16mb/2026-04-04_K")
    assert found.folders == (f"{TRACK}/2026-02-02_New", "records/2026-03-03_Flat", "records/track_non_record_16mb/2026-04-04_K")
    assert found.scripts == (f"{TRACK}/loose.py",)
    assert [record_folder_of(p) for p in ("records/README.md", f"{TRACK}/x.py", "records/a/b/c.py", "src/records/a/b")] == [
        None, None, "records/a", None]


def test_unrelated_history_is_compared_with_the_empty_tree(repo: Path, capsys) -> None:
    _pr(repo, "orphan", {f"{TRACK}/2026-02-02_New/train_gpt.py": SCRIPT, "README.md": "# fork\n"}, orphan=True)
    notices: list[str] = []
    results = audit_pr(repo, "main", "orphan", full=False, notices=notices)
    assert [Path(r.path).relative_to(repo).as_posix() for r in results] == [f"{TRACK}/2026-02-02_New", "."]
    assert results[0].extra["git"]["compared_with"] == EMPTY_TREE
    assert notices == ["orphan shares no history with main: compared with the empty tree"]
    code, report, err = _run(capsys, "--repo", str(repo), "--base", "main", "--head", "orphan")
    assert err.splitlines()[0] == "pgolf-audit: note: orphan shares no history with main: compared with the empty tree"
    assert report is not None and report["inputs"][0]["extra"]["git"]["note"].endswith("compared with the empty tree")
    assert code == 1  # the scope finding (README.md outside the folder) is a FAIL


def test_missing_blob_skips_that_file_with_a_notice(repo: Path, capsys) -> None:
    folder = f"{TRACK}/2026-02-02_New"
    _pr(repo, "pr", {f"{folder}/train_gpt.py": SCRIPT, f"{folder}/final_model.ptz": b"\x00\x01weights" * 1000})
    oid = _git(repo, "rev-parse", f"pr:{folder}/final_model.ptz")
    (repo / ".git" / "objects" / oid[:2] / oid[2:]).unlink()  # as a snapshot without large files has it
    code, report, err = _run(capsys, "--repo", str(repo), "--base", "main", "--head", "pr")
    assert err == f"pgolf-audit: note: {folder}/final_model.ptz: not audited: its content is not in this clone (a partial or shallow snapshot)\n"
    assert report is not None
    (result,) = report["inputs"]
    assert result["path"] == folder and result["error"] is None
    assert result["extra"]["skipped"] == [{"path": f"{folder}/final_model.ptz",
                                           "reason": "its content is not in this clone (a partial or shallow snapshot)"}]
    assert code == 1  # the folder was audited (no submission.json: a package finding), not exit 2


def test_missing_ref_is_one_line_exit_2(repo: Path, capsys) -> None:
    code, report, err = _run(capsys, "--repo", str(repo), "--base", "main", "--head", "refs/pull/999999/head")
    assert (code, report) == (2, None)
    assert err == f"pgolf-audit: error: no commit 'refs/pull/999999/head' in {repo}\n"
    code, _, err = _run(capsys, "--repo", str(repo), "--base", "no-such-base", "--head", "main")
    assert code == 2 and err == f"pgolf-audit: error: no commit 'no-such-base' in {repo}\n"
    code = main(["check", "--git-ref", "refs/pull/999999/head", "--repo", str(repo), "--no-dynamic"])
    assert code == 2
    assert capsys.readouterr().err == (f"pgolf-audit: error: unknown git ref 'refs/pull/999999/head' in {repo} "
                                       f"(no commit 'refs/pull/999999/head' in {repo})\n")


def test_folder_directly_under_records_is_audited_and_flagged(repo: Path, capsys) -> None:
    _pr(repo, "flat", {"records/2026-02-02_Flat/train_gpt.py": SCRIPT, "records/2026-02-02_Flat/README.md": "# flat\n"})
    code, report, _ = _run(capsys, "--repo", str(repo), "--base", "main", "--head", "flat")
    assert report is not None
    assert [i["path"] for i in report["inputs"]] == ["records/2026-02-02_Flat", "."]
    scope = [(f["code"], f["path"], f["message"]) for f in report["inputs"][1]["findings"]]
    assert scope == [("PG708", "records/2026-02-02_Flat/README.md",
                      "records/2026-02-02_Flat/README.md is a record file outside records/<track>/ (a fixable format issue)")]
    assert code == 1


def test_log_only_change_is_not_audited_and_loose_script_is(repo: Path, capsys) -> None:
    _pr(repo, "logs", {f"{TRACK}/2026-01-01_Old/train_seed1.log": "seed:1\n", f"{TRACK}/loose_train.py": SCRIPT})
    code, report, _ = _run(capsys, "--repo", str(repo), "--base", "main", "--head", "logs")
    assert report is not None
    assert [(i["path"], i["kind"], i["verdict"]) for i in report["inputs"]] == [
        (f"{TRACK}/loose_train.py", "file", "PASS"), (".", "folder", "FAIL")]
    scope = sorted(f["message"] for f in report["inputs"][1]["findings"])
    assert scope == [f"the PR changes 1 file(s) outside its record folder: {TRACK}/loose_train.py (a fixable format issue)"]
