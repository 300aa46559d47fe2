"""Dynamic audit of the challenge's merged records (local measurement; nothing is committed).

Materializes each record folder of a checkout of openai/parameter-golf with ``git archive``, loads it
with the auditor's decoder, runs ``run_dynamic`` under the folder's run configuration and prints per
record: seconds, peak RSS, whether the run reached a verdict (PG800 PASS) and the reason when it did
not, plus each probe's outcome.
Usage: ``python benchmarks/dynamic_records.py REPO [--limit N] [--every K] [--match TEXT] [--forks] [--json OUT]``;
with ``--corpus dev-corpus.json`` it audits the corpus entries (``commit:path``) instead and prints
each entry's expected verdict and labels next to the dynamic FAILs.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

from auditor.decode import InputError, load
from auditor.dynamic.runner import DynamicOptions, run_dynamic
from auditor.package.runconfig import run_configuration


def record_folders(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "HEAD", "records/"],
                         capture_output=True, text=True, check=True).stdout.split()
    return sorted({str(Path(p).parent) for p in out if p.endswith("/train_gpt.py")})


def materialize(repo: Path, folder: str, dest: Path, commit: str = "HEAD") -> Path:
    blob = subprocess.run(["git", "-C", str(repo), "archive", f"{commit}:{folder}"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "train_gpt.py"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo", type=Path)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--forks", action="store_true", help="also run the flip test and the sampled sweep")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--match", help="only folders whose path contains this text")
    args = ap.parse_args()
    if args.corpus:
        entries = json.loads(args.corpus.read_text())
        folders = [(e["commit"], str(Path(e["path"]).parent), e) for e in entries][:: args.every]
    else:
        folders = [("HEAD", f, None) for f in record_folders(args.repo)[:: args.every]]
    if args.match:
        folders = [f for f in folders if args.match in f[1]]
    if args.limit:
        folders = folders[: args.limit]
    opts = DynamicOptions(forks=args.forks, sweep=args.forks, wall_s=120.0)
    rows = []
    for commit, folder, entry in folders:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                script = materialize(args.repo, folder, Path(tmp), commit)
            except subprocess.CalledProcessError:
                rows.append({"folder": folder, "verdict": "ERROR", "reason": f"{commit}:{folder} not in the checkout"})
                continue
            start = time.monotonic()
            try:
                findings = run_dynamic(load(script), [], opts, run_configuration(script.parent).values)
            except InputError as exc:
                rows.append({"folder": folder, "verdict": "ERROR", "reason": str(exc)})
                continue
            secs = time.monotonic() - start
        run = next(f for f in findings if f.code == "PG800")
        outcomes = {f.code: f.data["outcome"] for f in findings}
        row = {"folder": folder, "seconds": round(secs, 1), "peak_mib": run.data.get("peak_rss", 0) >> 20,
               "verdict": run.data["outcome"], "reason": "" if run.data["outcome"] == "PASS" else run.message,
               "outcomes": outcomes, "fails": sorted({f"{f.code}:{f.rule}:{f.level.name}" for f in findings if f.data["outcome"] == "FAIL"})}
        if entry is not None:
            row.update(id=entry["id"], expected=entry["expected"]["verdict"], labels=entry["expected"].get("rules", []))
        rows.append(row)
        print(json.dumps(row), flush=True)
    reached = sum(r["verdict"] == "PASS" for r in rows)
    print(f"\n{reached}/{len(rows)} records reached a verdict ({100 * reached / max(len(rows), 1):.0f}%)")
    print(Counter(r["reason"].split(":")[1].strip()[:60] if ":" in r["reason"] else r["reason"][:60]
                  for r in rows if r["verdict"] != "PASS").most_common())
    secs = sorted(r.get("seconds", 0) for r in rows)
    if secs:
        print(f"seconds: median {secs[len(secs) // 2]}, max {secs[-1]}; peak MiB max {max(r.get('peak_mib', 0) for r in rows)}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.exit(main())
