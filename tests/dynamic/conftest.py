"""Shared audits for the dynamic self-tests: every fixture is audited once per session, two at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from auditor.dynamic.runner import DynamicOptions
from auditor.dynamic.sandbox import Limits
from auditor.findings import Provenance
from auditor.source import SourceFile

FIXTURES = Path(__file__).parent / "fixtures"
SECURITY = FIXTURES / "security"

FULL = DynamicOptions(forks=True, sweep=True)
FLIP = DynamicOptions(forks=True, sweep=False)
SWEEP = DynamicOptions(forks=False, sweep=True)
PLAIN = DynamicOptions(forks=False, sweep=False)
HOSTILE = DynamicOptions(forks=False, sweep=False, wall_s=20.0, limits=Limits(mem_bytes=3 * 1024**3, max_procs=24))

#: fixture -> the probes it needs (forks only where the expected verdict depends on them)
PLANS: dict[str, DynamicOptions] = {
    "legal_standard": FULL,
    "legal_sliding": FLIP,
    "legal_ttt": FULL,
    "legal_ttt_reversed": FLIP,
    "legal_tilt": SWEEP,
    "legal_gptq_train": PLAIN,
    "legal_diag_copy_step": PLAIN,
    "bad_diag_then_train_val": PLAIN,
    "bad_copy_loaded_back": PLAIN,
    "bad_prequant_ttt": PLAIN,
    "bad_inline_ttt": PLAIN,
    "bad_last_epoch": PLAIN,
    "bad_slot": FLIP,
    "bad_target_key": SWEEP,
    "bad_hashed_cache_full_size": SWEEP,
    "bad_gated_hint": SWEEP,
    "legal_prefix_hint": FULL,
    "legal_hashed_cache_full_size": SWEEP,
    "bad_unnormalized": SWEEP,
    "bad_oracle_min": PLAIN,
    "bad_two_pass": FLIP,
    "bad_gptq_val": PLAIN,
    "bad_train_after": PLAIN,
    "bad_network": PLAIN,
    "bad_lut_space": PLAIN,
    "bad_lut_byte": PLAIN,
    "warn_warmup_discarded": PLAIN,
    "review_sliding_head_gap": PLAIN,
    "review_nondeterministic": FLIP,
    "review_crash_default_path": PLAIN,
    "sec_socket": HOSTILE,
    "sec_home": HOSTILE,
    "sec_forkbomb": HOSTILE,
    "sec_alloc": HOSTILE,
    "sec_sleep": HOSTILE,
}


def loaded_for(path: Path) -> SimpleNamespace:
    text = path.read_text(encoding="utf-8")
    main = SourceFile(str(path), text, "0" * 64, Provenance(str(path)))
    return SimpleNamespace(main=main, helpers=[], foreign=[])


def _audit(name: str) -> tuple[str, list, float]:
    import time

    from auditor.dynamic.runner import run_dynamic

    path = (SECURITY if name.startswith("sec_") else FIXTURES) / f"{name}.py"
    start = time.monotonic()
    findings = run_dynamic(loaded_for(path), [], PLANS[name])
    return name, findings, time.monotonic() - start


@pytest.fixture(scope="session")
def audits() -> dict[str, tuple[list, float]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return {name: (findings, secs) for name, findings, secs in pool.map(_audit, PLANS)}
