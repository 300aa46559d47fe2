"""Suppression comments aimed at auditors and linters (reported, never honoured).

What it detects
    Comments that ask a checker to look away: ``# noqa``, ``# nosec``, ``# pylint: disable``,
    ``# pgolf: ignore``, ``# pgolf-audit: disable`` (and ``skip``/``off`` variants). Comments are
    read with ``tokenize``, since ``ast`` drops them. ``# type: ignore`` is a type-checker hint and
    is not reported.
Why it breaks the metric
    It does not: this tool has no inline suppressions (a waiver belongs in the reviewed
    configuration file), so a reviewer should know which lines the author wanted unchecked.
Example
    score = ngram_mix(p, y)  # pgolf-audit: disable=PG101
Legal alternative
    Remove the comment; request a waiver in the audit configuration, where it is reviewed.
How it is confirmed
    static only
Ruling
    Tool policy: findings are never suppressed from inside the audited code.
Known gaps
    Suppressions written as strings or docstrings are not comments and are not reported.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.decode.downlevel import downlevel
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

_SUPPRESSION = re.compile(
    r"#.*?\b(?P<what>noqa|nosec|pylint\s*:\s*disable|pgolf(?:-audit)?\s*:\s*(?:ignore|disable|skip|off))\b",
    re.IGNORECASE,
)


def _comments(text: str) -> list[tuple[int, str]]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        lowered = downlevel(text)  # 3.12-only f-strings: the same lines in 3.11 syntax
        if lowered is None or lowered == text:
            return []
        return _comments(lowered)
    return [(t.start[0], t.string) for t in tokens if t.type == tokenize.COMMENT]


class InlineSuppressionComment(Rule):
    code = "PG903"
    name = "inline-suppression-comment"
    rule_id = "SUPPRESSION"
    family = "META"
    status = Status.META
    level = Level.INFO
    hint = "Remove the comment; waivers go in the reviewed audit configuration."

    VALID = [
        Valid(
            """
            import torch
            x: int = torch.zeros(1)  # type: ignore[assignment]
            s = "# noqa is only text here"
            """,
            note="type-checker hints and strings are not suppressions",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import os  # noqa: F401
            def score(p, y):
                return p[y]  # pgolf-audit: disable=PG101
            x = eval("1")  # nosec
            """,
            lines=(1, 3, 4),
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        if not _SUPPRESSION.search(a.source.text):
            return  # the text holds no such comment anywhere: skip tokenizing (the costly part)
        for line, comment in _comments(a.source.text):
            match = _SUPPRESSION.search(comment)
            if match:
                yield self.report(
                    a, line, f"suppression comment '{match.group('what')}' is reported, never honoured",
                    evidence=[comment.strip()],
                )
