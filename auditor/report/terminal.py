"""The human report (rich): findings grouped by input and verdict, each with the code around it, the
fix hint, the ruling and the rule's documentation; a summary table when there are several inputs."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console, Group
from rich.padding import Padding
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from auditor.findings import Finding, InputResult, Level, Verdict
from auditor.report import ReportContext, display_path, overall, rule_info
from auditor.report.json_report import exit_code

VERDICT_STYLE = {Verdict.PASS: "bold green", Verdict.REVIEW: "bold yellow", Verdict.FAIL: "bold red", Verdict.ERROR: "bold magenta"}
LEVEL_STYLE = {Level.FAIL: "bold red", Level.REVIEW: "bold yellow", Level.WARN: "yellow", Level.INFO: "cyan", Level.PASS: "green"}


def _finding(f: Finding, ctx: ReportContext) -> Group:
    info = rule_info(f.code)
    head = Text()
    head.append(f"{f.level.name:<6} ", style=LEVEL_STYLE[f.level])
    head.append(f"{f.code} ", style="bold")
    head.append(f.name or (info.name if info else ""))
    head.append(f"  {display_path(f.path, ctx.root)}:{f.line}", style="underline")
    status = f", {info.status.value}" if info else ""
    about = Text(f"{f.rule}{status}, {f.source.value}, {f.confidence.name.lower()} confidence", style="dim")
    parts: list = [head, Padding(about, (0, 0, 0, 7), expand=False), Padding(Text(f.message), (0, 0, 0, 7), expand=False)]
    excerpt = f.data.get("excerpt")
    if excerpt:
        syntax = Syntax(
            "\n".join(excerpt["lines"]),
            "python",
            line_numbers=True,
            start_line=excerpt["start"],
            highlight_lines={f.line},
            theme="ansi_dark",
            word_wrap=False,
        )
        parts.append(Padding(syntax, (0, 0, 0, 7), expand=False))
    else:
        for item in f.evidence[:3]:
            parts.append(Padding(Text(f"evidence: {item}", style="dim"), (0, 0, 0, 7), expand=False))
    notes = Text()
    if info is not None and info.hint:
        notes.append("fix: ", style="bold green")
        notes.append(info.hint + "\n")
    if info is not None and info.ruling_url:
        notes.append("ruling: ", style="bold")
        notes.append(info.ruling_url + "\n", style="link " + info.ruling_url)
    if info is not None:
        notes.append("docs: ", style="bold")
        notes.append(info.docs_url(), style="link " + info.docs_url())
    if f.waived:
        notes.append(f"\nwaived by config: {f.waived['reason']} ({f.waived['ruling']})", style="italic")
    if notes:
        parts.append(Padding(notes, (0, 0, 0, 7), expand=False))
    return Group(*parts)


def print_input(console: Console, r: InputResult, ctx: ReportContext) -> None:
    title = Text()
    title.append(display_path(r.path, ctx.root), style="bold")
    title.append("  ")
    title.append(r.verdict.value, style=VERDICT_STYLE[r.verdict])
    if r.sha256:
        title.append(f"  sha256 {r.sha256[:12]}…", style="dim")
    console.print(title)
    if r.error is not None:
        console.print(Padding(Text(f"could not audit: {r.error}", style="magenta"), (0, 0, 0, 2), expand=False))
    packed = {f.provenance.describe() for f in r.findings if f.provenance is not None and f.provenance.is_packed}
    if packed:
        note = f"the script is packed ({', '.join(sorted(packed))}); line numbers refer to the decoded source"
        console.print(Padding(Text(note, style="italic"), (0, 0, 0, 2), expand=False))
    active = [f for f in r.sorted_findings() if f.waived is None]
    for level in (Level.FAIL, Level.REVIEW, Level.WARN, Level.INFO):
        group = [f for f in active if f.level is level]
        if group:
            console.print(Padding(Text(f"{level.name} ({len(group)})", style=LEVEL_STYLE[level]), (1, 0, 0, 2), expand=False))
            for f in group:
                console.print(Padding(_finding(f, ctx), (0, 0, 1, 4), expand=False))
    waived = [f for f in r.sorted_findings() if f.waived is not None]
    if waived:
        console.print(Padding(Text(f"WAIVED ({len(waived)})", style="dim"), (1, 0, 0, 2), expand=False))
        for f in waived:
            console.print(Padding(_finding(f, ctx), (0, 0, 1, 4), expand=False), style="dim")
    if r.error is None and not r.findings:
        console.print(Padding(Text("no findings", style="green"), (0, 0, 0, 2), expand=False))
    console.print()


def summary_table(results: Sequence[InputResult], ctx: ReportContext) -> Table:
    table = Table(title="pgolf-audit summary", title_justify="left")
    table.add_column("Input", overflow="fold")
    table.add_column("Verdict")
    for level in (Level.FAIL, Level.REVIEW, Level.WARN, Level.INFO):
        table.add_column(level.name, justify="right")
    table.add_column("Seconds", justify="right")
    for r in results:
        counts = [sum(1 for f in r.findings if f.level is lvl and f.waived is None) for lvl in (Level.FAIL, Level.REVIEW, Level.WARN, Level.INFO)]
        table.add_row(
            display_path(r.path, ctx.root),
            Text(r.verdict.value, style=VERDICT_STYLE[r.verdict]),
            *(str(n) for n in counts),
            f"{r.seconds:.2f}",
        )
    return table


def print_report(console: Console, results: Sequence[InputResult], ctx: ReportContext) -> None:
    for r in results:
        print_input(console, r, ctx)
    if len(results) > 1:
        console.print(summary_table(results, ctx))
    verdict = overall(results)
    counts = ", ".join(f"{sum(r.verdict is v for r in results)} {v.value}" for v in Verdict if any(r.verdict is v for r in results))
    line = Text()
    line.append("verdict: ")
    line.append(verdict.value, style=VERDICT_STYLE[verdict])
    line.append(f"  ({len(results)} input{'s' if len(results) != 1 else ''}: {counts}; exit code {exit_code(results, ctx.fail_on)})")
    console.print(line)


def render(results: Sequence[InputResult], ctx: ReportContext) -> str:
    """The report as plain text (no colour), for ``--output`` files and tests."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=ctx.width or 120, color_system=None, force_terminal=False, highlight=False)
    print_report(console, results, ctx)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
