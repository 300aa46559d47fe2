"""PR and leaderboard modes: which record folders to audit, auditing them, and the leaderboard table.

- PR mode: the inputs a PR changes code in (:func:`auditor.package.discovery.pr_inputs`, shared with
  PG708), compared with the merge base or, for a PR sharing no history with the base, with the empty
  tree; written out at ``head`` file by file (``git ls-tree`` + ``git cat-file --batch``: a blob the
  clone lacks skips that file with a notice; the checkout is never touched, nothing is executed),
  audited, and reported under their repository paths; the PR's scope is checked by PG708.
- Leaderboard mode: every folder under ``records/<track>/`` (of a checkout, or of a ref), audited
  with a progress bar, summarised in a Markdown and an HTML table.

A folder with ``train_gpt.py`` gets the full engine audit (static + package, dynamic when asked);
one without it (other entry names, missing script) gets the package stage alone, so every folder
yields a verdict.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from auditor.findings import InputResult, Level, Verdict
from auditor.package.check import Sota
from auditor.package.discovery import (  # noqa: F401 - re-exported: PR mode's callers import them from here
    TRACKS, Change, added_folders, pr_inputs, record_folder_of)
from auditor.package.verify import FolderError, verify_folder
from rules.package.pg708_pr_scope import PrScope



class GitError(Exception):
    """git failed or is missing (a one-line message for the CLI)."""


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False, input=input)
    except FileNotFoundError as exc:
        raise GitError("git is not on PATH") from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]} in {repo}: {detail[-1] if detail else 'failed'}")
    return done.stdout


def resolve_commit(repo: Path, ref: str) -> str:
    """The commit ``ref`` names; a one-line GitError naming the ref when there is none."""
    if not (Path(repo) / ".git").exists() and not (Path(repo) / "HEAD").is_file():
        raise GitError(f"{repo}: not a git repository")
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(f"no commit {ref!r} in {repo}") from None


#: git's empty tree: what a PR that shares no history with the base branch is compared with
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass(frozen=True)
class Base:
    """What a PR head is compared with: the merge base, or the empty tree (``note`` says why)."""

    tree: str
    note: str | None = None


def merge_base(repo: Path, base: str, commit: str) -> Base:
    """The merge base of ``base`` and ``commit``; the empty tree when they share no history."""
    done = subprocess.run(["git", "-C", str(repo), "merge-base", base, commit], capture_output=True, check=False)
    if done.returncode == 0 and done.stdout.strip():
        return Base(done.stdout.decode().strip())
    if done.returncode == 1 and not done.stderr.strip():  # git's answer for "no common ancestor"
        return Base(EMPTY_TREE, f"{commit[:12]} shares no history with {base}: compared with the empty tree")
    detail = done.stderr.decode(errors="replace").strip().splitlines()
    raise GitError(f"git merge-base in {repo}: {detail[-1] if detail else 'failed'}")


def pr_changes(repo: Path, base: str | Base, head: str) -> list[Change]:
    """Files the PR changes: ``git diff --name-status`` from the merge base of ``base`` and ``head``
    (the empty tree when there is none) to ``head``."""
    since = base if isinstance(base, Base) else merge_base(repo, base, head)
    out = git(repo, "diff", "--name-status", "--no-renames", "-z", since.tree, head).decode(errors="replace")
    parts = [p for p in out.split("\0") if p]
    return [Change(parts[i][0], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


#: where a PR's fork point is looked for, in order (a mirror has no ``origin/*``; a clone may lack ``main``)
DEFAULT_BRANCHES = ("origin/HEAD", "origin/main", "main", "origin/master", "master", "HEAD")


def default_base(repo: Path, commit: str) -> Base:
    """The merge base of ``commit`` with the first default branch it is not already part of; the empty
    tree when ``commit`` shares no history with that branch."""
    for branch in DEFAULT_BRANCHES:
        try:
            tip = git(repo, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}").decode().strip()
        except GitError:
            continue
        base = merge_base(repo, tip, commit)
        if base.note is not None:
            return Base(base.tree, base.note.replace(tip, branch) if tip in base.note else base.note)
        if base.tree != commit:
            return base
    raise GitError(f"{commit[:12]} has no commits beyond the default branch; nothing to audit")


# ----- reading files out of git --------------------------------------------------------------------------
@dataclass(frozen=True)
class Skipped:
    """A file that could not be written out, and why (reported, never fatal)."""

    path: str
    reason: str


@contextmanager
def materialized(repo: Path, commit: str, paths: Sequence[str], skipped: list[Skipped] | None = None) -> Iterator[Path]:
    """Write ``paths`` (files or folders) as they are at ``commit`` into a temporary directory
    (removed afterwards), file by file: ``git ls-tree`` lists them, one ``git cat-file --batch`` reads
    them. A blob missing from the clone (shallow or partial snapshots omit large files) is left out and
    recorded in ``skipped``, as are symbolic links and submodules; nothing else is fatal."""
    scratch = Path(tempfile.mkdtemp(prefix="pgolf-audit-pr-"))
    try:
        write_tree(repo, commit, paths, scratch, skipped if skipped is not None else [])
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_tree(repo: Path, commit: str, paths: Sequence[str], dest: Path, skipped: list[Skipped]) -> list[str]:
    """Write the files under ``paths`` at ``commit`` below ``dest``; return the paths written."""
    if not paths:
        return []
    listing = git(repo, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths).decode(errors="surrogateescape")
    blobs: list[tuple[str, str, str]] = []  # (mode, oid, path)
    for entry in filter(None, listing.split("\0")):
        meta, _, path = entry.partition("\t")
        mode, kind, oid = meta.split()
        if kind != "blob" or mode == "120000":
            skipped.append(Skipped(path, "a symbolic link" if mode == "120000" else f"a {kind}, not a file"))
            continue
        if not _safe(path):
            skipped.append(Skipped(path, "an unsafe path"))
            continue
        blobs.append((mode, oid, path))
    if not blobs:
        return []
    # streamed, one object at a time, so a large file (a model, a dataset) never sits in memory whole
    try:
        proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise GitError("git is not on PATH") from exc
    assert proc.stdin is not None and proc.stdout is not None
    feeder = threading.Thread(target=_feed, args=(proc.stdin, [oid for _, oid, _ in blobs]), daemon=True)
    feeder.start()
    written: list[str] = []
    try:
        for mode, oid, path in blobs:
            header = proc.stdout.readline().decode(errors="replace").split()
            if len(header) < 3 or header[1] == "missing":
                skipped.append(Skipped(path, "its content is not in this clone (a partial or shallow snapshot)"))
                continue
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as fh:
                _copy(proc.stdout, fh, int(header[2]))
            proc.stdout.read(1)  # the newline after the content
            if mode == "100755":
                target.chmod(0o755)
            written.append(path)
    finally:
        proc.stdout.close()
        feeder.join()
        proc.wait()
    return written


def _feed(stdin: IO[bytes], oids: list[str]) -> None:
    try:
        for oid in oids:
            stdin.write(f"{oid}\n".encode())
        stdin.close()
    except (BrokenPipeError, ValueError):  # git stopped reading (it failed): the reader sees the end
        pass


def _copy(src: IO[bytes], dst: IO[bytes], size: int) -> None:
    while size > 0:
        chunk = src.read(min(size, 1 << 20))
        if not chunk:
            raise GitError("git cat-file stopped before the end of a file")
        dst.write(chunk)
        size -= len(chunk)


def _safe(path: str) -> bool:
    parts = path.split("/")
    return not path.startswith("/") and ".." not in parts and "" not in parts and ".git" not in parts


def package_only(folder: Path, sota: Sota | None = None, select: Sequence[str] = (), ignore: Sequence[str] = (),
                 bpb_tolerance: float = 1e-5) -> InputResult:
    """The package stage alone, as an :class:`InputResult` (for folders the engine does not take)."""
    result = InputResult(path=str(folder), sha256=None)
    try:
        result.findings, result.extra = verify_folder(folder, sota=sota, select=select, ignore=ignore,
                                                      bpb_tolerance=bpb_tolerance)
    except FolderError as exc:
        result.error = str(exc)
    return result


def audit_folders(
    folders: Sequence[Path],
    full: bool = True,
    dynamic: bool | None = None,
    jobs: int = 1,
    progress: bool = False,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> list[InputResult]:
    """Audit each folder: the engine for folders with train_gpt.py when ``full``, else the package stage
    (a file among ``folders`` is a loose script: the engine's static stage)."""
    from auditor.batch import run_batch
    from auditor.engine import AuditOptions, is_record_folder

    results: dict[int, InputResult] = {}
    # a loose script has no package stage: the engine's static audit is all it gets, even when not ``full``
    engine_inputs = [(i, f) for i, f in enumerate(folders) if f.is_file() or full and is_record_folder(f)]
    if engine_inputs:
        options = AuditOptions(select=tuple(select), ignore=tuple(ignore), dynamic=dynamic)
        for (i, _), r in zip(engine_inputs, run_batch([f for _, f in engine_inputs], options, jobs=jobs, progress=progress)):
            results[i] = r
    rest = [(i, f) for i, f in enumerate(folders) if i not in results]
    with _progress(len(rest), progress and bool(rest)) as advance:
        for i, f in rest:
            results[i] = package_only(f, select=select, ignore=ignore)
            advance()
    return [results[i] for i in range(len(folders))]


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]verifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=False) as bar:
        task = bar.add_task("", total=total)
        yield lambda: bar.advance(task)


