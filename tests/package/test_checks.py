"""Package checks on synthetic record folders: exact codes, lines, levels and the report fields."""

from __future__ import annotations

import json

import pytest

from auditor.findings import Level, Source
from auditor.package.check import Sota, all_package_checks
from auditor.package.verify import FolderError, verify_folder
from tests.package.records import SCRIPT, baseline_log, make_folder, phased_log, sliding_log, three_seed_sliding


def got(findings, at_least=Level.INFO):
    return sorted((f.code, f.path.rsplit("/", 1)[-1], f.line, f.level.name) for f in findings if f.level >= at_least)


def test_consistent_three_seed_folder_passes(tmp_path):
    findings, extra = verify_folder(three_seed_sliding(tmp_path))
    assert got(findings, Level.WARN) == []
    assert [f.code for f in findings] == ["PG732"]  # the statistics, as INFO (no SOTA given)
    assert all(f.source is Source.PACKAGE for f in findings)
    assert extra["claimed_val_bpb"] == pytest.approx(1.11473509)
    assert extra["logged_val_bpb_mean"] == pytest.approx((1.11437394 + 1.11508120 + 1.11475014) / 3)
    row = next(r for r in extra["seeds"] if r["seed"] == 42)
    assert row == {"seed": 42, "val_bpb": 1.11437394, "bytes_total": 15_900_000, "bytes_code": len(SCRIPT),
                   "train_seconds": 599.94, "eval_seconds": 72.611, "log": row["log"], "headline": "final_int6_sliding_window_exact"}
    assert row["log"].endswith("train_seed42.log")


def test_over_cap_seed_and_hidden_by_the_claim(tmp_path):
    code = len(SCRIPT)  # logs of the shipped code (logs of other code are not evidence: REVIEW)
    logs = {"train_seed1.log": sliding_log(1, 1.10, 1.86, total=16_000_001, code=code),
            "train_seed2.log": sliding_log(2, 1.10, 1.86, code=code), "train_seed3.log": sliding_log(3, 1.10, 1.86, code=code)}
    folder = make_folder(tmp_path, logs=logs, submission={"name": "n", "author": "a", "github_id": "g", "date": "2026-04-01",
                                                          "val_bpb": 1.1, "bytes_total": 15_900_000})
    findings, _ = verify_folder(folder)
    assert got(findings, Level.REVIEW) == [("PG611", "train_seed1.log", 8, "FAIL"), ("PG712", "submission.json", 7, "FAIL")]
    cap = next(f for f in findings if f.code == "PG611")
    assert cap.message == ("seed 1: artifact is 16,000,001 bytes, 1 over the 16,000,000-byte cap "
                           "[README: the 16,000,000-byte artifact cap, 2026-03-18]")
    assert cap.evidence[0] == "train_seed1.log:8: Total submission size int6+zstd: 16000001 bytes"
    assert cap.data["rule_version"]["ruling"] == "readme-artifact-cap"


def test_over_time_training_and_hessians_and_eval(tmp_path):
    logs = {"train_seed1.log": phased_log(1, 1.0650, 2.3308, train_ms=599_600, hessians_s=3.5),
            "train_seed2.log": phased_log(2, 1.0652, 2.3310, ttt_ms=616_000),
            "train_seed3.log": phased_log(3, 1.0651, 2.3309, train_ms=605_000, hessians_s=0.0)}
    folder = make_folder(tmp_path, logs=logs, submission={"name": "n", "author": "a", "github_id": "g",
                                                          "date": "2026-04-20", "val_bpb": 1.0651})
    findings, extra = verify_folder(folder)
    # calibration after the cap within the ~607 s the final leaderboard accepted: REVIEW; a loop 5 s over: FAIL
    assert got(findings, Level.REVIEW) == [("PG621", "train_seed1.log", 19, "REVIEW"), ("PG621", "train_seed3.log", 13, "FAIL"),
                                           ("PG631", "train_seed2.log", 24, "FAIL")]
    assert next(f for f in findings if f.line == 19).message.startswith(
        "seed 1: training loop 599.6 s + Hessian collection on training data 3.5 s = 603.1 s, 3.1 s past the 600 s cap")
    assert [r["eval_seconds"] for r in extra["seeds"]] == [391.198, 616.0, 391.198]


