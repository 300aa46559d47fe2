"""Every PR head ever proposed, audited through the CLI: the maintainer's whole queue (issue 16).

    python benchmarks/pr_sweep.py REPO [--batch 50] [--jobs 1] [--concurrent 2] [--limit N] [--prs 123,456] [--out FILE]

REPO is a clone or bare mirror of openai/parameter-golf that holds the PR heads (``refs/pull/N/head``).
For every PR head the sweep (1) compares it with its merge base with the default branch (the empty tree
when it shares no history), (2) takes the inputs it changes code in as PR mode does
(``auditor.package.discovery.pr_inputs``: ``records/<track>/<name>/``, ``records/<name>/``, loose
scripts in a track folder), (3) writes them out file by file into a temporary directory (a blob the
mirror lacks is skipped and counted), and (4) audits them with the ``pgolf-audit`` CLI itself, in
batches, in subprocesses (``--no-dynamic --format json``), under a progress bar. Nothing from REPO is
written anywhere but the temporary directory, which is removed at the end.

It prints folders/s, p50/p95/max seconds per input (as the engine measured them), verdict counts, and
every ERROR grouped by message, tool errors (a crash, a timeout, a dead worker, and PG950 findings: a
check that raised) apart from could-not-audit inputs (empty scripts, syntax errors, binary files).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: E402

from auditor.package.discovery import pr_inputs  # noqa: E402
from auditor.package.modes import (Base, GitError, Skipped, default_base, git, merge_base, pr_changes,  # noqa: E402
                                   write_tree)

#: error messages that are the input's fault (the tool worked and says why it cannot audit it)
COULD_NOT_AUDIT = re.compile(
    r"syntax error|is empty|empty file|not UTF-8|binary|null byte|too large|nests too deeply|nests more than|"
    r"decompress|not a Python|must contain train_gpt.py|could be read from this clone|no single Python script to audit", re.I)


@dataclass
class Pr:
    number: int
    commit: str
    inputs: list[str] = field(default_factory=list)
    note: str | None = None
    skipped: list[Skipped] = field(default_factory=list)
    error: str | None = None


def pull_heads(repo: Path, only: set[int] | None) -> list[tuple[int, str]]:
    out = git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/pull/*/head").decode()
    heads = []
    for line in out.splitlines():
        oid, ref = line.split()
        number = int(ref.split("/")[2])
        if only is None or number in only:
            heads.append((number, oid))
    return sorted(heads)


def enumerate_pr(repo: Path, number: int, commit: str, scratch: Path) -> Pr:
    """The inputs one PR head changes code in, written under ``scratch/pr-N``."""
    pr = Pr(number, commit)
    try:
        base = merged_base(repo, commit) or default_base(repo, commit)
        pr.note = base.note
        inputs = pr_inputs(pr_changes(repo, base, commit)).audited
        if inputs:
            dest = scratch / f"pr-{number}"
            write_tree(repo, commit, inputs, dest, pr.skipped)
            pr.inputs = inputs
    except GitError as exc:
        pr.error = str(exc)
    return pr


def merged_base(repo: Path, commit: str) -> Base | None:
    """For a head the default branch already contains (a merged PR): the merge base of the commit that
    merged it, so the PR's own changes are audited; None for a head not on the default branch."""
    if subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", commit, "HEAD"],
                      capture_output=True, check=False).returncode != 0:
        return None
    merges = git(repo, "rev-list", "--ancestry-path", "--merges", "--reverse", f"{commit}..HEAD").decode().split()
    if not merges:
        return None
    return merge_base(repo, f"{merges[0]}^1", commit)


def run_cli(paths: list[Path], jobs: int, report: Path, timeout: float) -> tuple[list[dict], str]:
    """One ``pgolf-audit`` run over a batch; the JSON inputs, or the CLI's stderr when it gave none."""
    cmd = [sys.executable, "-m", "auditor.cli", "check", "--no-dynamic", "--format", "json", "-o", str(report),
           "-j", str(jobs), "--timeout", str(timeout), *map(str, paths)]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if report.is_file():
        return json.loads(report.read_text())["inputs"], done.stderr
    return [], done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def tool_errors(result: dict) -> list[str]:
    """Why this result shows a bug of the tool: its ERROR when not the input's fault, and its PG950s."""
    out = [f"{f['data'].get('check', '?')}: {f['message'].split(': ', 2)[-1]}"
           for f in result["findings"] if f["code"] == "PG950"]
    if result["error"] and not COULD_NOT_AUDIT.search(result["error"]):
        out.append(result["error"])
    return out


