"""GitHub Actions workflow-command annotations (``::error file=…,line=…,title=PG101::message``).

GitHub shows only about ten annotations of each kind per step and drops the rest silently (ANCHORS §5),
so the most important come first (level, then confidence), each kind is capped at
:data:`PER_KIND`, and one final notice counts what was left out. Waived findings are not annotated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from auditor.findings import Finding, InputResult, Level
from auditor.report import ReportContext, display_path, rule_info

PER_KIND = 10
COMMANDS = {Level.FAIL: "error", Level.REVIEW: "warning", Level.WARN: "warning", Level.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **props: str | int | None) -> str:
    fields = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items() if v is not None)
    return f"::{kind} {fields}::{escape_data(message)}" if fields else f"::{kind}::{escape_data(message)}"


def annotation(f: Finding, ctx: ReportContext) -> str:
    info = rule_info(f.code)
    line, end_line = f.line, f.end_line
    message = f"[{f.level.name}] {f.name or (info.name if info else f.code)} ({f.rule}): {f.message}"
    if f.provenance is not None and f.provenance.is_packed:
        message += f"\nAt line {f.line} of the decoded source (packed as {f.provenance.describe()})."
        line, end_line = f.provenance.wrapper_line or 1, None
    if info is not None and info.hint:
        message += f"\nFix: {info.hint}"
    if info is not None:
        message += f"\nDocs: {info.docs_url()}"
    return command(
        COMMANDS[f.level],
        message,
        file=display_path(f.path, ctx.root),
        line=line,
        endLine=end_line if end_line and end_line != line else None,
        title=f.code,
    )


def render(results: Sequence[InputResult], ctx: ReportContext) -> str:
    lines: list[str] = []
    shown: Counter[str] = Counter()
    left_out: Counter[str] = Counter()
    for r in results:
        if r.error is not None:
            shown["error"] += 1
            if shown["error"] <= PER_KIND:
                lines.append(command("error", f"could not audit: {r.error}", file=display_path(r.path, ctx.root), title="pgolf-audit"))
            else:
                left_out["ERROR"] += 1
    findings = [f for r in results for f in r.findings if f.waived is None]
    findings.sort(key=lambda f: (-int(f.level), -int(f.confidence), f.path, f.line, f.code))
    for f in findings:
        kind = COMMANDS[f.level]
        shown[kind] += 1
        if shown[kind] <= PER_KIND:
            lines.append(annotation(f, ctx))
        else:
            left_out[f.level.name] += 1
    if left_out:
        detail = ", ".join(f"{n} {level}" for level, n in left_out.items())
        lines.append(
            command(
                "notice",
                f"{sum(left_out.values())} more findings not shown as annotations ({detail}); "
                "see the step summary, the JSON report or the SARIF upload for all of them.",
                title="pgolf-audit",
            )
        )
    return "".join(line + "\n" for line in lines)
