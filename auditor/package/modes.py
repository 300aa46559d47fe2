"""PR and leaderboard modes: which record folders to audit, auditing them, and the leaderboard table.

- PR mode: the record folders a PR adds (``git diff base...head``), each extracted at ``head`` with
  ``git archive`` (the checkout is never touched, nothing is executed), audited, and reported under
  its repository path; the PR's scope (only one new folder under a track) is checked by PG708.
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
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path
from typing import Any

from auditor.findings import InputResult, Level, Verdict
from auditor.package.check import Sota
from auditor.package.verify import FolderError, verify_folder

TRACKS = ("track_10min_16mb", "track_non_record_16mb")


class GitError(Exception):
    """git failed or is missing (a one-line message for the CLI)."""


def git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitError("git is not on PATH") from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]} in {repo}: {detail[-1] if detail else 'failed'}")
    return done.stdout


@dataclass(frozen=True)
class Change:
    status: str  # git's letter: A added, M modified, D deleted, R renamed, ...
    path: str


def pr_changes(repo: Path, base: str, head: str) -> list[Change]:
    """Files the PR changes: ``git diff --name-status base...head`` (against the merge base)."""
    out = git(repo, "diff", "--name-status", "--no-renames", "-z", f"{base}...{head}").decode(errors="replace")
    parts = [p for p in out.split("\0") if p]
    return [Change(parts[i][0], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


#: where a PR's fork point is looked for, in order (a mirror has no ``origin/*``; a clone may lack ``main``)
DEFAULT_BRANCHES = ("origin/HEAD", "origin/main", "main", "origin/master", "master", "HEAD")


def default_base(repo: Path, commit: str) -> str:
    """The merge base of ``commit`` with the first default branch it is not already part of."""
    for branch in DEFAULT_BRANCHES:
        try:
            tip = git(repo, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}").decode().strip()
        except GitError:
            continue
        base = git(repo, "merge-base", commit, tip).decode().strip()
        if base != commit:
            return base
    raise GitError(f"{commit[:12]} has no commits beyond the default branch; nothing to audit")


def record_folder_of(path: str) -> str | None:
    """``records/<track>/<name>`` for a path inside a record folder of a known track, else None."""
    parts = path.split("/")
    if len(parts) >= 4 and parts[0] == "records" and parts[1] in TRACKS:
        return "/".join(parts[:3])
    return None


def added_folders(changes: Sequence[Change]) -> list[str]:
    """Record folders the PR adds files to (what PR mode audits), in order of appearance."""
    seen: dict[str, None] = {}
    for c in changes:
        if c.status != "D" and (folder := record_folder_of(c.path)):
            seen.setdefault(folder, None)
    return list(seen)


@contextmanager
def materialized(repo: Path, commit: str, paths: Sequence[str]) -> Iterator[Path]:
    """Extract ``paths`` at ``commit`` into a temporary directory (removed afterwards)."""
    scratch = Path(tempfile.mkdtemp(prefix="pgolf-audit-pr-"))
    try:
        for p in paths:
            archive = git(repo, "archive", "--format=tar", commit, "--", p)
            with tarfile.open(fileobj=BytesIO(archive)) as tar:
                tar.extractall(scratch, filter="data")
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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
    """Audit each folder: the engine for folders with train_gpt.py when ``full``, else the package stage."""
    from auditor.batch import run_batch
    from auditor.engine import AuditOptions, is_record_folder

    results: dict[int, InputResult] = {}
    engine_inputs = [(i, f) for i, f in enumerate(folders) if full and is_record_folder(f)]
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
             progress: bool = False, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[InputResult]:
    """Audit every record folder the PR adds, plus its scope (PG708), reported under repo paths."""
    from rules.package.pg708_pr_scope import PrScope

    commit = git(repo, "rev-parse", "--verify", "--quiet", f"{head}^{{commit}}").decode().strip()
    changes = pr_changes(repo, base, commit)
    folders = added_folders(changes)
    results: list[InputResult] = []
    if folders:
        with materialized(repo, commit, folders) as scratch:
            results = audit_folders([scratch / f for f in folders], full, dynamic, jobs, progress, select, ignore)
            for r in results:
                relabel(r, str(scratch), str(repo))
                r.extra["git"] = {"base": base, "head": head, "commit": commit}
    scope = [f for f in PrScope.check_changes(changes, repo) if _selected(f.code, select, ignore)]
    if scope or not results:
        results.append(InputResult(path=str(repo), sha256=None, findings=scope,
                                   extra={"git": {"base": base, "head": head, "commit": commit},
                                          "changed_files": len(changes)}))
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
