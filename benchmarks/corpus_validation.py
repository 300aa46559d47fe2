"""Score the auditor against real submissions: the labelled dev corpus, the merged records, PR heads.

Usage::

    python benchmarks/corpus_validation.py --repo PATH/TO/parameter-golf.git \
        --corpus ../shared/dev-corpus.json [--merged] [--prs 200] [--dynamic] [--json OUT]

Nothing fetched is written into this repository: every folder is materialised with ``git archive``
into a temporary directory that is removed afterwards.

What it prints (RULEBOOK §0.4: only the eval-integrity families are compared with the labels):
- per family, precision and recall of FAIL findings on the dev corpus, and entry-level detection
  (an illegal entry is caught when its eval-integrity verdict is FAIL, or REVIEW where the family
  is disputed);
- false FAILs on legal entries and on merged records (every merged record is legal);
- crashes (an ERROR verdict, or an exception) over everything tried, and the share of packed
  scripts that were decoded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from auditor.engine import AuditOptions, audit
from auditor.findings import Level, Verdict

#: RULEBOOK rule ID → dev-corpus family label (RULEBOOK §0.4)
FAMILY_OF_RULE = {
    "C1-a": "C1-target-in-key",
    "C1-b": "C1-target-gated-hint",
    "C2-a": "C2-unnormalized",
    "C2-b": "C2-unnormalized",
    "C2-c": "C2-unnormalized",
    "C2-d": "C2-unnormalized",
    "C2-e": "C2-unnormalized",
    "C3-a": "C3-ttt-not-score-first",
    "C3-c": "C3-ttt-not-score-first",
    "C3-b": "C3-prequant-ttt",
    "SLOT": "SLOT",
}
EVAL_INTEGRITY_PREFIXES = ("C1", "C2", "C3", "C4", "SLOT")


@dataclass
class Outcome:
    key: str
    families_fail: set[str] = field(default_factory=set)
    integrity_level: Level = Level.PASS
    verdict: str = "PASS"
    error: str | None = None
    packed: bool = False
    decoded: bool = True
    codes: list[str] = field(default_factory=list)


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def materialise(repo: Path, commit: str, path: str, dest: Path) -> None:
    """The file's whole folder; when the snapshot lacks some of its blobs (large files may be listed
    but absent), the file alone."""
    folder = str(PurePosixPath(path).parent)
    try:
        archive = git(repo, "archive", "--format=tar", f"{commit}:{folder}")
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    except subprocess.CalledProcessError:
        (dest / PurePosixPath(path).name).write_bytes(git(repo, "show", f"{commit}:{path}"))


def audit_one(job: tuple[str, str, str, str, bool]) -> Outcome:
    """Materialise one file's folder and audit the file (statically, or with the dynamic stage)."""
    key, repo, commit, path, dynamic = job
    out = Outcome(key)
    with tempfile.TemporaryDirectory(prefix="pgolf-corpus-") as tmp:
        try:
            materialise(Path(repo), commit, path, Path(tmp))
        except subprocess.CalledProcessError:
            out.error, out.verdict = "not in the snapshot", "UNAVAILABLE"
            return out
        try:
            name = PurePosixPath(path).name
            # a non-Python corpus entry (a shipped C helper) is judged through the script that ships it
            target = Path(tmp) / (name if name.endswith(".py") else "train_gpt.py")
            result = audit(target, AuditOptions(dynamic=dynamic))
        except Exception as exc:  # noqa: BLE001 - a crash is a measured outcome here
            out.error, out.verdict = f"crash: {type(exc).__name__}: {exc}", "CRASH"
            return out
    out.verdict = result.verdict.value
    if result.verdict is Verdict.ERROR:
        out.error = result.error
    out.packed = "decoded" in result.extra  # set by the engine whenever a wrapper was decoded
    for f in result.findings:
        out.codes.append(f.code)
        if f.code == "PG901":
            out.packed, out.decoded = True, False
        if f.rule.startswith(EVAL_INTEGRITY_PREFIXES):
            out.integrity_level = max(out.integrity_level, f.level)
            if f.level is Level.FAIL and f.rule in FAMILY_OF_RULE:
                out.families_fail.add(FAMILY_OF_RULE[f.rule])
    return out


def run(jobs: list[tuple[str, str, str, str, bool]], workers: int, label: str) -> dict[str, Outcome]:
    results: dict[str, Outcome] = {}
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=len(jobs))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for outcome in pool.map(audit_one, jobs):
                results[outcome.key] = outcome
                progress.advance(task)
    return results


