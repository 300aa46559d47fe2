"""What to audit: command-line paths and globs, or the record folders a git ref adds or changes.

A *record folder* is a folder that holds ``submission.json`` or ``train_gpt.py``. A folder that
holds record folders below it (``records/``, a track folder) expands to each of them; any other
folder with Python scripts is audited as one folder.
"""

from __future__ import annotations

import glob
import io
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

from auditor.decode import InputError

RECORD_MARKERS = ("submission.json", "train_gpt.py")
DEFAULT_BRANCHES = ("origin/HEAD", "origin/main", "main", "origin/master", "master", "HEAD")
_SKIP_DIRS = {".git", "__pycache__", "node_modules"}


def is_record_folder(path: Path) -> bool:
    return path.is_dir() and any((path / m).is_file() for m in RECORD_MARKERS)


def expand_inputs(args: list[str]) -> list[Path]:
    """Files stay files; record folders stay folders; folders of record folders expand; globs
    expand. Order follows the arguments, then sorted paths; duplicates are dropped."""
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        if not path.exists() and glob.has_magic(arg):
            matches = sorted(Path(m) for m in glob.glob(arg, recursive=True))
            if not matches:
                raise InputError(f"{arg}: the pattern matches nothing")
            for match in matches:
                out += _expand(match)
        elif not path.exists():
            raise InputError(f"{arg}: no such file or folder")
        else:
            out += _expand(path)
    return list(dict.fromkeys(out))


def _expand(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if is_record_folder(path):
        return [path]
    nested = _record_folders(path)
    if nested:
        return nested
    if any(path.glob("*.py")):
        return [path]
    raise InputError(f"{path}: no record folder and no Python script in this folder")


def _record_folders(root: Path) -> list[Path]:
    found: list[Path] = []
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS)
    except OSError:
        return []
    for child in children:
        if is_record_folder(child):
            found.append(child)
        else:
            found += _record_folders(child)
    return found


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise InputError("git is not installed (needed for a git ref input)") from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"git {args[0]} failed in {repo}: {detail[-1] if detail else 'no output'}")
    return done.stdout


def _commit(repo: Path, ref: str) -> str | None:
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                          capture_output=True, check=False)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def git_ref_inputs(repo: Path, ref: str, workdir: Path) -> list[Path]:
    """Record folders that ``ref`` adds or modifies under ``records/`` (relative to its merge-base
    with the default branch), extracted whole into ``workdir`` with ``git archive``; the
    repository's work tree is never touched. Returns the folders under ``workdir`` (empty when the
    ref changes no Python file under ``records/``)."""
    repo = Path(repo)
    if not (repo / ".git").exists() and _commit(repo, "HEAD") is None:
        raise InputError(f"{repo} is not a git repository")
    commit = _commit(repo, ref)
    if commit is None:
        raise InputError(f"unknown git ref {ref!r} in {repo}")
    base = _merge_base(repo, commit)
    changed = _git(repo, "diff", "--name-only", "--diff-filter=AM", "-z", base, commit, "--", "records")
    folders: list[str] = []
    for name in changed.decode("utf-8", "replace").split("\0"):
        if name.endswith(".py"):
            folder = _record_folder_of(PurePosixPath(name))
            if folder not in folders:
                folders.append(folder)
    out = []
    for folder in folders:
        archive = _git(repo, "archive", "--format=tar", commit, "--", folder)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(workdir, filter="data")
        out.append(Path(workdir) / folder)
    return out


def _merge_base(repo: Path, commit: str) -> str:
    """The fork point from the first default-branch candidate that ``commit`` is not already on."""
    for branch in DEFAULT_BRANCHES:
        tip = _commit(repo, branch)
        if tip is None:
            continue
        base = _git(repo, "merge-base", commit, tip).decode().strip()
        if base != commit:
            return base
    raise InputError(f"{commit[:12]} has no commits beyond the default branch; nothing to audit")


def _record_folder_of(path: PurePosixPath) -> str:
    """``records/<track>/<folder>`` for a file below it (helpers may sit in subfolders), else the
    file's own folder."""
    parts = path.parts
    return "/".join(parts[:3]) if len(parts) > 3 else str(path.parent)
