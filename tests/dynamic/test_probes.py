"""Self-tests of the dynamic probes: PASS on the reference evaluators, FAIL on our illegal variants,
containment of hostile scripts. Expected outcomes are exact (code, rule, level)."""

from __future__ import annotations

import pytest

from auditor.dynamic.sandbox import MAX_LOAD_STRETCH
from auditor.findings import Level, Source

PROBES = ("PG800", "PG801", "PG802", "PG803", "PG804", "PG805", "PG806", "PG807", "PG808", "PG809", "PG810")


def outcomes(findings: list) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault(f.code, set()).add(f.data["outcome"])
    return out


def fails(findings: list) -> set[tuple[str, str]]:
    return {(f.code, f.rule) for f in findings if f.data["outcome"] == "FAIL"}


LEGAL_FORKED = {
    "legal_standard": ("PG802", "PG803"),
    "legal_sliding": ("PG802",),
    "legal_ttt": ("PG802", "PG803"),
    "legal_ttt_reversed": ("PG802",),
    "legal_tilt": ("PG803",),
    "legal_gptq_train": (),
    "legal_diag_copy_step": (),
    "legal_hashed_cache_full_size": ("PG803",),
    "legal_prefix_hint": ("PG802",),  # its sweep meets derived scores: INCONCLUSIVE, never PASS
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LEGAL_FORKED))
def test_reference_evaluators_pass_every_probe(audits, name: str) -> None:
    findings, _ = audits[name]
    got = outcomes(findings)
    assert set(got) == set(PROBES)
    measured = {"PG800", "PG801", "PG804", "PG805", "PG806", "PG807", "PG808", "PG809", "PG810", *LEGAL_FORKED[name]}
    assert {c for c, o in got.items() if o == {"PASS"}} == measured, got
    assert all(f.source is Source.DYNAMIC and f.level <= Level.REVIEW and f.line >= 1 for f in findings)
    assert all(f.level is Level.INFO for f in findings if f.code in measured)


ILLEGAL = {
    "bad_prequant_ttt": {("PG801", "C3-b")},
    "bad_inline_ttt": {("PG801", "C3-SCORE-FIRST")},
    "bad_last_epoch": {("PG801", "C3-SCORE-FIRST")},
    # an unprinted diagnostic pass must not stand in for the reported one (its sums reached no headline)
    "bad_diag_then_train_val": {("PG801", "C3-SCORE-FIRST")},
    "bad_copy_loaded_back": {("PG801", "C3-SCORE-FIRST")},
    "bad_slot": {("PG801", "C3-SCORE-FIRST"), ("PG802", "C1-CAUSAL")},
    "bad_target_key": {("PG803", "C2-NORMALIZED")},
    # a 2**22-bucket table collides at the scored run's load factor only: shrunk with the data, swept warm
    "bad_hashed_cache_full_size": {("PG803", "C2-NORMALIZED")},
    # the hint fires for the realized token and not for the swept ones: the gate reads x_t
    "bad_gated_hint": {("PG809", "C1-b")},
    "bad_unnormalized": {("PG803", "C2-NORMALIZED")},
    "bad_oracle_min": {("PG809", "C1-b"), ("PG804", "C4-SINGLE-PASS")},
    "bad_two_pass": {("PG802", "C1-CAUSAL"), ("PG804", "C4-SINGLE-PASS")},
    "bad_gptq_val": {("PG801", "C3-d")},
    "bad_train_after": {("PG805", "NO-TRAIN-DATA-AT-EVAL")},
    "bad_network": {("PG806", "NO-NETWORK")},
    "bad_lut_space": {("PG807", "TOKENIZER-BYTES")},
    "bad_lut_byte": {("PG807", "TOKENIZER-BYTES")},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ILLEGAL))
def test_illegal_variants_fail(audits, name: str) -> None:
    findings, _ = audits[name]
    assert fails(findings) == ILLEGAL[name]
    for f in findings:
        if f.data["outcome"] == "FAIL":
            assert f.level is Level.FAIL and f.line > 1 and f.evidence


