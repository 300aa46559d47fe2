"""The run configuration from every kind of log line (banners, counters, dumps), from the logs whose
headline matches the claim, and applied to loose files in record folders and to env reads in
default arguments. Fixture folders are ours; expected codes, lines and levels are exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.engine import AuditOptions, audit
from auditor.package.runconfig import run_configuration

FIXTURES = Path(__file__).parent / "fixtures"
INTEGRITY = ("C1", "C2", "C3", "C4", "SLOT")

EXPECTED = {
    # a target-keyed cache behind NGRAM_CACHE (default 0), no logs: gated, REVIEW
    "banner_cache_gated": {("PG101", 185, "REVIEW"), ("PG201", 186, "REVIEW")},
    # the log prints `ngram_cache:enabled order=2 ...`: the gate is live, FAIL
    "banner_cache_logged": {("PG101", 185, "FAIL"), ("PG201", 186, "FAIL")},
    # two logs disagree; the one whose headline is the claimed 1.155 shows it enabled
    "banner_cache_stale_live": {("PG101", 185, "FAIL"), ("PG201", 186, "FAIL")},
    # twin: the claim's log shows it disabled, only the stale log enabled it
    "banner_cache_stale_off": {("PG101", 185, "REVIEW"), ("PG201", 186, "REVIEW")},
    # pre-quant TTT behind `def maybe_adapt(..., enabled=bool(int(os.environ.get("TTT_ENABLED", "0"))))`
    "default_arg_ttt": {("PG301", 232, "REVIEW"), ("PG302", 232, "REVIEW")},
    # the same, with the README's run command setting TTT_ENABLED=1
    "default_arg_ttt_run_on": {("PG301", 232, "FAIL"), ("PG302", 232, "FAIL")},
}


def _integrity(path: Path) -> set[tuple[str, int, str]]:
    result = audit(path, AuditOptions(dynamic=False))
    assert result.error is None
    return {(f.code, f.line, f.level.name) for f in result.findings if f.rule.startswith(INTEGRITY)}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_folder(case: str) -> None:
    assert _integrity(FIXTURES / case) == EXPECTED[case]


@pytest.mark.parametrize("case", ["banner_cache_logged", "default_arg_ttt_run_on", "default_arg_ttt"])
def test_loose_file_uses_its_folders_configuration(case: str) -> None:
    assert _integrity(FIXTURES / case / "train_gpt.py") == EXPECTED[case]


def test_banner_and_counter_keys() -> None:
    config = run_configuration(FIXTURES / "banner_cache_logged")
    assert config.values["ngram_cache_enabled"] == "True"
    assert config.values["ngram_cache_order"] == "2" and config.origin["ngram_cache_order"] == "train_seed1.log:1"
    counters = run_configuration(FIXTURES / "native_word_gate_counter_live")
    assert counters.values["counter:word_gate"] == "1843210"


def test_which_logs_are_said() -> None:
    config = run_configuration(FIXTURES / "banner_cache_stale_live")
    assert config.values["ngram_cache_enabled"] == "True"
    assert config.logs == ("logs whose headline matches the claimed val_bpb: train_seed1.log; "
                           "left out: train_seed1_old.log")
    result = audit(FIXTURES / "banner_cache_stale_live", AuditOptions(dynamic=False))
    assert result.extra["run_configuration_logs"] == config.logs


def test_retracted_claim_no_run_configuration(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("```\nTTT_ENABLED=1 torchrun --nproc_per_node=8 train_gpt.py\n```\n")
    (tmp_path / "submission.json").write_text('{"val_bpb": null, "status": "retracted", "val_bpb_retracted": 1.13}')
    config = run_configuration(tmp_path)
    assert config.values == {} and "retracts its val_bpb" in config.logs
    # an unfinished folder (no score yet, nothing withdrawn) keeps its run command
    (tmp_path / "submission.json").write_text('{"val_bpb": null}')
    assert run_configuration(tmp_path).values == {"TTT_ENABLED": "1"}