def score_corpus(entries: list[dict], results: dict[str, Outcome], console: Console) -> dict:
    families = sorted({r for e in entries for r in e["expected"].get("rules", []) if r != "clean"})
    table = Table(title="Dev corpus: FAIL findings per family (static)")
    for col in ("family", "labelled", "TP", "FP", "FN", "precision", "recall"):
        table.add_column(col, justify="right" if col != "family" else "left")
    summary: dict = {"families": {}}
    for fam in families:
        labelled = {e["id"] for e in entries if fam in e["expected"].get("rules", [])}
        flagged = {k for k, o in results.items() if fam in o.families_fail}
        tp, fp, fn = len(labelled & flagged), len(flagged - labelled), len(labelled - flagged)
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        summary["families"][fam] = {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall}
        table.add_row(fam, str(len(labelled)), str(tp), str(fp), str(fn), f"{precision:.2f}", f"{recall:.2f}")
    console.print(table)

    detail = Table(title="Dev corpus: entry-level eval-integrity verdicts")
    for col in ("id", "expected", "labels", "integrity", "FAIL families", "verdict"):
        detail.add_column(col)
    caught = missed = false_fail = 0
    for e in entries:
        o = results[e["id"]]
        expected = e["expected"]["verdict"]
        if expected in ("illegal", "disputed"):
            # a disputed entry is caught by a REVIEW (RULEBOOK §0.4), an illegal one only by a FAIL
            ok = o.integrity_level >= (Level.REVIEW if expected == "disputed" else Level.FAIL)
            caught, missed = caught + ok, missed + (not ok)
        elif o.integrity_level is Level.FAIL:
            false_fail += 1
        detail.add_row(
            e["id"], e["expected"]["verdict"], ",".join(e["expected"].get("rules", [])),
            o.integrity_level.name, ",".join(sorted(o.families_fail)) or "-", o.verdict,
        )
    console.print(detail)
    summary.update(illegal_caught=caught, illegal_missed=missed, false_fail_on_legal=false_fail)
    console.print(f"illegal caught {caught}/{caught + missed}; false FAILs on legal entries: {false_fail}")
    return summary


def report_population(name: str, results: dict[str, Outcome], console: Console) -> dict:
    crashes = {k: o.error for k, o in results.items() if o.verdict in ("CRASH", "ERROR")}
    unavailable = sum(o.verdict == "UNAVAILABLE" for o in results.values())
    false_fail = {k: sorted(o.families_fail) or [c for c in o.codes] for k, o in results.items()
                  if o.integrity_level is Level.FAIL}
    packed = [o for o in results.values() if o.packed]
    decoded = [o for o in packed if o.decoded]
    verdicts = Counter(o.verdict for o in results.values())
    console.print(
        f"[bold]{name}[/]: {len(results)} files ({unavailable} not in the snapshot); verdicts {dict(verdicts)}; "
        f"crashes/errors {len(crashes)}; "
        f"eval-integrity FAILs {len(false_fail)}; packed {len(packed)}, decoded {len(decoded)}"
    )
    for k, err in sorted(crashes.items()):
        console.print(f"  error  {k}: {err}")
    for k, fams in sorted(false_fail.items()):
        console.print(f"  FAIL   {k}: {fams}")
    return {"files": len(results), "verdicts": dict(verdicts), "errors": crashes,
            "integrity_fail": false_fail, "packed": len(packed), "decoded": len(decoded)}


def merged_jobs(repo: Path, dynamic: bool) -> list[tuple[str, str, str, str, bool]]:
    names = git(repo, "ls-tree", "-r", "--name-only", "HEAD", "records").decode().splitlines()
    return [(p, str(repo), "HEAD", p, dynamic) for p in names if p.endswith("/train_gpt.py")]


def pr_jobs(repo: Path, limit: int, dynamic: bool) -> list[tuple[str, str, str, str, bool]]:
    refs = [r for r in git(repo, "for-each-ref", "--format=%(refname)", "refs/pull").decode().split()
            if r.endswith("/head")]
    refs = sorted(refs, key=lambda r: int(r.split("/")[2]))[-limit:]
    jobs = []
    for ref in refs:
        try:
            base = git(repo, "merge-base", "HEAD", ref).decode().strip()
            changed = git(repo, "diff", "--name-only", "--diff-filter=AM", base, ref, "--", "records").decode()
        except subprocess.CalledProcessError:
            continue
        commit = git(repo, "rev-parse", ref).decode().strip()
        jobs += [(f"{ref}:{p}", str(repo), commit, p, dynamic) for p in changed.split() if p.endswith("train_gpt.py")]
    return jobs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, required=True, help="a git dir of openai/parameter-golf")
    ap.add_argument("--corpus", type=Path, help="dev-corpus.json")
    ap.add_argument("--merged", action="store_true", help="audit every merged record at HEAD")
    ap.add_argument("--prs", type=int, default=0, help="audit the records of the newest N PR heads")
    ap.add_argument("--dynamic", action="store_true", help="run the dynamic stage too (slow)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    console = Console()
    figures: dict = {}
    if args.corpus:
        entries = json.loads(args.corpus.read_text())
        jobs = [(e["id"], str(args.repo), e["commit"], e["path"], args.dynamic) for e in entries]
        figures["dev_corpus"] = score_corpus(entries, run(jobs, args.jobs, "dev corpus"), console)
    if args.merged:
        results = run(merged_jobs(args.repo, args.dynamic), args.jobs, "merged records")
        figures["merged"] = report_population("merged records", results, console)
    if args.prs:
        results = run(pr_jobs(args.repo, args.prs, args.dynamic), args.jobs, "PR heads")
        figures["prs"] = report_population("PR heads", results, console)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
