"""The calibrations of RULEBOOK §11 through the CLI, on the record folders in ``records/`` (written by
us, see ``make_fixtures.py``): exact verdicts, and exact (code, file, line, level) for every finding
at WARN or above. The dynamic stage is off (``--no-dynamic``): these are static + package levels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.cli import main

RECORDS = Path(__file__).resolve().parent / "records"
RECORD = RECORDS / "track_10min_16mb"
NON_RECORD = RECORDS / "track_non_record_16mb"


def audit(folder: Path, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    code = main(["check", "--no-dynamic", "--jobs", "1", "--format", "json", "-o", str(out), *extra, str(folder)])
    report = json.loads(out.read_text())
    assert len(report["inputs"]) == 1
    return code, report["inputs"][0]


def findings(result: dict, at_least: str = "WARN") -> list[tuple[str, str, int, str]]:
    order = ["PASS", "INFO", "WARN", "REVIEW", "FAIL"]
    return sorted((f["code"], Path(f["path"]).name, f["line"], f["verdict"]) for f in result["findings"]
                  if order.index(f["verdict"]) >= order.index(at_least))


def only(result: dict, code: str) -> list[dict]:
    return [f for f in result["findings"] if f["code"] == code]


# ----- STAT-SIG ------------------------------------------------------------------------------------

def test_single_run_before_the_3_run_guidance_is_info(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-03-19_SingleRunEarly", tmp_path)
    assert (code, r["verdict"], findings(r)) == (0, "PASS", [])
    (f,) = only(r, "PG731")
    assert f["verdict"] == "INFO"
    assert f["data"]["rule_version"] == {
        "case": "single-run", "level": "INFO", "ruling": "readme-launch-p001", "ruling_date": "2026-03-18",
        "url": "https://github.com/openai/parameter-golf/blob/main/README.md", "in_force": True,
        "submission_date": "2026-03-19T10:00:00Z", "date_source": "submission.json date"}
    assert r["extra"]["submission_date"] == {"date": "2026-03-19T10:00:00Z", "source": "submission.json date"}


def test_single_run_after_the_3_run_guidance_fails_and_as_of_overrides_the_date(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-03-20_SingleRunLate", tmp_path)
    assert (code, r["verdict"], findings(r)) == (1, "FAIL", [("PG731", "submission.json", 6, "FAIL")])
    (f,) = only(r, "PG731")
    assert f["message"] == ("record claim backed by 1 logged run(s) of the submitted configuration; the README asks for "
                            "enough runs to show p < 0.01 (usually 3) [README adds the 3-run guidance, 2026-03-19T22:03Z]")
    assert f["evidence"][-1] == ("rule version: README adds the 3-run guidance (2026-03-19T22:03Z, "
                                 "https://github.com/openai/parameter-golf/commits/main/README.md), in force for a "
                                 "submission dated 2026-03-20 (submission.json date)")
    code, early = audit(RECORD / "2026-03-20_SingleRunLate", tmp_path, "--as-of", "2026-03-19T21:00:00Z")
    assert (code, early["verdict"]) == (0, "PASS")
    assert only(early, "PG731")[0]["data"]["rule_version"]["date_source"] == "--as-of"


def test_runs_are_counted_not_seed_values(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-01_FourRunsOneSeed", tmp_path)
    assert (code, r["verdict"], findings(r, "INFO")) == (0, "PASS", [("PG732", "submission.json", 6, "INFO")])


def test_the_naive_baseline_is_not_a_record_claim(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-03-17_NaiveBaseline", tmp_path, "--as-of", "2026-04-10")
    assert (code, r["verdict"], findings(r)) == (0, "PASS", [])
    assert only(r, "PG731")[0]["message"] == "the organisers' naive baseline (1 logged run(s)) is not a record claim"


def test_a_companion_folder_supplies_the_runs(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-27_OneSeedRecord", tmp_path)
    assert (code, r["verdict"], findings(r, "REVIEW")) == (0, "PASS", [])
    assert only(r, "PG731") == []  # 1 own run + 2 from the support folder (its copy of our log counts once)


def test_seeds_listed_as_objects_do_not_crash(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-02_SeedObjects", tmp_path)
    assert (code, r["verdict"], r["error"], findings(r, "REVIEW")) == (0, "PASS", None, [])
    assert [f for f in r["findings"] if f["code"] == "PG705"] == []


def test_a_static_rule_not_yet_in_force_is_info(tmp_path: Path) -> None:
    """C1-d was enforced from the ruling on PR #1797 (2026-04-26): before it, context only."""
    code, r = audit(RECORD / "2026-04-03_SmearBeforeRuling", tmp_path)
    assert (code, r["verdict"], findings(r, "REVIEW")) == (0, "PASS", [])
    (f,) = only(r, "PG103")
    assert (f["verdict"], f["line"], f["data"]["rule_version"]["in_force"]) == ("INFO", 11, False)
    code, r = audit(RECORD / "2026-04-03_SmearBeforeRuling", tmp_path, "--as-of", "2026-04-27")
    assert (code, r["verdict"], findings(r, "REVIEW")) == (1, "REVIEW", [("PG103", "train_gpt.py", 11, "REVIEW")])