def normalise(message: str, roots: Iterable[str]) -> str:
    """The message without the scratch folder and the input's own path, so equal causes group together."""
    message = re.sub(r"\S*/pr-\d+/", "", message)
    for root in roots:
        message = message.replace(root, "")
    message = re.sub(r"records/\S*/(?=[^/\s]+:)", "", message)  # ``records/<track>/<name>/train_gpt.py: x``
    message = re.sub(r"line \d+", "line N", message)
    return message[:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--batch", type=int, default=50, help="inputs per CLI run (default 50)")
    parser.add_argument("--jobs", type=int, default=1, help="workers per CLI run (default 1)")
    parser.add_argument("--concurrent", type=int, default=2, help="CLI runs at once (default 2)")
    parser.add_argument("--limit", type=int, help="only the first N PR heads (by number)")
    parser.add_argument("--prs", help="only these PR numbers, comma-separated")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per input (default 120)")
    parser.add_argument("--out", type=Path, help="write every result (JSON lines) here")
    parser.add_argument("--stages", type=int, default=30, metavar="N",
                        help="then time the stages (CPU s) on N folders spread over the queue, in this process (0: skip)")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    only = {int(n) for n in args.prs.split(",")} if args.prs else None
    try:
        heads = pull_heads(args.repo, only)
    except GitError as exc:
        print(f"pr_sweep: error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        heads = heads[: args.limit]
    scratch = Path(tempfile.mkdtemp(prefix="pgolf-pr-sweep-"))
    try:
        return _sweep(args, console, heads, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _sweep(args: argparse.Namespace, console: Console, heads: list[tuple[int, str]], scratch: Path) -> int:
    started = time.perf_counter()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    prs: list[Pr] = []
    with Progress(*columns, console=console, transient=False) as bar, ThreadPoolExecutor(4) as pool:
        task = bar.add_task("materialising PR heads", total=len(heads))
        for pr in pool.map(lambda h: enumerate_pr(args.repo, h[0], h[1], scratch), heads):
            prs.append(pr)
            bar.advance(task)
    materialised = time.perf_counter() - started
    inputs = [(pr, scratch / f"pr-{pr.number}" / rel) for pr in prs for rel in pr.inputs]
    present = [(pr, p) for pr, p in inputs if p.exists()]

    results: list[dict] = []
    batch_errors: list[str] = []
    audit_started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    reports = scratch / "reports"
    reports.mkdir()
    chunks = [present[k:k + args.batch] for k in range(0, len(present), args.batch)]

    def one(k: int) -> tuple[int, list[dict], str]:
        got, err = run_cli([p for _, p in chunks[k]], args.jobs, reports / f"batch-{k}.json", args.timeout)
        return k, got, err

    # ``--concurrent`` CLI runs at once: one starts up (imports, ~1 s) while another audits
    with Progress(*columns, console=console, transient=False) as bar, ThreadPoolExecutor(args.concurrent) as pool:
        task = bar.add_task("auditing inputs", total=len(present))
        for k, got, err in pool.map(one, range(len(chunks))):
            if not got:
                batch_errors.append(f"batch {k}: {err}")
            for r in got:  # a folder may expand into several inputs: the PR is read from the path
                found = re.search(r"pr-(\d+)/", r["path"])
                r["pr"] = int(found.group(1)) if found else 0
                r["path"] = r["path"][found.end():] if found else r["path"]
                results.append(r)
            bar.advance(task, len(chunks[k]))
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    audit_seconds = time.perf_counter() - audit_started
    total = time.perf_counter() - started

    if args.out:
        with args.out.open("w") as fh:
            for r in results:
                fh.write(json.dumps(r) + "\n")
    _print_summary(console, prs, inputs, present, results, batch_errors, materialised, audit_seconds, total, scratch)
    Console(width=160).print(
        f"[bold]CPU[/]: the CLI runs used {cpu:.1f} CPU s ({cpu / max(1, len(results)):.3f} per input): on 2 otherwise idle "
        f"cores the audit takes about {cpu / 2:.0f} s, {2 * len(results) / cpu if cpu else 0:.2f} inputs/s")
    folders = [p for _, p in present if (p / "train_gpt.py").is_file()]
    if args.stages and folders:
        step = max(1, len(folders) // args.stages)
        stage_times(folders[::step][: args.stages])
    return 1 if batch_errors or any(tool_errors(r) for r in results) else 0


def stage_times(folders: list[Path]) -> None:
    """Where a folder audit's CPU time goes: CLI start-up (a fresh process), decode + parse, the
    analysis index, the static rules (with the facts they build), the package stage."""
    import auditor.analysis as analysis
    import auditor.engine as engine
    from auditor import registry
    from auditor.engine import AuditOptions, audit

    out = Console(width=160)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import auditor.cli; from auditor import registry; registry.catalog()"],
                   env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), check=True)
    startup = time.perf_counter() - t
    spent: Counter[str] = Counter()

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        def wrap(*a, **k):  # type: ignore[no-untyped-def]
            t0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.process_time() - t0
        return wrap

    saved = (engine.load, engine.verify_folder, engine.static_findings, analysis.Analysis.__init__)
    engine.load = timed("decode + parse", engine.load)
    engine.verify_folder = timed("package stage", engine.verify_folder)
    engine.static_findings = timed("static stage", engine.static_findings)
    analysis.Analysis.__init__ = timed("  of which the analysis index", analysis.Analysis.__init__)  # type: ignore[method-assign]
    try:
        registry.catalog()
        audit(folders[0], AuditOptions(dynamic=False))  # warm: imports, caches
        spent.clear()
        t0 = time.process_time()
        for folder in folders:
            audit(folder, AuditOptions(dynamic=False))
        total = time.process_time() - t0
    finally:
        engine.load, engine.verify_folder, engine.static_findings, analysis.Analysis.__init__ = saved  # type: ignore[method-assign]
    n = len(folders)
    out.print(f"[bold]stages[/] (CPU s per folder over {n} folders, one process): total {total / n:.3f}")
    out.print(f"  CLI start-up (once per batch, wall): {startup:.2f} s")
    for name in ("decode + parse", "static stage", "  of which the analysis index", "package stage"):
        out.print(f"  {name:32s} {spent[name] / n:.3f}")
    out.print(f"  {'rules (static stage - index)':32s} {(spent['static stage'] - spent['  of which the analysis index']) / n:.3f}")


def _print_summary(console: Console, prs: list[Pr], inputs: list, present: list, results: list[dict],
                   batch_errors: list[str], materialised: float, audit_seconds: float, total: float,
                   scratch: Path) -> None:
    out = Console(width=160)
    seconds = [r["seconds"] for r in results]
    verdicts = Counter(r["verdict"] for r in results)
    with_inputs = sum(1 for pr in prs if pr.inputs)
    skipped = [(pr.number, k) for pr in prs for k in pr.skipped]
    out.print(f"[bold]PR heads[/]: {len(prs)}; with code changes under records/: {with_inputs}; "
              f"inputs: {len(inputs)} ({sum(1 for _, p in present if p.is_dir())} folders, "
              f"{sum(1 for _, p in present if p.is_file())} loose scripts)")
    out.print(f"compared with the empty tree (no merge base): {sorted(pr.number for pr in prs if pr.note)}")
    out.print(f"git errors: {[(pr.number, pr.error) for pr in prs if pr.error]}")
    missing = sorted({pr for pr, k in skipped if 'not in this clone' in k.reason})
    out.print(f"files skipped: {len(skipped)} (blobs missing from the clone in {len(missing)} PRs"
              f"{': ' + ', '.join(map(str, missing[:20])) + (' …' if len(missing) > 20 else '') if missing else ''})")
    out.print(f"inputs with no file readable: {len(inputs) - len(present)}")
    out.print(f"[bold]time[/]: materialising {materialised:.1f} s; auditing {audit_seconds:.1f} s; total {total:.1f} s")
    rate = len(results) / audit_seconds if audit_seconds else 0.0
    out.print(f"[bold]throughput[/]: {rate:.2f} inputs/s through the CLI")
    out.print(f"[bold]seconds per input[/] (engine): p50 {percentile(seconds, 0.5):.2f}  p95 {percentile(seconds, 0.95):.2f}  "
              f"max {max(seconds, default=0):.2f}")
    out.print("[bold]verdicts[/]: " + "  ".join(f"{v} {verdicts.get(v, 0)}" for v in ("PASS", "REVIEW", "FAIL", "ERROR")))
    roots = [str(scratch)]
    tools: dict[str, list[int]] = defaultdict(list)
    cannot: dict[str, list[str]] = defaultdict(list)
    for r in results:
        for message in tool_errors(r):
            tools[normalise(message, roots)].append(r["pr"])
        if r["error"] and COULD_NOT_AUDIT.search(r["error"]):
            cannot[normalise(r["error"], roots + [r["path"]])].append(f"#{r['pr']} {r['path']}")
    out.print(f"[bold]tool errors[/]: {sum(map(len, tools.values()))}")
    for message, numbers in sorted(tools.items(), key=lambda kv: -len(kv[1])):
        out.print(f"  {len(numbers):4d}  {message}  (PRs {', '.join(map(str, sorted(set(numbers))[:10]))})")
    for line in batch_errors:
        out.print(f"  batch failed: {line}")
    out.print(f"[bold]could not audit[/] (the input's fault): {sum(map(len, cannot.values()))}")
    for message, where in sorted(cannot.items(), key=lambda kv: -len(kv[1])):
        out.print(f"  {len(where):4d}  {message}")
        for w in where:
            out.print(f"          {w}")


if __name__ == "__main__":
    sys.exit(main())