def test_last_step_overshoot_is_info_and_non_record_track_is_exempt(tmp_path):
    folder = make_folder(tmp_path, "2026-03-18_Base", logs={"train.log": baseline_log(train_ms=600_038)},
                         submission={"name": "n", "author": "a", "github_id": "g", "date": "2026-03-18", "val_bpb": 1.2243657})
    findings, _ = verify_folder(folder)
    assert ("PG621", "train.log", 11, "INFO") in got(findings)
    # one run for a record claim dated before the README's 3-run guidance (2026-03-19 22:03 UTC): INFO
    assert ("PG731", "submission.json", 6, "INFO") in got(findings)
    assert got(findings, Level.WARN) == []
    long = make_folder(tmp_path, "2026-03-18_Long", track="track_non_record_16mb",
                       logs={"train.log": baseline_log(train_ms=14_400_039)},
                       submission={"name": "n", "author": "a", "github_id": "g", "date": "2026-03-18", "val_bpb": 1.2243657})
    assert got(verify_folder(long)[0], Level.WARN) == []


def test_claim_mismatch_other_evaluator_and_single_seed_value(tmp_path):
    logs = {f"train_seed{s}.log": sliding_log(s, b, 1.88, code=len(SCRIPT)) for s, b in ((1, 1.1140), (2, 1.1150), (3, 1.1160))}
    base = {"name": "n", "author": "a", "github_id": "g", "date": "2026-04-01"}
    wrong = make_folder(tmp_path, "a", logs=logs, submission=base | {"val_bpb": 1.1050})
    assert got(verify_folder(wrong)[0], Level.REVIEW) == [("PG711", "submission.json", 6, "FAIL")]
    roundtrip = make_folder(tmp_path, "b", logs=logs, submission=base | {"val_bpb": 1.1450, "seeds": [1, 2, 3]})
    assert got(verify_folder(roundtrip)[0], Level.REVIEW) == [("PG711", "submission.json", 6, "REVIEW")]
    one = make_folder(tmp_path, "c", logs=logs, submission=base | {"val_bpb": 1.1140})
    assert ("PG711", "submission.json", 6, "INFO") in got(verify_folder(one)[0])
    rounded = make_folder(tmp_path, "d", logs=logs, submission=base | {"val_bpb": 1.115})
    assert got(verify_folder(rounded)[0], Level.REVIEW) == []


def test_per_seed_claims_bytes_and_seeds(tmp_path):
    logs = {"train_seed1.log": sliding_log(1, 1.1140, 1.88, total=15_900_001, code=len(SCRIPT)),
            "train_seed2.log": sliding_log(2, 1.1150, 1.88, total=15_900_002, code=len(SCRIPT)),
            "train_seed42.log": sliding_log(7, 1.1160, 1.88, code=len(SCRIPT))}
    sub = {"name": "n", "author": "a", "github_id": "g", "date": "2026-04-01", "val_bpb": 1.115,
           "seed_results": {"1": {"val_bpb": 1.1240, "artifact_bytes": 15_900_001},
                            "2": {"val_bpb": 1.1150, "artifact_bytes": 15_900_001},
                            "42": {"val_bpb": 1.1160, "artifact_bytes": 15_900_001}}}
    findings, _ = verify_folder(make_folder(tmp_path, logs=logs, submission=json.dumps(sub, indent=2)))
    assert got(findings, Level.REVIEW) == [
        ("PG711", "submission.json", 9, "FAIL"),     # seed 1 claims 1.1240, no log prints it
        ("PG713", "submission.json", 16, "REVIEW"),  # seed 42 has no log
        ("PG713", "train_seed42.log", 1, "REVIEW"),  # named seed 42, ran seed 7
    ]
    # byte mismatches with everything under the cap are WARN (RULEBOOK §11.5)
    assert [x for x in got(findings, Level.WARN) if x[0] == "PG712"] == [
        ("PG712", "submission.json", 10, "WARN"),  # one size claimed for every seed, logs differ
        ("PG712", "submission.json", 14, "WARN"),  # seed 2 claims seed 1's total: a mis-copied seed value
    ]