def relabel(result: InputResult, old: str, new: str) -> None:
    """Report a result audited in a scratch copy under its repository path."""
    def swap(path: str) -> str:
        return os.path.normpath(new + path[len(old):]) if path.startswith(old) else path

    result.path = swap(result.path)
    if result.error:
        result.error = result.error.replace(old, new)
    for f in result.findings:
        f.path = swap(f.path)
        if f.code == "PG950":  # a crash names its input in the message
            f.message = f.message.replace(old, new)
        if f.provenance is not None:
            f.provenance = replace(f.provenance, packed_path=swap(f.provenance.packed_path))
    if "helpers" in result.extra:
        result.extra["helpers"] = [swap(p) for p in result.extra["helpers"]]
    for item in result.extra.get("opaque", []):
        item["path"] = swap(item["path"])
    if isinstance(result.extra.get("seeds"), list):
        for row in result.extra["seeds"]:
            if isinstance(row.get("log"), str):
                row["log"] = swap(row["log"])


def audit_pr(repo: Path, base: str, head: str, full: bool = True, dynamic: bool | None = None, jobs: int = 1,
             progress: bool = False, select: Sequence[str] = (), ignore: Sequence[str] = (),
             notices: list[str] | None = None) -> list[InputResult]:
    """Audit every input the PR changes code in (:func:`~auditor.package.discovery.pr_inputs`), plus its
    scope (PG708), reported under repo paths. ``notices`` receives one line per thing the user should
    know that is no finding: a comparison with the empty tree, files the clone lacks."""
    notices = notices if notices is not None else []
    commit = resolve_commit(repo, head)
    since = merge_base(repo, resolve_commit(repo, base), commit)
    if since.note:  # said with the names the user gave
        note = f"{head} shares no history with {base}: compared with the empty tree"
        since = Base(since.tree, note)
        notices.append(note)
    changes = pr_changes(repo, since, commit)
    git_info: dict[str, Any] = {"base": base, "head": head, "commit": commit, "compared_with": since.tree}
    if since.note:
        git_info["note"] = since.note
    results = audit_changes(repo, commit, changes,
                            lambda paths: audit_folders(paths, full, dynamic, jobs, progress, select, ignore),
                            notices, git_info)
    scope = [f for f in PrScope.check_changes(changes, repo) if _selected(f.code, select, ignore)]
    if scope or not results:
        results.append(InputResult(path=str(repo), sha256=None, findings=scope,
                                   extra={"git": git_info, "changed_files": len(changes)}))
    return results