# ----- TIME-TRAIN ----------------------------------------------------------------------------------

def test_calibration_after_the_cap_within_the_accepted_overshoot_is_review(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-20_GptqOvershoot", tmp_path)
    assert (code, r["verdict"]) == (1, "REVIEW")
    assert findings(r, "REVIEW") == [("PG621", f"train_seed{s}.log", 16, "REVIEW") for s in (314, 42, 999)]
    f = next(x for x in only(r, "PG621") if "seed 42" in x["message"])
    assert "3.1 s past the 600 s cap" in f["message"] and "PR #609" in f["message"] and "PR #2146" in f["message"]
    assert f["data"]["rule_version"]["ruling"] == "final-leaderboard-gptq-overshoot"


def test_calibration_beyond_the_accepted_overshoot_fails(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-21_GptqBeyond", tmp_path)
    assert (code, r["verdict"]) == (1, "FAIL")
    assert findings(r, "REVIEW") == [("PG621", f"train_seed{s}.log", 16, "FAIL") for s in (314, 42, 999)]


def test_a_compliant_rerun_makes_the_overshoot_info(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-22_GptqRerun", tmp_path)
    assert (code, r["verdict"], findings(r, "REVIEW")) == (0, "PASS", [])
    assert sorted((Path(f["path"]).name, f["verdict"]) for f in only(r, "PG621")) == [
        (f"train_seed{s}.log", "INFO") for s in (314, 42, 999)]
    assert "train_seed42_rerun.log (595.5 s with calibration)" in next(
        f["message"] for f in only(r, "PG621") if "seed 42" in f["message"])


# ----- VAL-FULL-COVERAGE ---------------------------------------------------------------------------

def test_next_document_bos_targets_are_review_with_the_count(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-23_NextDocBos", tmp_path)
    assert (code, r["verdict"]) == (1, "REVIEW")
    assert findings(r, "REVIEW") == [("PG721", f"train_seed{s}.log", 9, "REVIEW") for s in (314, 42, 999)]
    f = only(r, "PG721")[0]
    assert f["data"]["missing"] == 50_000 and "the next document's BOS targets are not scored" in f["message"]


def test_both_caseops_counts_are_accepted(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-24_CaseOpsTail", tmp_path)
    assert (code, r["verdict"], findings(r, "REVIEW")) == (0, "PASS", [])
    assert {f["verdict"] for f in only(r, "PG721")} == {"INFO"}


def test_a_gap_within_one_window_is_review_and_a_subset_fails(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-25_OneWindowGap", tmp_path)
    assert (code, r["verdict"]) == (1, "REVIEW")
    assert only(r, "PG721")[0]["message"].startswith(
        "seed 314: val_tokens 47,850,520 vs the canonical sp8192-caseops count 47,851,520: 1,000 targets never scored, "
        "at most one 2,048-token window")
    code, r = audit(RECORD / "2026-04-26_Subset", tmp_path)
    assert (code, r["verdict"]) == (1, "FAIL")
    assert findings(r, "REVIEW") == [("PG721", f"train_seed{s}.log", 9, "FAIL") for s in (314, 42, 999)]
    assert only(r, "PG721")[0]["data"]["rule_version"]["ruling"] == "readme-full-validation"


# ----- CLAIM-CONSISTENCY and ART-16MB --------------------------------------------------------------

def test_immaterial_byte_mismatches_are_warn(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-05_BytesRounded", tmp_path)
    assert (code, r["verdict"]) == (0, "PASS")
    assert findings(r) == [("PG712", "submission.json", 7, "WARN"), ("PG712", "submission.json", 10, "WARN")]


def test_a_claim_under_the_cap_hiding_logs_over_it_fails(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-06_BytesAtStake", tmp_path)
    assert (code, r["verdict"]) == (1, "FAIL")
    assert findings(r, "FAIL") == [
        ("PG611", "train_seed314.log", 9, "FAIL"), ("PG611", "train_seed42.log", 9, "FAIL"),
        ("PG611", "train_seed999.log", 9, "FAIL"),
        ("PG712", "submission.json", 7, "FAIL"), ("PG712", "submission.json", 11, "FAIL"),
        ("PG712", "submission.json", 15, "FAIL"), ("PG712", "submission.json", 19, "FAIL")]
    f = next(x for x in only(r, "PG611") if "seed 42" in x["message"])
    assert f["data"]["rule_version"]["ruling"] == "readme-artifact-cap"
    assert f["evidence"][0] == "train_seed42.log:9: Total submission size int6+zstd: 16062179 bytes"


def test_model_plus_shipped_script_is_a_valid_total(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-07_ModelPlusScript", tmp_path)
    assert (code, r["verdict"], only(r, "PG712")) == (0, "PASS", [])


def test_the_claimed_value_is_searched_in_every_log(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-08_ClaimInOtherLog", tmp_path)
    assert (code, r["verdict"]) == (0, "PASS")
    assert findings(r) == [("PG711", "submission.json", 12, "WARN"), ("PG711", "submission.json", 15, "WARN")]


def test_logs_of_other_code_are_not_evidence(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-09_ForeignLogs", tmp_path)
    assert (code, r["verdict"]) == (1, "REVIEW")
    assert findings(r, "REVIEW") == [
        ("PG611", "train_seed314.log", 9, "REVIEW"), ("PG611", "train_seed42.log", 9, "REVIEW"),
        ("PG611", "train_seed999.log", 9, "REVIEW"), ("PG712", "submission.json", 7, "REVIEW")]
    assert "not backed by a log of the shipped code" in only(r, "PG712")[0]["message"]


def test_packed_script_totals_are_reported_both_ways(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-10_PackedRawOver", tmp_path)
    assert (code, r["verdict"]) == (1, "REVIEW")
    assert findings(r, "REVIEW") == [("PG611", f"train_seed{s}.log", 9, "REVIEW") for s in (314, 42, 999)]
    f = next(x for x in only(r, "PG611") if "seed 42" in x["message"])
    assert f["data"]["bytes_total"] == 16_000_500 and f["data"]["bytes_total_shipped"] < 16_000_000
    assert f["data"]["rule_version"]["ruling"] == "pr-1835-subset"


# ----- FOLDER --------------------------------------------------------------------------------------

def test_the_mean_under_another_key_is_a_variant(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-11_MeanUnderValLoss", tmp_path)
    assert (code, r["verdict"], findings(r)) == (0, "PASS", [("PG705", "submission.json", 6, "WARN")])
    assert r["extra"]["claimed_val_bpb"] == pytest.approx(1.0812)


def test_non_record_folder_without_logs_is_review(tmp_path: Path) -> None:
    code, r = audit(NON_RECORD / "2026-04-12_NoLogs", tmp_path)
    assert (code, r["verdict"], findings(r)) == (1, "REVIEW", [("PG701", "submission.json", 1, "REVIEW")])


def test_a_record_folder_whatever_its_script_is_called(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-13_OtherScriptName", tmp_path)
    assert (code, r["kind"], r["verdict"], findings(r)) == (0, "folder", "PASS", [("PG702", "train_gpt_v5.py", 1, "WARN")])


def test_the_cutoff_uses_the_date_the_audit_judges_by(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-13_OtherScriptName", tmp_path, "--as-of", "2026-05-02T00:00:00Z")
    (f,) = only(r, "PG751")
    assert (f["verdict"], f["message"]) == ("INFO", "dated 2026-05-02T00:00:00Z (--as-of), on or after the leaderboard "
                                            "cutoff 2026-05-02 00:00 UTC [Leaderboard cutoff and grace policy, 2026-05-02T00:00Z]")
    code, r = audit(RECORD / "2026-04-13_OtherScriptName", tmp_path, "--as-of", "2026-05-01T23:59:59Z")
    assert only(r, "PG751") == []


def test_a_submission_folder_without_code_is_an_error_that_says_so(tmp_path: Path) -> None:
    code, r = audit(RECORD / "2026-04-14_LogOnly", tmp_path)
    assert (code, r["kind"], r["verdict"]) == (2, "folder", "ERROR")
    assert r["error"].endswith("2026-04-14_LogOnly: no train_gpt.py, and no single Python script to audit instead "
                               "(found: none)")


def test_discovery_audits_every_fixture_as_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    main(["check", "--no-dynamic", "--jobs", "1", "--format", "json", "-o", str(out), str(RECORDS)])
    inputs = json.loads(out.read_text())["inputs"]
    assert {i["kind"] for i in inputs} == {"folder"}
    assert len(inputs) == len([p for p in RECORDS.glob("track_*/*") if p.is_dir()])


def test_a_bad_as_of_date_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--no-dynamic", "--as-of", "last tuesday", str(RECORD / "2026-03-20_SingleRunLate")]) == 2
    assert "not a date: 'last tuesday'" in capsys.readouterr().err
