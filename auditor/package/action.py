"""The GitHub Action's logic (``action.yml`` only installs the tool and calls this module).

    python -m auditor.package.action audit --mode pr --path . --base BASE --head HEAD \\
        --fail-on review --sarif-file pgolf-audit.sarif --json-file pgolf-audit.json --comment-file comment.md
    python -m auditor.package.action comment --repo OWNER/NAME --run-head-sha SHA --pr-file pr.json \\
        --body-file comment.md        (the privileged workflow_run job; GITHUB_TOKEN from the environment)

``audit`` runs the audit once and writes every output from that one result: the JSON report, the
SARIF file, the Markdown for the PR comment, the step summary (``$GITHUB_STEP_SUMMARY``, capped at
1 MiB), workflow annotations (the ``github`` reporter: most severe first, capped per level, one
notice counting the rest), and the step outputs (``$GITHUB_OUTPUT``: verdict, findings, report-json,
sarif-file). Its exit code follows ``--fail-on`` (review, fail, never).

``comment`` posts or updates the single PR comment that starts with the ``<!-- pgolf-audit -->``
marker. It runs where the token can write, so it trusts nothing from the PR's artifact: the PR
number must be an integer, and the PR's current head commit must be the commit the audit ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from auditor.findings import InputResult
from auditor.report import ReportContext, overall, render
from auditor.report.json_report import exit_code
from auditor.report.markdown import MARKER

#: GitHub aborts a step summary above 1 MiB
SUMMARY_LIMIT = 1024 * 1024
#: a PR comment body may hold at most 65,536 characters
COMMENT_LIMIT = 65_000
API = "https://api.github.com"


def run_audit(mode: str, paths: Sequence[Path], base: str | None, head: str, select: Sequence[str],
              ignore: Sequence[str], dynamic: bool) -> list[InputResult]:
    """One audit, in the requested mode."""
    from auditor.package import modes

    if mode == "pr":
        if not base:
            raise ValueError("mode pr needs a base ref (input 'base')")
        return modes.audit_pr(paths[0], base, head, dynamic=dynamic, select=select, ignore=ignore)
    if mode == "leaderboard":
        return modes.audit_folders(modes.record_folders(paths[0]), dynamic=dynamic, select=select, ignore=ignore)
    if mode == "verify":
        return [modes.package_only(p, select=select, ignore=ignore) for p in paths]
    from auditor.batch import discover, run_batch
    from auditor.engine import AuditOptions

    return run_batch(discover(list(paths)), AuditOptions(select=tuple(select), ignore=tuple(ignore), dynamic=dynamic))


def truncate(text: str, limit: int, note: str) -> str:
    """Cut ``text`` to ``limit`` bytes (UTF-8) at a line boundary, ending with ``note``."""
    data = text.encode()
    if len(data) <= limit:
        return text
    cut = data[: limit - len(note.encode()) - 2].decode(errors="ignore")
    return cut[: cut.rfind("\n") + 1] + "\n" + note + "\n"


def write_outputs(results: list[InputResult], ctx: ReportContext, json_file: Path, sarif_file: Path,
                  comment_file: Path | None, summary: bool, env: dict[str, str]) -> dict[str, str]:
    """Write the report files, the step summary and the step outputs; print the annotations."""
    json_file.write_text(render("json", results, ctx))
    sarif_file.write_text(render("sarif", results, ctx))
    markdown = render("markdown", results, ctx)
    if comment_file is not None:
        comment_file.write_text(truncate(markdown, COMMENT_LIMIT, "_Truncated: the full report is in the JSON artifact._"))
    if summary and env.get("GITHUB_STEP_SUMMARY"):
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
            fh.write(truncate(markdown, SUMMARY_LIMIT - 1024, "_Truncated: the full report is in the JSON artifact._"))
    sys.stdout.write(render("github", results, ctx))
    outputs = {
        "verdict": overall(results).value,
        "findings": str(sum(1 for r in results for f in r.findings if getattr(f, "waived", None) is None)),
        "report-json": str(json_file),
        "sarif-file": str(sarif_file),
    }
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
            fh.writelines(f"{k}={v}\n" for k, v in outputs.items())
    return outputs


def final_exit(results: list[InputResult], fail_on: str) -> int:
    if fail_on == "never":
        return 2 if any(r.error for r in results) else 0
    return exit_code(results, fail_on)


# ----- the privileged comment step ----------------------------------------------------------------
Transport = Callable[[str, str, dict[str, Any] | None], Any]


def http_transport(token: str) -> Transport:
    def call(method: str, url: str, body: dict[str, Any] | None) -> Any:
        req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", f"Bearer {token}")
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")
    return call


def read_pr_number(pr_file: Path) -> int:
    """The PR number from the untrusted artifact: digits only."""
    raw = pr_file.read_text(errors="replace").strip()
    try:
        value = json.loads(raw).get("number") if raw.startswith("{") else raw
    except (json.JSONDecodeError, AttributeError):
        value = None
    if not isinstance(value, (int, str)) or not re.fullmatch(r"[1-9][0-9]{0,9}", str(value)):
        raise ValueError(f"{pr_file}: not a PR number")
    return int(value)


def upsert_comment(call: Transport, repo: str, pr: int, head_sha: str, body: str) -> str:
    """Update the PR's ``<!-- pgolf-audit -->`` comment, or create it; returns "updated"/"created".

    Refuses when the PR's head is not ``head_sha`` (the artifact would describe other code)."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise ValueError(f"not a repository name: {repo!r}")
    info = call("GET", f"{API}/repos/{repo}/pulls/{pr}", None)
    if not isinstance(info, dict) or info.get("head", {}).get("sha") != head_sha:
        raise ValueError(f"PR #{pr} head is not {head_sha}: refusing to comment")
    if not body.startswith(MARKER):
        body = f"{MARKER}\n{body}"
    page = 1
    while True:
        comments = call("GET", f"{API}/repos/{repo}/issues/{pr}/comments?per_page=100&page={page}", None) or []
        mine = next((c for c in comments if str(c.get("body", "")).startswith(MARKER)), None)
        if mine is not None:
            call("PATCH", f"{API}/repos/{repo}/issues/comments/{mine['id']}", {"body": body})
            return "updated"
        if len(comments) < 100:
            break
        page += 1
    call("POST", f"{API}/repos/{repo}/issues/{pr}/comments", {"body": body})
    return "created"


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None, transport: Transport | None = None) -> int:
    env = dict(os.environ if env is None else env)
    parser = argparse.ArgumentParser(prog="python -m auditor.package.action")
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("audit")
    a.add_argument("--mode", choices=("check", "verify", "pr", "leaderboard"), default="check")
    a.add_argument("--path", type=Path, action="append", default=[])
    a.add_argument("--base")
    a.add_argument("--head", default="HEAD")
    a.add_argument("--select", default="")
    a.add_argument("--ignore", default="")
    a.add_argument("--fail-on", choices=("review", "fail", "never"), default="review")
    a.add_argument("--dynamic", default="false")
    a.add_argument("--json-file", type=Path, default=Path("pgolf-audit.json"))
    a.add_argument("--sarif-file", type=Path, default=Path("pgolf-audit.sarif"))
    a.add_argument("--comment-file", type=Path)
    a.add_argument("--summary", default="true")
    c = sub.add_parser("comment")
    c.add_argument("--repo", required=True)
    c.add_argument("--pr-file", type=Path, required=True)
    c.add_argument("--run-head-sha", required=True)
    c.add_argument("--body-file", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "comment":
            token = env.get("GITHUB_TOKEN")
            if transport is None and not token:
                raise ValueError("GITHUB_TOKEN is not set")
            call = transport or http_transport(token or "")
            done = upsert_comment(call, args.repo, read_pr_number(args.pr_file), args.run_head_sha,
                                  args.body_file.read_text(errors="replace"))
            print(f"pgolf-audit: PR comment {done}")
            return 0
        codes = [x.strip().upper() for x in f"{args.select}".split(",") if x.strip()]
        skip = [x.strip().upper() for x in f"{args.ignore}".split(",") if x.strip()]
        results = run_audit(args.mode, args.path or [Path(".")], args.base, args.head, codes, skip,
                            args.dynamic.lower() == "true")
        ctx = ReportContext(root=Path.cwd(), fail_on="fail" if args.fail_on == "fail" else "review")
        write_outputs(results, ctx, args.json_file, args.sarif_file, args.comment_file,
                      args.summary.lower() == "true", env)
        return final_exit(results, args.fail_on)
    except (ValueError, OSError, urllib.error.URLError) as exc:
        print(f"pgolf-audit: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - GitErrors, UsageErrors: one line, exit 2
        print(f"pgolf-audit: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
