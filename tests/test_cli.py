"""The command line end to end (in-process through ``main``, plus one real subprocess): exit codes,
formats, one-line errors and no tracebacks, batch isolation, the --output guard, rules and docs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main

CLEAN = "import math\nprint(math.pi)\n"
LEAKY = "x = 1\nleak(x)\n"
MAYBE = "x = 1\nmaybe(x)\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {}
    for name, text in {"clean": CLEAN, "leaky": LEAKY, "maybe": MAYBE}.items():
        made[name] = tmp_path / f"{name}.py"
        made[name].write_text(text)
    return made


def test_exit_codes(capsys, files, sample_catalog) -> None:
    assert run(capsys, str(files["clean"]))[0] == 0
    assert run(capsys, str(files["leaky"]))[0] == 1
    assert run(capsys, str(files["maybe"]))[0] == 1
    assert run(capsys, "check", str(files["maybe"]), "--fail-on", "fail")[0] == 0
    assert run(capsys, str(files["leaky"]), "--ignore", "PG990")[0] == 0
    assert run(capsys, str(files["clean"]), str(files["leaky"]), "--select", "PG1,PG2")[0] == 0


def test_json_to_stdout(capsys, files, sample_catalog) -> None:
    code, out, err = run(capsys, str(files["leaky"]), "--format", "json", "--select", "PG990")
    report = json.loads(out)
    assert (code, err, report["verdict"]) == (1, "", "FAIL")
    (item,) = report["inputs"]
    assert [(f["code"], f["rule"], f["verdict"], f["source"], f["line"]) for f in item["findings"]] == [
        ("PG990", "TEST-LEAK", "FAIL", "static", 2)
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"def f(:\n    pass\n", "syntax error at line 1"),
        (b"\x7fELF\x00\x00\x01binary", ""),
        (b"", "empty"),
        (b"x = '\xe9t\xe9'\n", ""),
        (b"x = " + b"[" * 2000 + b"]" * 2000 + b"\n", "too many nested parentheses"),
        (b"x = " + b"-" * 2000 + b"1\n", "nests more than 1000 levels deep"),
    ],
    ids=["syntax-error", "binary", "empty", "non-utf8", "nesting-2000", "unary-chain-2000"],
)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path: Path, content: bytes, reason: str) -> None:
    bad = tmp_path / "train_gpt.py"
    bad.write_bytes(content)
    code, out, err = run(capsys, str(bad), "--format", "json")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"pgolf-audit: error: {bad}") and reason in err
    assert json.loads(out)["inputs"][0]["verdict"] == "ERROR"


def test_huge_input_exits_2(capsys, tmp_path: Path) -> None:
    huge = tmp_path / "huge.py"
    with huge.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB of NULs, written instantly
    code, out, err = run(capsys, str(huge))
    assert code == 2 and err.count("\n") == 1 and err.startswith(f"pgolf-audit: error: {huge}")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.py"], "pgolf-audit: error: missing.py: no such file or directory\n"),
        (["x.py", "--select", "E501"], "not a check code or prefix: 'E501'"),
        (["x.py", "--jobs", "0"], "expected a positive integer, got '0'"),
        (["x.py", "--config", "nowhere.toml"], "pgolf-audit: error: nowhere.toml: config file not found\n"),
        (["rules", "explain", "PG000"], "pgolf-audit: error: unknown check code 'PG000'; `pgolf-audit rules` lists them\n"),
    ],
)
def test_usage_errors_exit_2(capsys, tmp_path: Path, monkeypatch, argv: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.py").write_text(CLEAN)
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err


def test_empty_folder_and_no_arguments(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2 and err == f"pgolf-audit: error: {tmp_path}: no Python files or record folders (with train_gpt.py) found\n"
    assert run(capsys)[0] == 2
    assert run(capsys, "--version")[0] == 0


def test_bad_config_exits_2(capsys, tmp_path: Path, files) -> None:
    config = tmp_path / "pgolf-audit.toml"
    config.write_text('[[waiver]]\ncode = "PG990"\nreason = "x"\n')
    code, _, err = run(capsys, str(files["clean"]), "--config", str(config))
    assert code == 2
    assert err == f"pgolf-audit: error: {config}: waiver[0]: missing required key 'ruling' (every waiver needs a reason and a ruling link)\n"


def test_waiver_from_discovered_config(capsys, tmp_path: Path, files, monkeypatch, sample_catalog) -> None:
    (tmp_path / "pgolf-audit.toml").write_text(
        '[[waiver]]\ncode = "PG990"\npath = "leaky.py"\nreason = "recounted"\nruling = "https://example.org/r"\n'
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "leaky.py", "--format", "json")
    assert code == 0
    (f,) = json.loads(out)["inputs"][0]["findings"]
    assert f["waived"] == {"reason": "recounted", "ruling": "https://example.org/r"}


def test_batch_isolates_bad_inputs(capsys, tmp_path: Path, files, sample_catalog) -> None:
    (tmp_path / "bad.py").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "bug.py").write_text("boom()\n")
    (tmp_path / "crash.py").write_text("die_now()\n")
    code, out, err = run(capsys, str(tmp_path), "--format", "json", "--jobs", "2")
    report = json.loads(out)
    verdicts = {Path(i["path"]).name: (i["verdict"], i["error"]) for i in report["inputs"]}
    assert code == 2
    assert {k: v[0] for k, v in verdicts.items()} == {
        "bad.py": "ERROR", "bug.py": "REVIEW", "clean.py": "PASS", "crash.py": "ERROR", "leaky.py": "FAIL", "maybe.py": "REVIEW"
    }
    assert verdicts["crash.py"][1] == "the worker process died while auditing this input (killed for memory?)"
    bug = next(i for i in report["inputs"] if i["path"].endswith("bug.py"))
    assert [f["code"] for f in bug["findings"]] == ["PG950"]
    assert len(err.splitlines()) == 2


def test_per_input_timeout(capsys, tmp_path: Path, files, sample_catalog) -> None:
    (tmp_path / "slow.py").write_text("hang()\n")
    code, out, _ = run(capsys, str(tmp_path / "slow.py"), str(files["clean"]), "--format", "json", "--timeout", "0.3", "-j", "1")
    report = json.loads(out)
    assert code == 2
    assert [(i["verdict"], i["error"]) for i in report["inputs"]] == [("ERROR", "timed out after 0.3 s"), ("PASS", None)]


def test_output_never_overwrites_inputs(capsys, tmp_path: Path, files) -> None:
    before = files["clean"].read_bytes()
    code, _, err = run(capsys, str(files["clean"]), "--output", str(files["clean"]))
    assert code == 2 and "would overwrite or write inside the input" in err
    assert files["clean"].read_bytes() == before
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "train_gpt.py").write_text(CLEAN)
    code, _, err = run(capsys, str(folder), "--no-dynamic", "--output", str(folder / "report.json"))
    assert code == 2 and not (folder / "report.json").exists()
    report = tmp_path / "out" / "report.sarif"
    report.parent.mkdir()
    code, out, _ = run(capsys, str(files["clean"]), "--format", "sarif", "-o", str(report))
    assert code == 0 and out == "" and json.loads(report.read_text())["version"] == "2.1.0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.py", "leaky.py", "maybe.py", "out", "rec"]


def test_git_ref_audits_the_committed_version(capsys, tmp_path: Path, sample_catalog) -> None:
    repo = tmp_path / "repo"
    (repo / "records" / "r1").mkdir(parents=True)
    script = repo / "records" / "r1" / "train_gpt.py"
    script.write_text(LEAKY)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "leak"], check=True)
    script.write_text(CLEAN)  # the working tree differs from HEAD
    code, out, _ = run(capsys, "records/r1/train_gpt.py", "--git-ref", "HEAD", "--repo", str(repo), "--format", "json")
    (item,) = json.loads(out)["inputs"]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert (code, item["path"], item["verdict"], item["extra"]["git"]) == (1, "records/r1/train_gpt.py", "FAIL", {"ref": "HEAD", "commit": head})
    assert item["findings"][0]["path"] == "records/r1/train_gpt.py"
    assert script.read_text() == CLEAN
    code, _, err = run(capsys, "records/r1/train_gpt.py", "--git-ref", "no-such-ref", "--repo", str(repo))
    assert code == 2 and err.startswith("pgolf-audit: error: unknown git ref 'no-such-ref'")


def test_rules_list_and_explain(capsys, sample_catalog) -> None:
    code, out, _ = run(capsys, "rules", "--format", "json")
    rows = {r["code"]: r for r in json.loads(out)}
    assert code == 0 and rows["PG990"]["rule"] == "TEST-LEAK" and rows["PG990"]["kind"] == "static rule"
    code, out, _ = run(capsys, "rules")
    assert code == 0 and "PG990" in out and "sample-leak" in out
    code, out, _ = run(capsys, "rules", "explain", "pg990")
    assert code == 0
    assert "PG990 sample-leak" in out and "What it detects" in out and "leak(x)" in out and "Stop calling leak()." in out


def test_subprocess_bad_input_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "train_gpt.py"
    bad.write_bytes(b"\x00\x00\x00")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "auditor.cli", str(bad)], capture_output=True, text=True, cwd=root, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"pgolf-audit: error: {bad}")