@pytest.mark.slow
def test_a_discarded_warm_up_on_val_is_a_warning(audits) -> None:
    findings, _ = audits["warn_warmup_discarded"]
    assert fails(findings) == {("PG801", "C3-f")}
    warm = next(f for f in findings if f.code == "PG801")
    assert (warm.level, warm.line, warm.data["count"]) == (Level.WARN, 17, 128)


@pytest.mark.slow
def test_an_unscored_first_window_head_is_for_review(audits) -> None:
    findings, _ = audits["review_sliding_head_gap"]
    assert fails(findings) == {("PG804", "VAL-FULL-COVERAGE")}
    gap = next(f for f in findings if f.code == "PG804")
    assert (gap.level, gap.line, gap.data["missing"]) == (Level.REVIEW, 26, 96)


def test_byte_lut_bugs_report_the_exact_totals(audits) -> None:
    space = next(f for f in audits["bad_lut_space"][0] if f.code == "PG807")
    byte = next(f for f in audits["bad_lut_byte"][0] if f.code == "PG807")
    good = next(f for f in audits["legal_standard"][0] if f.code == "PG807")
    assert good.data["reference_bytes"] == space.data["reference_bytes"] == byte.data["reference_bytes"]
    assert space.data["implied_bytes"] < good.data["reference_bytes"] < byte.data["implied_bytes"]


def test_unnormalized_cache_row_sums_far_above_one(audits) -> None:
    sweep = next(f for f in audits["bad_unnormalized"][0] if f.code == "PG803")
    assert "row sum" in sweep.message and float(sweep.message.split("row sum ")[1].split(",")[0]) > 2.0


SECURITY = {
    "sec_socket": {("PG806", "NO-NETWORK")},
    "sec_home": {("PG810", "C1-e")},
    "sec_forkbomb": {("PG810", "C1-e")},
    "sec_alloc": set(),
    "sec_sleep": {("PG810", "C1-e")},
}


@pytest.mark.parametrize("name", sorted(SECURITY))
def test_hostile_scripts_are_contained_and_reported(audits, name: str) -> None:
    findings, seconds = audits[name]
    assert fails(findings) == SECURITY[name]
    # stopped by its limit (conftest's HOSTILE: 20 s), which a busy machine stretches at most MAX_LOAD_STRETCH times
    assert seconds < 20.0 * MAX_LOAD_STRETCH + 30
    run = next(f for f in findings if f.code == "PG800")
    assert run.data["outcome"] == "INCONCLUSIVE" and run.level is Level.REVIEW


def test_home_directory_reads_are_refused_and_listed(audits) -> None:
    f = next(f for f in audits["sec_home"][0] if f.code == "PG810")
    assert any("/root/.ssh/id_rsa" in e for e in f.evidence) and any("/work/shared/RULEBOOK.md" in e for e in f.evidence)


@pytest.mark.slow
def test_forks_need_a_control_that_reproduces_the_base_headline(audits) -> None:
    findings, _ = audits["review_nondeterministic"]
    flip = next(f for f in findings if f.code == "PG802")
    assert (flip.data["outcome"], flip.level) == ("INCONCLUSIVE", Level.REVIEW)
    assert "the control re-run did not reproduce the base run (exit 0" in flip.message


@pytest.mark.slow
def test_the_sweep_of_a_mixed_cache_runs_where_the_cache_is_warm(audits) -> None:
    findings, _ = audits["bad_hashed_cache_full_size"]
    sweep = next(f for f in findings if f.code == "PG803")
    run = next(f for f in findings if f.code == "PG800")
    assert sweep.data["t"] > 3000 and "alone carry probability" in sweep.message
    assert "hashed table size 2**22 -> 256 at lines [9] (the scored run's tokens per bucket)" in run.evidence


@pytest.mark.slow
def test_a_crash_of_the_shipped_script_on_its_default_path_is_the_submissions_finding(audits) -> None:
    findings, _ = audits["review_crash_default_path"]
    run = next(f for f in findings if f.code == "PG800")
    assert (run.data["outcome"], run.level, run.line) == ("FAIL", Level.REVIEW, 16)
    assert run.message.startswith("dynamic-run FAIL: the shipped script does not run end to end: UnboundLocalError")
    assert all(f.data["outcome"] == "INCONCLUSIVE" for f in findings if f.code in ("PG801", "PG802", "PG803", "PG804"))
