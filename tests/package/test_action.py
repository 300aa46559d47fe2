"""The Action's Python: outputs, summary, annotations, exit codes, and the single PR comment."""

from __future__ import annotations

import json

import pytest

from auditor.findings import Finding, InputResult, Level, Source
from auditor.package import action
from auditor.report import ReportContext
from auditor.report.markdown import MARKER
from tests.package.records import make_folder, sliding_log


def _result(levels: list[Level]) -> InputResult:
    return InputResult(path="records/x", sha256=None, findings=[
        Finding(code="PG611", rule="ART-16MB", level=lvl, source=Source.PACKAGE, path=f"records/x/f{i}.log", line=i + 1,
                message=f"m{i}") for i, lvl in enumerate(levels)])


def test_write_outputs_summary_and_annotations(tmp_path, capsys):
    env = {"GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    results = [_result([Level.WARN] * 3 + [Level.FAIL] * 14)]
    outputs = action.write_outputs(results, ReportContext(root=tmp_path), tmp_path / "r.json", tmp_path / "r.sarif",
                                   tmp_path / "c.md", True, env)
    assert outputs["verdict"] == "FAIL" and outputs["findings"] == "17"
    assert (tmp_path / "out").read_text().splitlines() == [
        "verdict=FAIL", "findings=17", f"report-json={tmp_path / 'r.json'}", f"sarif-file={tmp_path / 'r.sarif'}"]
    assert (tmp_path / "c.md").read_text().startswith(MARKER) and (tmp_path / "summary").read_text().startswith(MARKER)
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"
    lines = capsys.readouterr().out.splitlines()
    kinds = [line.split(" ", 1)[0] for line in lines]
    assert kinds.index("::warning") > max(i for i, k in enumerate(kinds) if k == "::error")  # most severe first
    assert kinds.count("::error") <= 10 and any(k == "::notice" for k in kinds)  # capped, the rest counted


def test_truncate_keeps_whole_lines():
    text = "".join(f"line {i}\n" for i in range(1000))
    cut = action.truncate(text, 200, "_cut_")
    assert len(cut.encode()) <= 200 and cut.endswith("_cut_\n") and "line 0\n" in cut
    assert action.truncate("short\n", 200, "_cut_") == "short\n"


def test_final_exit_codes():
    assert [action.final_exit([_result([lvl])], "review") for lvl in (Level.WARN, Level.REVIEW, Level.FAIL)] == [0, 1, 1]
    assert action.final_exit([_result([Level.REVIEW])], "fail") == 0
    assert action.final_exit([_result([Level.FAIL])], "never") == 0
    assert action.final_exit([InputResult(path="x", sha256=None, error="boom")], "never") == 2


def test_audit_command_in_verify_mode(tmp_path, monkeypatch):
    folder = make_folder(tmp_path, logs={"train_seed1.log": sliding_log(1, 1.1, 1.86, total=16_000_001)},
                         submission={"name": "n", "author": "a", "github_id": "g", "date": "2026-04-01", "val_bpb": 1.1})
    monkeypatch.chdir(tmp_path)
    env = {"GITHUB_OUTPUT": str(tmp_path / "out")}
    code = action.main(["audit", "--mode", "verify", "--path", str(folder), "--fail-on", "fail",
                        "--comment-file", "c.md", "--summary", "false"], env=env)
    assert code == 1 and "verdict=FAIL" in (tmp_path / "out").read_text()
    report = json.loads((tmp_path / "pgolf-audit.json").read_text())
    assert report["inputs"][0]["extra"]["claimed_val_bpb"] == 1.1
    assert action.main(["audit", "--mode", "pr", "--path", str(tmp_path)], env={}) == 2  # pr needs --base


class FakeGitHub:
    def __init__(self, head: str, comments: list[dict]):
        self.head, self.comments, self.calls = head, comments, []

    def __call__(self, method: str, url: str, body):
        self.calls.append((method, url.removeprefix(action.API), body))
        if url.endswith("/pulls/5"):
            return {"head": {"sha": self.head}}
        if "/issues/5/comments?" in url:
            return self.comments
        return {}


def test_comment_updates_the_marked_comment_or_creates_one(tmp_path):
    gh = FakeGitHub("abc", [{"id": 1, "body": "hello"}, {"id": 9, "body": f"{MARKER}\nold"}])
    assert action.upsert_comment(gh, "o/r", 5, "abc", f"{MARKER}\nnew") == "updated"
    assert gh.calls[-1] == ("PATCH", "/repos/o/r/issues/comments/9", {"body": f"{MARKER}\nnew"})
    gh = FakeGitHub("abc", [{"id": 1, "body": "hello"}])
    assert action.upsert_comment(gh, "o/r", 5, "abc", "body") == "created"
    assert gh.calls[-1] == ("POST", "/repos/o/r/issues/5/comments", {"body": f"{MARKER}\nbody"})


def test_comment_refuses_a_moved_head_and_bad_input(tmp_path):
    with pytest.raises(ValueError, match="refusing"):
        action.upsert_comment(FakeGitHub("other", []), "o/r", 5, "abc", "b")
    with pytest.raises(ValueError):
        action.upsert_comment(FakeGitHub("abc", []), "o/r; rm -rf", 5, "abc", "b")
    pr = tmp_path / "pr.json"
    pr.write_text('{"number": 5, "head_sha": "abc"}')
    assert action.read_pr_number(pr) == 5
    for bad in ('{"number": "5; echo"}', '{"number": -1}', "0", "[]"):
        pr.write_text(bad)
        with pytest.raises(ValueError):
            action.read_pr_number(pr)
    body = tmp_path / "c.md"
    body.write_text("x")
    pr.write_text("5")
    gh = FakeGitHub("abc", [])
    assert action.main(["comment", "--repo", "o/r", "--pr-file", str(pr), "--run-head-sha", "abc", "--body-file", str(body)],
                       env={}, transport=gh) == 0
    assert action.main(["comment", "--repo", "o/r", "--pr-file", str(pr), "--run-head-sha", "abc", "--body-file", str(body)],
                       env={}) == 2  # no token
