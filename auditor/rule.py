"""The static rule API: identity, documentation, examples-as-tests, and a short ``check``.

A rule is one module under ``rules/`` holding one :class:`Rule` subclass (Fixit style). The module
docstring is the rule's documentation page; the class attributes are its identity; ``VALID`` and
``INVALID`` are the examples that ``tests/test_rule_cases.py`` runs with exact expected lines;
``check`` asks the shared analysis questions and yields findings through :meth:`Rule.report`.

``report`` applies the policies every rule shares through :mod:`auditor.levels`, so no rule
re-implements them:
- a disputed rule never FAILs (RULEBOOK §0.1): its findings are capped at REVIEW;
- a violating path that is live only behind a non-default environment flag is REVIEW, not FAIL,
  and the finding names the flag (RULEBOOK §8.4); when the run's configuration is known and switched
  a default-on path off, it is WARN; code that no entry point reaches is not reported.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from auditor.findings import Confidence, Finding, Level, Source, Status
from auditor.levels import Gate, decide

if TYPE_CHECKING:
    from auditor.analysis import Analysis

DOCS_URL = "https://github.com/pgolf-audit/pgolf-audit/blob/main/docs/rules/{code}.md"


@dataclass(frozen=True)
class Valid:
    """A snippet on which the rule must report nothing (include the legal look-alikes)."""

    code: str
    note: str = ""

    @property
    def source(self) -> str:
        return textwrap.dedent(self.code).lstrip("\n")


@dataclass(frozen=True)
class Invalid:
    """A snippet on which the rule must report exactly ``lines`` (1-based, in the dedented snippet),
    each at ``level`` (the rule's own level when ``None``)."""

    code: str
    lines: tuple[int, ...] | int
    level: Level | None = None
    note: str = ""

    @property
    def source(self) -> str:
        return textwrap.dedent(self.code).lstrip("\n")

    @property
    def expected_lines(self) -> tuple[int, ...]:
        return (self.lines,) if isinstance(self.lines, int) else tuple(self.lines)


class RuleInfo:
    """Identity and documentation shared by static rules, package checks and dynamic probes.

    The defining module's docstring is the documentation page; ``pgolf-audit rules explain CODE`` and
    the generated ``docs/rules/CODE.md`` render it.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    rule_id: ClassVar[str]
    family: ClassVar[str]
    status: ClassVar[Status]
    level: ClassVar[Level]
    confidence: ClassVar[Confidence] = Confidence.HIGH
    #: where the rule was decided (human citations, e.g. "ruling on PR #779")
    rulings: ClassVar[tuple[str, ...]] = ()
    ruling_url: ClassVar[str] = ""
    #: names of dynamic probes that can confirm or clear this rule's findings
    probes: ClassVar[tuple[str, ...]] = ()
    hint: ClassVar[str] = ""

    @classmethod
    def doc(cls) -> str:
        module = sys.modules[cls.__module__]
        return textwrap.dedent(module.__doc__ or "").strip()

    @classmethod
    def summary(cls) -> str:
        return cls.doc().split("\n\n", 1)[0].replace("\n", " ")

    @classmethod
    def docs_url(cls) -> str:
        return DOCS_URL.format(code=cls.code)


class Rule(RuleInfo):
    """Base class of every static rule. Subclasses set the identity attributes, examples and ``check``."""

    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    def check(self, a: "Analysis") -> Iterator[Finding]:
        raise NotImplementedError(f"{type(self).__name__} must implement check()")

    def report(
        self,
        a: "Analysis",
        node: ast.AST | int,
        message: str,
        evidence: Sequence[str] = (),
        level: Level | None = None,
        confidence: Confidence | None = None,
    ) -> Finding | None:
        """Build the finding for ``node`` (or a line number), applying the shared policies.

        Returns ``None`` for code no entry point reaches (dead code is never a violation).
        """
        line = node if isinstance(node, int) else node.lineno
        end_line = None if isinstance(node, int) else getattr(node, "end_lineno", None)
        lvl = self.level if level is None else level
        notes = list(evidence)
        data: dict[str, str] = {}
        gate = Gate.LIVE
        if not isinstance(node, int):
            live = a.liveness(node)
            if live.dead:
                return None
            if live.gate is not None and lvl > Level.REVIEW:
                # off in the run that produced the score but on by default → WARN; off by default
                # with no run configuration to say otherwise → REVIEW (auditor.levels decides)
                gate = Gate.OFF_IN_RUN if live.gate.setting.overridden else Gate.OFF_BY_DEFAULT
                message = f"{message} (live only when {live.gate.describe()})"
                notes.append(f"gated by {live.gate.describe()} at line {live.gate.line}")
                data["gate"] = live.gate.setting.env
        decided = decide(lvl, status=self.status, gate=gate).level
        assert decided is not None  # dead code returned above
        lvl = decided
        if not notes:
            notes.append(a.source.excerpt(line).strip())
        return Finding(
            code=self.code,
            rule=self.rule_id,
            level=lvl,
            source=Source.STATIC,
            path=a.source.path,
            line=line,
            end_line=end_line,
            message=message,
            evidence=notes,
            confidence=confidence or self.confidence,
            name=self.name,
            provenance=a.source.provenance,
            data=data,
        )
