"""The one level policy as a table, and the rulings registry: dates, versions, the submission's date,
``rules explain`` history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.findings import Confidence, Level, Status
from auditor.levels import (
    Dynamic,
    Evidence,
    Gate,
    after_dynamic,
    decide,
    probe_level,
    scoped,
)
from auditor.registry import catalog
from auditor.rulings import (
    RulingsError,
    SubmissionDate,
    history,
    parse_when,
    rulings,
    submission_date,
    version,
)

F, R, W, I, P = Level.FAIL, Level.REVIEW, Level.WARN, Level.INFO, Level.PASS
LATE = SubmissionDate(parse_when("2026-03-20"), "submission.json date")
EARLY = SubmissionDate(parse_when("2026-03-19"), "folder name")  # day precision: the 22:03 ruling is not yet in force

# asked, status, evidence, gate, version (check, case, date) or None, dynamic, waived -> level, counted
TABLE = [
    (F, Status.RULING, Evidence.STRONG, Gate.LIVE, None, Dynamic.NOT_RUN, False, F, True),
    (F, Status.DISPUTED, Evidence.STRONG, Gate.LIVE, None, Dynamic.NOT_RUN, False, R, True),
    (F, Status.RULING, Evidence.INSUFFICIENT, Gate.LIVE, None, Dynamic.NOT_RUN, False, R, True),
    (F, Status.RULING, Evidence.STRONG, Gate.OFF_BY_DEFAULT, None, Dynamic.NOT_RUN, False, R, True),
    (F, Status.RULING, Evidence.STRONG, Gate.OFF_IN_RUN, None, Dynamic.NOT_RUN, False, W, True),
    (F, Status.RULING, Evidence.STRONG, Gate.DEAD, None, Dynamic.NOT_RUN, False, None, True),
    (R, Status.RULING, Evidence.STRONG, Gate.OFF_IN_RUN, None, Dynamic.NOT_RUN, False, R, True),  # gates only lower FAILs
    (F, Status.RULING, Evidence.STRONG, Gate.LIVE, None, Dynamic.CONFIRMED, False, F, True),
    (F, Status.RULING, Evidence.STRONG, Gate.LIVE, None, Dynamic.CLEARED, False, R, True),
    (R, Status.RULING, Evidence.STRONG, Gate.LIVE, None, Dynamic.CLEARED, False, I, True),
    (R, Status.DISPUTED, Evidence.STRONG, Gate.LIVE, None, Dynamic.CLEARED, False, R, True),
    (F, Status.RULING, Evidence.STRONG, Gate.LIVE, None, Dynamic.INCONCLUSIVE, False, F, True),
    (W, Status.RULING, Evidence.STRONG, Gate.LIVE, None, Dynamic.CLEARED, False, W, True),  # not a lead
    (F, Status.README, Evidence.STRONG, Gate.LIVE, ("PG731", "single-run", EARLY), Dynamic.NOT_RUN, False, I, True),
    (F, Status.README, Evidence.STRONG, Gate.LIVE, ("PG731", "single-run", LATE), Dynamic.NOT_RUN, False, F, True),
    (F, Status.README, Evidence.STRONG, Gate.LIVE, ("PG731", "single-run", None), Dynamic.NOT_RUN, False, F, True),
    (F, Status.RULING, Evidence.STRONG, Gate.LIVE, ("PG621", "calibration-after-cap", LATE), Dynamic.NOT_RUN, False, R, True),
    (F, Status.RULING, Evidence.INSUFFICIENT, Gate.LIVE, ("PG611", "over-cap", LATE), Dynamic.NOT_RUN, False, R, True),
    (F, Status.RULING, Evidence.STRONG, Gate.LIVE, None, Dynamic.NOT_RUN, True, F, False),  # waived: kept, not counted
]


@pytest.mark.parametrize("asked,status,evidence,gate,ver,dynamic,waived,level,counted", TABLE)
def test_level_policy_table(asked, status, evidence, gate, ver, dynamic, waived, level, counted) -> None:
    v = version(*ver) if ver else None
    d = decide(asked, status=status, evidence=evidence, gate=gate, version=v, dynamic=dynamic, waived=waived)
    assert (d.level, d.counted) == (level, counted)


def test_dynamic_step_for_the_merge_and_probe_levels() -> None:
    assert after_dynamic(F, Dynamic.CLEARED, disputed=False, gated=False) == (R, Confidence.LOW)
    assert after_dynamic(R, Dynamic.CLEARED, disputed=False, gated=False) == (I, None)
    assert after_dynamic(R, Dynamic.CLEARED, disputed=True, gated=False) == (R, None)
    assert after_dynamic(F, Dynamic.CONFIRMED, disputed=False, gated=False) == (F, Confidence.HIGH)
    assert after_dynamic(F, Dynamic.CLEARED, disputed=False, gated=True) == (F, None)  # not measured: left alone
    assert after_dynamic(W, Dynamic.CONFIRMED, disputed=False, gated=False) == (W, None)
    assert [probe_level(F, o) for o in ("PASS", "FAIL", "INCONCLUSIVE")] == [I, F, R]
    assert probe_level(F, "FAIL", tolerated=W) == W
    assert scoped(F, record_track=True, backs_claim=True) == (F, "")
    assert scoped(F, record_track=False, backs_claim=True) == (I, " (non-record track)")
    assert scoped(F, record_track=True, backs_claim=False) == (I, " (a log that does not back the claim)")


def test_apply_versions_to_static_and_dynamic_findings() -> None:
    from auditor.findings import Finding, Source
    from auditor.levels import apply_versions

    static = Finding(code="PG103", rule="C1-d", level=R, source=Source.STATIC, path="t.py", line=3, message="smear")
    probe = Finding(code="PG804", rule="VAL-FULL-COVERAGE", level=F, source=Source.DYNAMIC, path="t.py", line=9,
                    message="gap", data={"case": "next-document-bos"})
    package = Finding(code="PG731", rule="STAT-SIG", level=F, source=Source.PACKAGE, path="s.json", line=1, message="x")
    apply_versions([static, probe, package], EARLY)
    assert (static.level, static.data["rule_version"]["ruling"]) == (I, "pr-1797-cross-doc")
    assert static.message == "smear [Ruling on PR #1797: previous-token mixing across BOS, 2026-04-26: not yet in force]"
    # a probe that names its case is judged by the registry too: next-document BOS targets are REVIEW
    assert (probe.level, probe.data["rule_version"]["ruling"]) == (R, "first-per-document-record-bos")
    assert (package.level, package.data) == (F, {})  # package checks apply their own versions
    subset = Finding(code="PG405", rule="VAL-FULL-COVERAGE", level=F, source=Source.STATIC, path="t.py", line=5,
                     message="cut")
    apply_versions([subset], LATE)  # not governed by date: the FAIL still names its ruling and date
    assert subset.level is F and subset.data["ruling"]["id"] == "readme-full-validation"
    assert subset.evidence[-1] == ("ruling: README: the headline covers the full validation split (2026-03-18, "
                                   "https://github.com/openai/parameter-golf/blob/main/README.md)")
    late = Finding(code="PG103", rule="C1-d", level=R, source=Source.STATIC, path="t.py", line=3, message="smear")
    apply_versions([late], SubmissionDate(parse_when("2026-04-27"), "--as-of"))
    assert (late.level, late.data["rule_version"]["in_force"]) == (R, True)


def test_versions_by_date() -> None:
    v = version("PG731", "single-run", parse_date("2026-03-19T22:03:00Z"))
    assert (v.level, v.ruling.id, v.in_force) == (F, "readme-3-runs", True)
    v = version("PG731", "single-run", parse_date("2026-03-19T22:02:59Z"))
    assert (v.level, v.ruling.id) == (I, "readme-launch-p001")
    assert version("PG731", "two-runs", parse_date("2026-04-30")).level is W
    assert version("PG731", "two-runs", parse_date("2026-05-02")).level is F
    assert version("PG731", "two-runs", parse_date("2026-03-18")).level is W
    with pytest.raises(KeyError):
        version("PG731", "no-such-case", None)


def parse_date(text: str) -> SubmissionDate:
    return SubmissionDate(parse_when(text), "--as-of")


def test_registry_is_complete_and_cited() -> None:
    regs = rulings()
    assert len({r.id for r in regs}) == len(regs)
    codes = {r.code for r in catalog()}
    for r in regs:
        assert r.url.startswith("https://github.com/openai/parameter-golf/"), r.id
        assert set(r.checks) <= codes, (r.id, set(r.checks) - codes)
    assert [r.id for r in history("PG731")] == ["readme-launch-p001", "readme-3-runs", "pr-2124-three-seeds"]


def test_submission_date_precedence(tmp_path: Path) -> None:
    folder = tmp_path / "2026-04-03_Name"
    folder.mkdir()
    assert submission_date(folder, "2026-04-05", as_of="2026-05-01").source == "--as-of"
    assert submission_date(folder, "2026-04-05", pr_created="2026-04-04T10:00:00Z").source == "PR creation"
    assert submission_date(folder, "2026-04-05").when.text == "2026-04-05"
    assert submission_date(folder, "not a date").describe() == "2026-04-03 (folder name)"
    assert submission_date(tmp_path / "undated", None) is None
    with pytest.raises(RulingsError):
        parse_when("April 3rd")


def test_rules_explain_shows_the_history(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json", "explain", "PG621"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [h["id"] for h in out["history"]] == ["pr-609-calibration-in-budget", "final-leaderboard-gptq-overshoot"]
    assert {"case": "calibration-after-cap", "before": None, "after": "REVIEW"} in out["history"][1]["governs"]
    assert "## Rulings by date" in out["markdown"] and "https://github.com/openai/parameter-golf/pull/609" in out["markdown"]
    assert "RULEBOOK" not in out["markdown"]
