"""Reporters: one module per output format, each a pure function of the input results.

Every reporter takes the same :class:`ReportContext` and returns text; :func:`render` picks one by
its ``--format`` name. Paths are shown relative to ``root`` (the repository root for SARIF and
GitHub annotations, the working directory otherwise) so reports are stable across machines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor.findings import InputResult, Verdict
from auditor.registry import rule_by_code
from auditor.rule import RuleInfo

FORMATS = ("text", "json", "sarif", "github", "markdown")


@dataclass(frozen=True)
class ReportContext:
    root: Path = field(default_factory=Path.cwd)
    #: "review" (REVIEW fails the run) or "fail" (only FAIL does); shown in summaries
    fail_on: str = "review"
    #: the terminal reporter's width; ``None`` lets rich decide
    width: int | None = None


def display_path(path: str, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form when it lies under it, else unchanged."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return Path(path).as_posix()
    return rel.as_posix() or "."


def rule_info(code: str) -> type[RuleInfo] | None:
    return rule_by_code(code)


def overall(results: Sequence[InputResult]) -> Verdict:
    return Verdict.worst([r.verdict for r in results])


def render(fmt: str, results: Sequence[InputResult], ctx: ReportContext) -> str:
    from auditor.report import github, json_report, markdown, sarif, terminal

    renderers: dict[str, Callable[[Sequence[InputResult], ReportContext], str]] = {
        "text": terminal.render,
        "json": json_report.render,
        "sarif": sarif.render,
        "github": github.render,
        "markdown": markdown.render,
    }
    return renderers[fmt](results, ctx)
