"""Every front door, end to end, on the record folders written by us in ``examples/records``.

Each command goes through ``auditor.cli.main`` (one through a real ``pgolf-audit`` process) with its
default options, so the dynamic stage is on for folders unless a test turns it off. Verdicts, FAIL
codes and each dynamic probe's outcome are exact: a seam between stages that breaks (a signature
mismatch, an option lost on the way) fails here, not in a maintainer's hands.

The folders:
- ``TinySlidingLegal``: a tiny GPT, sliding-window evaluation, three seed logs in the baseline dialect;
- ``TinySlidingPacked``: the same script shipped as an lzma+base85 ``exec`` wrapper;
- ``TinyPrequantTTT``: adapts on the val tokens before export (C3-b);
- ``TinyDiagThenTrain``: an unprinted diagnostic pass, then epochs on every val token, then the reported
  pass (C3). The dynamic stage used to PASS it on the diagnostic pass's sums and clear the static FAIL.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import cli, engine
from auditor.package import action

TRACK = Path(__file__).parent.parent / "examples" / "records" / "track_10min_16mb"
LEGAL = TRACK / "2026-05-01_TinySlidingLegal"
PACKED = TRACK / "2026-05-01_TinySlidingPacked"
PREQUANT = TRACK / "2026-05-01_TinyPrequantTTT"
DIAG = TRACK / "2026-05-01_TinyDiagThenTrain"
PROBES = tuple(f"PG80{i}" for i in range(10)) + ("PG810",)
ALL_PASS = dict.fromkeys(PROBES, "PASS")

#: folder -> (verdict, FAIL (code, rule) pairs, each probe's outcome, static FAIL -> its dynamic state)
WITH_DYNAMIC = {
    LEGAL.name: ("PASS", set(), ALL_PASS, {}),
    PACKED.name: ("PASS", set(), ALL_PASS, {}),
    PREQUANT.name: (
        "FAIL",
        {("PG301", "C3-a"), ("PG302", "C3-b"), ("PG801", "C3-b"), ("PG802", "C1-CAUSAL"), ("PG803", "C2-NORMALIZED")},
        ALL_PASS | {"PG801": "FAIL", "PG802": "FAIL", "PG803": "FAIL"},
        {"PG301": "confirmed", "PG302": "confirmed"},
    ),
    DIAG.name: (
        "FAIL",
        {("PG301", "C3-a"), ("PG801", "C3-SCORE-FIRST")},
        ALL_PASS | {"PG801": "FAIL"},
        {"PG301": "confirmed"},
    ),
}
WITHOUT_DYNAMIC = {
    LEGAL.name: ("PASS", set()),
    PACKED.name: ("PASS", set()),
    PREQUANT.name: ("FAIL", {("PG301", "C3-a"), ("PG302", "C3-b")}),
    DIAG.name: ("FAIL", {("PG301", "C3-a")}),
}


def _run(argv: list[str], out: Path) -> tuple[int, dict[str, dict]]:
    code = cli.main([*argv, "--format", "json", "-o", str(out)])
    report = json.loads(out.read_text())
    return code, {Path(r["path"]).name: r for r in report["inputs"]}


def _fails(result: dict) -> set[tuple[str, str]]:
    return {(f["code"], f["rule"]) for f in result["findings"] if f["verdict"] == "FAIL"}


def _probes(result: dict) -> dict[str, str]:
    return {f["code"]: f["data"]["outcome"] for f in result["findings"] if f["source"] == "dynamic"}


def _static_states(result: dict) -> dict[str, str]:
    return {f["code"]: f["data"].get("dynamic") for f in result["findings"]
            if f["source"] == "static" and f["verdict"] == "FAIL"}


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, dict]]:
    """``pgolf-audit check TRACK`` with default options: the four folders, dynamic on."""
    return _run(["check", str(TRACK), "--jobs", "2"], tmp_path_factory.mktemp("check") / "report.json")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WITH_DYNAMIC))
def test_check_folder_with_the_dynamic_stage(checked: tuple[int, dict[str, dict]], name: str) -> None:
    code, results = checked
    verdict, fails, probes, states = WITH_DYNAMIC[name]
    result = results[name]
    assert code == 1 and result["error"] is None
    messages = [f["message"] for f in result["findings"] if f["source"] == "dynamic" and f["data"]["outcome"] != "PASS"]
    assert (result["verdict"], _fails(result), _probes(result), _static_states(result)) == (
        verdict, fails, probes, states), messages


@pytest.mark.slow
def test_the_confirming_probe_cites_the_update_line(checked: tuple[int, dict[str, dict]]) -> None:
    diag = checked[1][DIAG.name]
    lead = next(f for f in diag["findings"] if f["code"] == "PG301")
    probe = next(f for f in diag["findings"] if f["code"] == "PG801")
    assert (lead["line"], probe["line"]) == (187, 188)
    assert any("confirmed dynamically by PG801" in e for e in lead["evidence"])
    assert probe["message"].startswith("score-before-update FAIL: optimizer step (SGD) used val positions")


def test_check_folders_without_the_dynamic_stage(tmp_path: Path) -> None:
    code, results = _run(["check", str(TRACK), "--no-dynamic", "--jobs", "1"], tmp_path / "r.json")
    assert code == 1
    assert {n: (r["verdict"], _fails(r)) for n, r in results.items()} == WITHOUT_DYNAMIC
    assert all(f["source"] != "dynamic" for r in results.values() for f in r["findings"])


def test_without_torch_the_dynamic_stage_is_reported_as_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = engine.importlib.util.find_spec
    monkeypatch.setattr(engine.importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    code, results = _run(["check", str(LEGAL), "--jobs", "1"], tmp_path / "r.json")
    result = results[LEGAL.name]
    dynamic = [f for f in result["findings"] if f["source"] == "dynamic"]
    assert (code, result["verdict"], result["error"]) == (0, "PASS", None)
    assert [(f["code"], f["verdict"], f["data"]["outcome"]) for f in dynamic] == [("PG800", "INFO", "NOT-RUN")]
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in dynamic[0]["message"]


@pytest.mark.slow
def test_the_console_script_in_a_real_process(tmp_path: Path) -> None:
    exe = shutil.which("pgolf-audit")
    argv = [exe] if exe else [sys.executable, "-m", "auditor.cli"]
    proc = subprocess.run([*argv, str(PACKED), "--format", "json"], capture_output=True, text=True, timeout=300)
    assert (proc.returncode, proc.stderr) == (0, "")
    result = json.loads(proc.stdout)["inputs"][0]
    assert (result["verdict"], _probes(result)) == ("PASS", ALL_PASS)
    assert result["extra"]["decoded"]["chain"] == ["b85", "xz"]


def test_verify_runs_the_package_checks_alone(tmp_path: Path) -> None:
    code, results = _run(["verify", str(LEGAL), str(PREQUANT)], tmp_path / "r.json")
    assert code == 0
    assert {n: (r["verdict"], {f["source"] for f in r["findings"]} <= {"package"}) for n, r in results.items()} == {
        LEGAL.name: ("PASS", True), PREQUANT.name: ("PASS", True)}


def _repo_with(tmp_path: Path, *folders: Path) -> Path:
    """A git repository whose ``main`` has no records and whose ``pr`` branch adds ``folders``."""
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.invalid")
    git("config", "user.name", "t")
    (repo / "README.md").write_text("challenge\n")
    git("add", "-A")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "pr")
    for folder in folders:
        shutil.copytree(folder, repo / "records" / "track_10min_16mb" / folder.name)
    git("add", "-A")
    git("commit", "-qm", "add records")
    return repo


@pytest.mark.slow
def test_pr_with_and_without_the_dynamic_stage(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, DIAG)
    code, on = _run(["pr", "--repo", str(repo), "--base", "main", "--head", "pr"], tmp_path / "on.json")
    assert (code, on[DIAG.name]["verdict"], _fails(on[DIAG.name])) == (1, "FAIL", WITH_DYNAMIC[DIAG.name][1])
    assert _static_states(on[DIAG.name]) == {"PG301": "confirmed"}
    code, off = _run(["pr", "--repo", str(repo), "--base", "main", "--head", "pr", "--no-dynamic"], tmp_path / "off.json")
    assert (code, off[DIAG.name]["verdict"], _fails(off[DIAG.name]), _probes(off[DIAG.name])) == (
        1, "FAIL", {("PG301", "C3-a")}, {})


@pytest.mark.slow
def test_leaderboard_with_and_without_the_dynamic_stage(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, LEGAL)
    md, html, report = tmp_path / "lb.md", tmp_path / "lb.html", tmp_path / "lb.json"
    for flag, probes in (([], ALL_PASS), (["--no-dynamic"], {})):
        argv = ["leaderboard", "--repo", str(repo), "--markdown", str(md), "--html", str(html), "--json", str(report)]
        assert cli.main([*argv, *flag]) == 0
        result = json.loads(report.read_text())["inputs"][0]
        assert (Path(result["path"]).name, result["verdict"], _probes(result)) == (LEGAL.name, "PASS", probes)
        assert LEGAL.name in md.read_text() and LEGAL.name in html.read_text()


def test_reproduce_with_a_fake_launcher(tmp_path: Path) -> None:
    """The launcher prints the folder's own log for the seed, as a faithful re-run would."""
    fake = tmp_path / "fake_torchrun.py"
    fake.write_text("import os, sys\nsys.stdout.write(open(os.path.join(os.environ['LOGS'], "
                    "f\"train_seed{os.environ['SEED']}.log\")).read())\n")
    out = tmp_path / "out"
    code = cli.main(["reproduce", str(LEGAL), "--seeds", "42,314,999", "--out", str(out), "--launcher",
                     f"{sys.executable} {fake}", "--env", f"LOGS={LEGAL}", "--format", "json",
                     "-o", str(tmp_path / "r.json")])
    result = json.loads((tmp_path / "r.json").read_text())["inputs"][0]
    rows = {r["seed"]: (r["returncode"], r["val_bpb"]) for r in result["extra"]["reproduction"]}
    assert (code, result["verdict"], result["error"]) == (0, "PASS", None)
    assert rows == {42: (0, 1.11437394), 314: (0, 1.1150812), 999: (0, 1.11475014)}


@pytest.mark.slow
@pytest.mark.parametrize(("dynamic", "probes"), [("true", ALL_PASS | {"PG801": "FAIL", "PG802": "FAIL", "PG803": "FAIL"}),
                                                 ("false", {})])
def test_action_entry_in_check_mode(tmp_path: Path, dynamic: str, probes: dict[str, str]) -> None:
    report = tmp_path / "a.json"
    code = action.main(["audit", "--mode", "check", "--path", str(PREQUANT), "--dynamic", dynamic, "--fail-on", "fail",
                        "--json-file", str(report), "--sarif-file", str(tmp_path / "a.sarif"), "--summary", "false"],
                       env={})
    result = json.loads(report.read_text())["inputs"][0]
    assert (code, result["verdict"], _probes(result)) == (1, "FAIL", probes)
    assert ("PG302", "C3-b") in _fails(result)
