"""Seconds and peak memory of one full dynamic audit (base run, flip forks, sampled sweep) per fixture.

Usage: ``python benchmarks/dynamic_fixtures.py [NAME ...]`` (default: every fixture in
``tests/dynamic/fixtures``). Target on the 2-core reference machine: ≤ 120 s and ≤ 4 GB per audit.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace

from auditor.dynamic.runner import DynamicOptions, run_dynamic
from auditor.findings import Provenance
from auditor.source import SourceFile

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "dynamic" / "fixtures"


def main() -> None:
    names = sys.argv[1:] or sorted(p.stem for p in FIXTURES.glob("*.py") if p.stem != "kit")
    print(f"{'fixture':24} {'seconds':>8} {'peak MiB':>9}  fails")
    for name in names:
        path = FIXTURES / f"{name}.py"
        main_file = SourceFile(str(path), path.read_text(encoding="utf-8"), "0" * 64, Provenance(str(path)))
        start = time.monotonic()
        findings = run_dynamic(SimpleNamespace(main=main_file, helpers=[], foreign=[]), [], DynamicOptions())
        secs = time.monotonic() - start
        run = next(f for f in findings if f.code == "PG800")
        fails = sorted({f"{f.code}:{f.rule}" for f in findings if f.data["outcome"] == "FAIL"})
        print(f"{name:24} {secs:8.1f} {run.data.get('peak_rss', 0) >> 20:9d}  {' '.join(fails) or '-'}", flush=True)


if __name__ == "__main__":
    main()
