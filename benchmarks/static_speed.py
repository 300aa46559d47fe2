"""Static-stage speed: seconds per file (p50/p95) and files/s, printed beside the targets.

    python benchmarks/static_speed.py                       # synthetic inputs built from this repo's code
    python benchmarks/static_speed.py --corpus DIR          # real record folders: every train_gpt.py under DIR
    python benchmarks/static_speed.py --file PATH           # (a) on one given file

(a) one large file (≥150 KB decoded: the largest in --corpus, or --file, or a synthetic one), audited
    --repeat times in this process; (b) a batch of 100 files through the batch engine (process pool,
    --jobs workers), from --corpus (cycled when it has fewer) or synthetic files of the real median size;
(c) with --corpus only: each distinct non-empty corpus file audited once in this process after a warm-up,
    p50/p95 of wall and CPU seconds per file (the per-real-file figure the p50 target is about), and
    ``ast.parse`` on the same files in the same run, with the ratio of the two CPU medians.
Targets on the 2-core reference machine: p50 ≤ 0.5 s per real-size file; 100 files ≤ 60 s.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from auditor.batch import run_batch  # noqa: E402
from auditor.engine import AuditOptions, audit  # noqa: E402

LARGE_BYTES = 150_000
#: median decoded size of the merged records (DESIGN.md performance notes)
MEDIAN_BYTES = 78_000
BATCH = 100
TARGET_P50 = 0.5
#: per real file (c): issue #11's target
TARGET_P50_REAL = 0.2
TARGET_BATCH = 60.0


def code_pool() -> list[str]:
    """This repository's own modules, as realistic (typed, documented, torch-heavy) Python text."""
    texts = []
    for folder in ("reference", "auditor", "rules"):
        for path in sorted((REPO / folder).rglob("*.py")):
            text = re.sub(r"^from __future__ import annotations\n", "", path.read_text(encoding="utf-8"), flags=re.M)
            texts.append(f"# --- {path.relative_to(REPO)}\n{text}\n")
    return texts


def synthetic(pool: list[str], start: int, size: int) -> str:
    parts, total, i = ["from __future__ import annotations\n"], 0, start
    while total < size:
        parts.append(pool[i % len(pool)])
        total += len(pool[i % len(pool)])
        i += 1
    parts.append('\nif __name__ == "__main__":\n    main()\n')
    return "".join(parts)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def bench_single(path: Path, repeat: int) -> None:
    options = AuditOptions(dynamic=False)
    first = audit(path, options)  # warm-up: imports and the rule catalog
    if first.error:
        print(f"(a) {path}: could not audit: {first.error}")
        return
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        audit(path, options)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    size = path.stat().st_size
    print(f"(a) one file, {size / 1000:.0f} KB on disk ({path.name}), {repeat} runs:")
    print(f"    p50 {statistics.median(times):.3f} s   p95 {percentile(times, 0.95):.3f} s   "
          f"{1 / statistics.median(times):.1f} files/s   (target: p50 ≤ {TARGET_P50} s on a real-size file; "
          f"the largest real file is ~207 KB decoded)")
    print(f"    CPU time p50 {statistics.median(cpu):.3f} s (wall minus waiting for a busy machine)")


def bench_batch(paths: list[Path], jobs: int) -> None:
    started = time.perf_counter()
    results = run_batch(paths, AuditOptions(dynamic=False), jobs=jobs)
    wall = time.perf_counter() - started
    per_file = [r.seconds for r in results]
    errors = sum(r.error is not None for r in results)
    sizes = sorted(p.stat().st_size if p.is_file() else (p / "train_gpt.py").stat().st_size for p in paths)
    print(f"(b) batch of {len(paths)} files (median {sizes[len(sizes) // 2] / 1000:.0f} KB on disk), {jobs} workers:")
    print(f"    total {wall:.1f} s   {len(paths) / wall:.1f} files/s   per file p50 {statistics.median(per_file):.3f} s   "
          f"p95 {percentile(per_file, 0.95):.3f} s   errors {errors}   (target: {BATCH} files ≤ {TARGET_BATCH:.0f} s)")


def bench_per_file(paths: list[Path]) -> None:
    distinct: dict[bytes, Path] = {}
    for path in paths:
        data = path.read_bytes()
        if data.strip():
            distinct.setdefault(hashlib.sha256(data).digest(), path)
    files = list(distinct.values())
    if not files:
        print("(c) no non-empty corpus file")
        return
    options = AuditOptions(dynamic=False)
    audit(files[0], options)  # warm-up: imports and the rule catalog
    wall, cpu, parse = [], [], []
    for path in files:
        started, started_cpu = time.perf_counter(), time.process_time()
        audit(path, options)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        # the floor: Python's own parser on the same text, in the same run (packed files: the wrapper)
        text = path.read_text(encoding="utf-8", errors="replace")
        started_cpu = time.process_time()
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
        parse.append(time.process_time() - started_cpu)
    print(f"(c) each of {len(files)} distinct non-empty corpus files once, in this process:")
    print(f"    wall p50 {statistics.median(wall):.3f} s   p95 {percentile(wall, 0.95):.3f} s   max {max(wall):.3f} s   "
          f"(target: p50 ≤ {TARGET_P50_REAL} s per real file, static + the folder's run configuration)")
    print(f"    CPU  p50 {statistics.median(cpu):.3f} s   p95 {percentile(cpu, 0.95):.3f} s   max {max(cpu):.3f} s")
    ratio = statistics.median(cpu) / max(statistics.median(parse), 1e-9)
    print(f"    ast.parse CPU p50 {statistics.median(parse):.3f} s on the same files: audit/parse = {ratio:.1f}x")


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(corpus.rglob("train_gpt.py"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, help="(a) time this file instead")
    parser.add_argument("--corpus", type=Path, help="a folder of real record folders (e.g. records/ of a checkout)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgolf-bench-") as scratch:
        tmp = Path(scratch)
        pool = code_pool()
        if args.corpus:
            real = corpus_files(args.corpus)
            if not real:
                print(f"no train_gpt.py under {args.corpus}", file=sys.stderr)
                return 2
            large = args.file or max(real, key=lambda p: p.stat().st_size)
            batch = [real[i % len(real)] for i in range(BATCH)]
        else:
            large = args.file or tmp / "large_train_gpt.py"
            if not args.file:
                large.write_text(synthetic(pool, 0, LARGE_BYTES), encoding="utf-8")
            batch = []
            for i in range(BATCH):
                path = tmp / f"case{i:03d}.py"
                path.write_text(synthetic(pool, i, MEDIAN_BYTES), encoding="utf-8")
                batch.append(path)
        source = f"corpus {args.corpus}" if args.corpus else "synthetic, from this repository's code"
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"pgolf-audit static benchmark: {os.cpu_count()} CPUs, load average {load}; inputs: {source}")
        bench_single(large, args.repeat)
        bench_batch(batch, args.jobs)
        if args.corpus:
            bench_per_file(real)
    return 0


if __name__ == "__main__":
    sys.exit(main())
