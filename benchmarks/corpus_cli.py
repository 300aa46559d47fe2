"""Audit real record folders through the ``pgolf-audit`` command, as a maintainer would, and score it.

Usage::

    python benchmarks/corpus_cli.py --repo PATH/TO/parameter-golf.git [--corpus ../shared/dev-corpus.json]
        [--merged] [--no-dynamic] [--jobs 2] [--json OUT.json] [--limit N]

Every input is a whole record folder: the folder holding the corpus entry's ``path`` at its ``commit``
(``--corpus``), or every ``records/<track>/<name>/`` at the mirror's HEAD (``--merged``). Folders are
materialised file by file (``auditor.package.modes.write_tree``) into a temporary directory, so a
blob missing from the snapshot skips that file, not the folder; nothing is written into this repository.
Each folder is audited by a separate ``pgolf-audit FOLDER --format json`` process with default options
(``--no-dynamic`` adds that flag), so the figures are the front door's, not an internal function's.

What it prints:
- per family of the dev corpus (RULEBOOK §0.4 labels): entries, caught (a FAIL, or a REVIEW of a disputed
  family's rule, of that family), confirmed dynamically (a FAIL-level dynamic finding on an eval-integrity
  rule), static FAILs downgraded by the dynamic stage, and FAILs on legal entries;
- every FAIL on a merged record, with its rule, line and first evidence;
- INCONCLUSIVE probe results grouped by reason, static leads by their dynamic state, tool ERRORs;
- seconds and peak memory per folder (median, p90, max; the audit process and the sandboxes it waited for).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from auditor.package.modes import Skipped, git, write_tree

#: RULEBOOK rule ID → dev-corpus family label (RULEBOOK §0.4)
FAMILY_OF_RULE = {
    "C1-a": "C1-target-in-key",
    "C1-b": "C1-target-gated-hint",
    "C2-a": "C2-unnormalized", "C2-b": "C2-unnormalized", "C2-c": "C2-unnormalized", "C2-d": "C2-unnormalized",
    "C2-e": "C2-unnormalized", "C2-NORMALIZED": "C2-unnormalized",
    "C3-a": "C3-ttt-not-score-first", "C3-c": "C3-ttt-not-score-first", "C3-SCORE-FIRST": "C3-ttt-not-score-first",
    "C3-b": "C3-prequant-ttt",
    "SLOT": "SLOT",
}
EVAL_INTEGRITY = ("C1", "C2", "C3", "C4", "SLOT")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class Folder:
    key: str
    commit: str
    folder: str  # repository path of the record folder
    entry: str  # the file the corpus names (audited alone when the folder has no train_gpt.py)
    expected: dict[str, object] = field(default_factory=dict)


@dataclass
class Audit:
    folder: Folder
    verdict: str = "ERROR"
    error: str | None = None
    seconds: float = 0.0
    peak_kib: int = 0
    findings: list[dict[str, object]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # blobs absent from the snapshot


def run_cli(argv: list[str], timeout: float) -> tuple[int, float, int, str]:
    """Run one audit process: exit code, wall seconds, peak RSS in KiB (the process and every child it
    waited for, as the kernel accounts it), and the end of its stderr."""
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, 9))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return proc.returncode, time.monotonic() - start, int(usage.ru_maxrss), err.read().decode(errors="replace")[-400:]


def audit(repo: Path, f: Folder, dynamic: bool, timeout: float) -> Audit:
    out = Audit(f)
    with tempfile.TemporaryDirectory(prefix="pgolf-corpus-") as tmp:
        dest = Path(tmp) / f.folder  # the repository path kept: the track is read from it
        skipped: list[Skipped] = []
        write_tree(repo, f.commit, [f.folder], Path(tmp), skipped)
        out.skipped = [k.path for k in skipped]
        entry = PurePosixPath(f.entry).name
        # the folder, as a user names it (a record folder whatever its script is called); a corpus entry that
        # names a file in a folder holding no script is audited as that file
        scripts = [p for p in dest.glob("*.py")] if dest.is_dir() else []
        target = dest if scripts or (dest / "submission.json").is_file() else dest / entry
        report = Path(tmp) / "report.json"
        exe = shutil.which("pgolf-audit")
        argv = [*([exe] if exe else [sys.executable, "-m", "auditor.cli"]), str(target), "--format", "json",
                "-o", str(report), "--jobs", "1", *([] if dynamic else ["--no-dynamic"])]
        rc, out.seconds, out.peak_kib, stderr = run_cli(argv, timeout)
        if not report.is_file():
            out.error = f"no report (exit {rc}): {stderr.strip().splitlines()[-1] if stderr.strip() else ''}"
            return out
        result = json.loads(report.read_text())["inputs"][0]
        out.verdict, out.error, out.findings = result["verdict"], result["error"], result["findings"]
    return out


def corpus_folders(path: Path) -> list[Folder]:
    entries = json.loads(path.read_text())
    return [Folder(e["id"], e["commit"], str(PurePosixPath(e["path"]).parent), e["path"], e["expected"]) for e in entries]


def merged_folders(repo: Path) -> list[Folder]:
    names = git(repo, "ls-tree", "-d", "--name-only", "HEAD", "records/").decode().splitlines()
    folders = [p for t in names for p in git(repo, "ls-tree", "-d", "--name-only", "HEAD", t + "/").decode().splitlines()]
    return [Folder(p.rsplit("/", 1)[-1], "HEAD", p, p + "/train_gpt.py", {"verdict": "legal", "rules": ["merged"]})
            for p in sorted(folders)]


def family_hits(a: Audit) -> tuple[set[str], set[str], set[str]]:
    """Families with a FAIL; families confirmed by a FAIL-level dynamic finding; static FAILs cleared."""
    failed, confirmed, cleared = set(), set(), set()
    for f in a.findings:
        rule, level, source = str(f["rule"]), f["verdict"], f["source"]
        family = FAMILY_OF_RULE.get(rule, rule if rule.startswith(EVAL_INTEGRITY) else "")
        if level == "FAIL" and family:
            failed.add(family)
            if source == "dynamic" or (f.get("data") or {}).get("dynamic") == "confirmed":
                confirmed.add(family)
        if source == "static" and (f.get("data") or {}).get("dynamic") == "cleared" and rule.startswith(EVAL_INTEGRITY):
            cleared.add(f"{f['code']} {rule}")
    return failed, confirmed, cleared


def reason(message: str) -> str:
    text = message.split("INCONCLUSIVE: ", 1)[-1]
    return _NUMBER.sub("N", text.split(" (line", 1)[0])[:110]


def quantiles(values: list[float]) -> str:
    if not values:
        return "–"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered):.1f} · p90 {p90:.1f} · max {ordered[-1]:.1f}"


def report(audits: list[Audit], console: Console, label: str) -> dict[str, object]:
    fam_rows: dict[str, Counter[str]] = {}
    for a in audits:
        failed, confirmed, cleared = family_hits(a)
        legal = a.folder.expected.get("verdict") == "legal"
        for family in (a.folder.expected.get("rules") or ["?"]):  # type: ignore[union-attr]
            row = fam_rows.setdefault(str(family), Counter())
            row["entries"] += 1
            row["errors"] += a.verdict == "ERROR"
            if legal:
                row["false FAIL"] += bool(failed)
            else:
                row["caught"] += family in failed
                row["confirmed dynamically"] += bool(confirmed)
                row["static FAIL cleared"] += bool(cleared)
    table = Table(title=f"{label}: per family", title_justify="left")
    columns = ("entries", "caught", "confirmed dynamically", "static FAIL cleared", "false FAIL", "errors")
    table.add_column("family")
    for c in columns:
        table.add_column(c, justify="right")
    for family, row in sorted(fam_rows.items()):
        table.add_row(family, *(str(row[c]) for c in columns))
    console.print(table)
    verdicts = Counter(a.verdict for a in audits)
    console.print(f"verdicts: {dict(sorted(verdicts.items()))}")
    inconclusive = Counter(reason(str(f["message"])) for a in audits for f in a.findings
                           if (f.get("data") or {}).get("outcome") == "INCONCLUSIVE")
    states = Counter(str((f.get("data") or {}).get("dynamic")) for a in audits for f in a.findings
                     if f["source"] == "static" and (f.get("data") or {}).get("dynamic"))
    console.print(f"static leads by dynamic state: {dict(states)}")
    if inconclusive:
        t = Table(title="INCONCLUSIVE probe results by reason", title_justify="left")
        t.add_column("count", justify="right")
        t.add_column("reason")
        for text, n in inconclusive.most_common():
            t.add_row(str(n), text)
        console.print(t)
    fails = [(a.folder.key, f) for a in audits for f in a.findings if f["verdict"] == "FAIL"]
    if fails and all(a.folder.expected.get("rules") == ["merged"] for a in audits):
        t = Table(title="FAILs on merged records", title_justify="left")
        for c in ("folder", "code", "rule", "where", "evidence"):
            t.add_column(c)
        for key, f in fails:
            evidence = (f.get("evidence") or [""])[0] if isinstance(f.get("evidence"), list) else ""
            t.add_row(key, str(f["code"]), str(f["rule"]), f"{PurePosixPath(str(f['path'])).name}:{f['line']}",
                      str(evidence)[:90] or str(f["message"])[:90])
        console.print(t)
    errors = [(a.folder.key, a.error) for a in audits if a.verdict == "ERROR"]
    for key, error in errors:
        console.print(f"ERROR {key}: {error}")
    console.print(f"seconds per folder: {quantiles([a.seconds for a in audits])}")
    console.print(f"peak memory per folder (MiB): {quantiles([a.peak_kib / 1024 for a in audits])}")
    return {"verdicts": dict(verdicts), "families": {k: dict(v) for k, v in fam_rows.items()},
            "inconclusive": dict(inconclusive), "states": dict(states), "errors": errors}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, required=True, help="a clone or bare mirror of openai/parameter-golf")
    ap.add_argument("--corpus", type=Path, help="dev-corpus.json")
    ap.add_argument("--merged", action="store_true", help="every records/<track>/<name>/ at HEAD")
    ap.add_argument("--no-dynamic", action="store_true", help="pass --no-dynamic to every audit")
    ap.add_argument("--jobs", type=int, default=2, help="audit processes at once")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per folder")
    ap.add_argument("--limit", type=int, help="only the first N folders of each set")
    ap.add_argument("--json", type=Path, help="write every folder's result here")
    args = ap.parse_args(argv)
    repo = args.repo / ".git" if (args.repo / ".git").is_dir() else args.repo
    sets = ([("dev corpus", corpus_folders(args.corpus))] if args.corpus else []) + \
        ([("merged records", merged_folders(repo))] if args.merged else [])
    if not sets:
        ap.error("name --corpus FILE and/or --merged")
    console = Console(stderr=True)
    dump: dict[str, object] = {}
    for label, folders in sets:
        folders = folders[: args.limit] if args.limit else folders
        with Progress(console=console, transient=True) as bar, ThreadPoolExecutor(args.jobs) as pool:
            task = bar.add_task(f"{label} ({'static + package' if args.no_dynamic else 'all stages'})", total=len(folders))

            def one(f: Folder) -> Audit:
                try:
                    return audit(repo, f, not args.no_dynamic, args.timeout)
                finally:
                    bar.advance(task)

            audits = list(pool.map(one, folders))
        dump[label] = {"summary": report(audits, Console(width=160), label),
                       "folders": [{"key": a.folder.key, "folder": a.folder.folder, "verdict": a.verdict,
                                    "error": a.error, "seconds": round(a.seconds, 2), "peak_mib": a.peak_kib // 1024,
                                    "skipped": a.skipped, "expected": a.folder.expected,
                                    "findings": [{k: f.get(k) for k in ("code", "rule", "verdict", "source", "line", "path",
                                                                         "message", "evidence", "data")}
                                                 for f in a.findings]} for a in audits]}
    if args.json:
        args.json.write_text(json.dumps(dump, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