def audit_changes(repo: Path, commit: str, changes: Sequence[Change],
                  audit: Callable[[list[Path]], list[InputResult]],
                  notices: list[str] | None = None, git_info: dict[str, Any] | None = None) -> list[InputResult]:
    """Write the inputs ``changes`` touch, as they are at ``commit``, into a scratch folder, ``audit``
    them, and report them under their repository paths; files the clone lacks are skipped, each with a
    line in ``notices`` and in its input's ``extra["skipped"]``."""
    inputs = pr_inputs(changes).audited
    if not inputs:
        return []
    skipped: list[Skipped] = []
    with materialized(repo, commit, inputs, skipped) as scratch:
        present = [r for r in inputs if (scratch / r).exists()]
        by_rel = dict(zip(present, audit([scratch / r for r in present]) if present else []))
        results = []
        for rel in inputs:
            result = by_rel.get(rel) or InputResult(
                path=str(scratch / rel), sha256=None, error=f"{scratch / rel}: no file of it could be read from this clone")
            relabel(result, str(scratch), str(repo))
            result.extra["git"] = dict(git_info or {"commit": commit})
            lost = [{"path": k.path, "reason": k.reason} for k in skipped if k.path == rel or k.path.startswith(rel + "/")]
            if lost:
                result.extra["skipped"] = lost
            results.append(result)
    if notices is not None:
        notices += [f"{k.path}: not audited: {k.reason}" for k in skipped]
    return results