def test_missing_files_schema_and_missing_helper(tmp_path):
    script = 'exec(open(__file__.replace("train_gpt.py", "train_gpt_decode.py")).read())\nimport zstandard\n'
    folder = make_folder(tmp_path, readme=False, script=script, submission='{"name": 1,\n "val_bpb": "x"}')
    assert got(verify_folder(folder)[0], Level.WARN) == [
        ("PG701", "submission.json", 1, "FAIL"), ("PG701", "submission.json", 1, "FAIL"),
        ("PG704", "train_gpt.py", 2, "WARN"),  # the missing decode file is the static rule PG904's
        # no readable val_bpb on the record track: FAIL; a mistyped field is a variant: WARN (RULEBOOK §11.5)
        ("PG705", "submission.json", 1, "FAIL"), ("PG705", "submission.json", 1, "WARN"),
        ("PG705", "submission.json", 1, "WARN"), ("PG705", "submission.json", 1, "WARN"), ("PG705", "submission.json", 1, "WARN"),
        ("PG705", "submission.json", 2, "WARN")]
    with pytest.raises(FolderError):
        verify_folder(tmp_path / "nope")


def test_val_tokens_hardware_and_code_count(tmp_path):
    logs = {"train_seed1.log": phased_log(1, 1.0650, 2.3308, val_tokens=9_663_488),
            "train_seed2.log": phased_log(2, 1.0652, 2.3310).replace("  world_size: 8", "  world_size: 4"),
            "train_seed3.log": phased_log(3, 1.0651, 2.3309, val_tokens=47_851_520 - 2048)}
    folder = make_folder(tmp_path, logs=logs, submission={"name": "n", "author": "a", "github_id": "g",
                                                          "date": "2026-04-20", "val_bpb": 1.0651})
    findings, _ = verify_folder(folder)
    assert got(findings, Level.WARN) == [("PG612", "train_seed1.log", 17, "WARN"), ("PG721", "train_seed1.log", 8, "FAIL"),
                                         ("PG741", "train_seed2.log", 6, "FAIL")]


def test_significance_against_a_sota(tmp_path):
    folder = three_seed_sliding(tmp_path)
    sota = Sota(val_losses=(1.8900, 1.8896, 1.8905), label="prev")
    findings, _ = verify_folder(folder, sota=sota)
    bar, frontier = [f for f in findings if f.code == "PG732"]
    assert (bar.level, frontier.level) == (Level.INFO, Level.INFO)
    assert bar.data["record_bar"]["p"] < 0.01 and bar.data["record_bar"]["kind"] == "welch"
    close = Sota(mean_val_loss=1.8840, label="close")
    bar, frontier = [f for f in verify_folder(folder, sota=close)[0] if f.code == "PG732"]
    assert (bar.level, bar.data["record_bar"]["kind"], frontier.level) == (Level.REVIEW, "one-sample", Level.INFO)


def test_selection_and_catalog_docs(tmp_path):
    findings, _ = verify_folder(three_seed_sliding(tmp_path), ignore=["PG73"])
    assert findings == []
    sections = ("What it detects", "Why it breaks the metric", "Example", "Legal alternative", "How it is confirmed",
                "Ruling", "Known gaps")
    checks = all_package_checks()
    assert [c.code for c in checks] == ["PG611", "PG612", "PG621", "PG631", "PG701", "PG702", "PG704", "PG705",
                                        "PG706", "PG711", "PG712", "PG713", "PG721", "PG731", "PG732", "PG741", "PG751"]
    for c in checks:
        assert all(s in c.doc() for s in sections), c.code
        assert c.rule_id and c.name == c.name.lower() and c.hint
