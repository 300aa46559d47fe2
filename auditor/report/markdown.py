"""Markdown for the GitHub step summary and the single, updated-in-place PR comment.

The first line is the HTML marker :data:`MARKER`, by which the Action finds its own earlier comment.
Everything taken from a submission (messages quote its code) is escaped: no HTML, no table breaks, no
@-mentions. The findings table is capped at :data:`MAX_ROWS` rows to stay far below GitHub's 1 MiB
step-summary and 64 KiB comment limits.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor import RULESET_DATE, __version__
from auditor.findings import Finding, InputResult, Level, Verdict
from auditor.report import ReportContext, display_path, overall, rule_info
from auditor.report.json_report import exit_code

MARKER = "<!-- pgolf-audit -->"
MAX_ROWS = 100
MAX_MESSAGE = 300
ICONS = {Verdict.PASS: "✅", Verdict.REVIEW: "🟡", Verdict.FAIL: "❌", Verdict.ERROR: "⚠️"}
COUNTED = (Level.FAIL, Level.REVIEW, Level.WARN, Level.INFO)


def escape(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    for raw, safe in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("@", "&#64;"), ("`", "'")):
        text = text.replace(raw, safe)
    return text


def code_span(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _location(f: Finding, ctx: ReportContext) -> str:
    where = f"{display_path(f.path, ctx.root)}:{f.line}"
    if f.provenance is not None and f.provenance.is_packed:
        return code_span(where) + " (decoded)"
    return code_span(where)


def _row(f: Finding, ctx: ReportContext) -> str:
    info = rule_info(f.code)
    code = f"[{f.code}]({info.docs_url()})" if info else f.code
    name = f.name or (info.name if info else "")
    rule = f"[{f.rule}]({info.ruling_url})" if info and info.ruling_url else f.rule
    return f"| {f.level.name} | {code} {name} | {rule} | {_location(f, ctx)} | {escape(f.message)} |"


def render(results: Sequence[InputResult], ctx: ReportContext) -> str:
    verdict = overall(results)
    out = [MARKER, f"## pgolf-audit: {ICONS[verdict]} {verdict.value}", ""]
    out += ["| Input | Verdict | FAIL | REVIEW | WARN | INFO |", "|---|---|---|---|---|---|"]
    for r in results:
        counts = [sum(1 for f in r.findings if f.level is lvl and f.waived is None) for lvl in COUNTED]
        cells = " | ".join(str(n) for n in counts)
        out.append(f"| {code_span(display_path(r.path, ctx.root))} | {ICONS[r.verdict]} {r.verdict.value} | {cells} |")
    errors = [r for r in results if r.error is not None]
    if errors:
        out += ["", "### Could not audit", ""]
        out += [f"- {code_span(display_path(r.path, ctx.root))}: {escape(r.error or '')}" for r in errors]
    findings = sorted((f for r in results for f in r.findings if f.waived is None), key=Finding.sort_key)
    if findings:
        out += ["", "### Findings", "", "| Verdict | Check | Rule | Location | Message |", "|---|---|---|---|---|"]
        out += [_row(f, ctx) for f in findings[:MAX_ROWS]]
        if len(findings) > MAX_ROWS:
            out += ["", f"{len(findings) - MAX_ROWS} more findings are in the JSON and SARIF reports."]
    waived = [f for r in results for f in r.findings if f.waived is not None]
    if waived:
        out += ["", "### Waived by the maintainers' config", ""]
        out += [
            f"- {f.code} at {_location(f, ctx)}: {escape(f.waived['reason'])} ([ruling]({f.waived['ruling']}))"
            for f in sorted(waived, key=Finding.sort_key)[:MAX_ROWS]
            if f.waived
        ]
    code = exit_code(results, ctx.fail_on)
    out += ["", f"<sub>pgolf-audit {__version__} · rules as of {RULESET_DATE} · exit code {code} (fail-on {ctx.fail_on})</sub>", ""]
    return "\n".join(out)