def _selected(code: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    from auditor.registry import code_selected

    return code_selected(code, select, ignore)


def record_folders(root: Path) -> list[Path]:
    """Every ``records/<track>/<folder>`` under a checkout (or an extracted tree), sorted."""
    out = []
    for track in TRACKS:
        base = root / "records" / track
        if base.is_dir():
            out += sorted(p for p in base.iterdir() if p.is_dir())
    return out


# ----- leaderboard table ---------------------------------------------------------------------------
COLUMNS = ("Folder", "Verdict", "Claimed bpb", "Logged bpb", "Max bytes", "Max train s", "Max eval s", "Findings")


def leaderboard_rows(results: Sequence[InputResult], root: Path) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        seeds = r.extra.get("seeds") or []
        def biggest(key: str) -> float | None:
            values = [s[key] for s in seeds if isinstance(s.get(key), (int, float))]
            return max(values) if values else None
        counts = {lvl: sum(1 for f in r.findings if f.level is lvl) for lvl in (Level.FAIL, Level.REVIEW, Level.WARN)}
        top = sorted({f.code for f in r.findings if f.level >= Level.REVIEW})
        rows.append({
            "folder": _rel(r.path, root),
            "verdict": r.verdict.value,
            "claimed_val_bpb": r.extra.get("claimed_val_bpb"),
            "logged_val_bpb_mean": r.extra.get("logged_val_bpb_mean"),
            "max_bytes_total": biggest("bytes_total"),
            "max_train_seconds": biggest("train_seconds"),
            "max_eval_seconds": biggest("eval_seconds"),
            "findings": ", ".join(f"{n} {lvl.name}" for lvl, n in counts.items() if n) or "none",
            "codes": top,
            "error": r.error,
        })
    return rows


def _rel(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def _cells(row: dict[str, Any]) -> list[str]:
    def num(v: Any, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)
    findings = row["findings"] + (f" ({', '.join(row['codes'])})" if row["codes"] else "")
    if row["error"]:
        findings = f"error: {row['error']}"
    return [row["folder"], row["verdict"], num(row["claimed_val_bpb"], ".5f"), num(row["logged_val_bpb_mean"], ".5f"),
            num(row["max_bytes_total"], ",.0f"), num(row["max_train_seconds"], ".1f"),
            num(row["max_eval_seconds"], ".1f"), findings]


def leaderboard_markdown(rows: Sequence[dict[str, Any]]) -> str:
    from auditor.report.markdown import escape

    out = ["# pgolf-audit leaderboard audit", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        out.append("| " + " | ".join(escape(c) for c in _cells(row)) + " |")
    tally = {v.value: sum(1 for r in rows if r["verdict"] == v.value) for v in Verdict}
    out += ["", " · ".join(f"{k}: {n}" for k, n in tally.items()), ""]
    return "\n".join(out)


def leaderboard_html(rows: Sequence[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "\n".join(
        f'<tr class="{html.escape(row["verdict"].lower())}">' + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(row)) + "</tr>"
        for row in rows)
    style = ("body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
             "tr.fail td:nth-child(2){color:#b00}tr.review td:nth-child(2){color:#a60}tr.pass td:nth-child(2){color:#070}")
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>pgolf-audit leaderboard</title>"
            f"<style>{style}</style></head><body>\n<h1>pgolf-audit leaderboard audit</h1>\n"
            f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></body></html>\n")
