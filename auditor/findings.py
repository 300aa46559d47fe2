"""The findings model every stage writes into and every reporter reads.

A *finding* is one rule's judgement at one code line, with the evidence it relied on. An *input
result* gathers the findings for one audited input (a file, or a record folder) and derives that
input's verdict as the worst level over its findings (RULEBOOK §0.1).

The JSON contract (see ``auditor/report/json_report.py``) is built from these classes alone, so a
field added here is a field every consumer sees.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any


class Level(enum.IntEnum):
    """Severity of a finding, ordered so that ``max()`` gives the worst (RULEBOOK §0.1)."""

    PASS = 0
    INFO = 1
    WARN = 2
    REVIEW = 3
    FAIL = 4


class Verdict(enum.Enum):
    """The verdict of one audited input; ERROR means the tool could not run on it (exit 2)."""

    PASS = "PASS"
    REVIEW = "REVIEW"
    FAIL = "FAIL"
    ERROR = "ERROR"

    @property
    def exit_code(self) -> int:
        return {Verdict.PASS: 0, Verdict.REVIEW: 1, Verdict.FAIL: 1, Verdict.ERROR: 2}[self]

    @classmethod
    def worst(cls, verdicts: "list[Verdict]") -> "Verdict":
        order = [cls.PASS, cls.REVIEW, cls.FAIL, cls.ERROR]
        return max(verdicts, key=order.index, default=cls.PASS)


class Source(enum.Enum):
    """Which stage produced a finding."""

    STATIC = "static"
    DYNAMIC = "dynamic"
    PACKAGE = "package"


class Status(enum.Enum):
    """How authoritative the rule behind a finding is (RULEBOOK §0.2)."""

    README = "README rule"
    RULING = "maintainer ruling"
    PRACTICE = "maintainer practice"
    CONSENSUS = "community consensus"
    DISPUTED = "disputed"
    TOLERATED = "tolerated"
    META = "tool"


class Confidence(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3


@dataclass(frozen=True)
class Provenance:
    """How the analysed text was obtained from the file on disk.

    ``chain`` lists the decoding layers outermost first (e.g. ``("b85", "lzma-raw")``); it is empty
    for a plain file. ``packed_path`` is the file a user opened; ``line`` numbers of findings are in
    the decoded text whenever ``chain`` is not empty.
    """

    packed_path: str
    chain: tuple[str, ...] = ()
    wrapper_line: int | None = None
    #: the file whose text the lines refer to, when it is not ``packed_path`` (a trampoline's target)
    text_path: str | None = None

    @property
    def is_packed(self) -> bool:
        return bool(self.chain)

    def describe(self) -> str:
        return " → ".join(self.chain) if self.chain else "plain source"


@dataclass
class Finding:
    """One rule's judgement at one place.

    ``code`` is the tool's rule code (``PG101``), ``rule`` the RULEBOOK ID (``C1-a``). ``line`` is
    1-based, in the decoded text for packed files (``provenance`` says so). ``evidence`` holds short
    strings a maintainer can check: code excerpts, measured values, log lines, probe positions.
    """

    code: str
    rule: str
    level: Level
    source: Source
    path: str
    line: int
    message: str
    evidence: list[str] = field(default_factory=list)
    confidence: Confidence = Confidence.HIGH
    end_line: int | None = None
    name: str = ""
    provenance: Provenance | None = None
    #: free-form structured data for reporters (e.g. probe measurements); must be JSON-serialisable
    data: dict[str, Any] = field(default_factory=dict)
    #: set by a maintainer waiver (``{"reason": ..., "ruling": URL}``): reported, but not counted in the verdict
    waived: dict[str, str] | None = None

    def fingerprint(self, shown_path: str) -> str:
        """Stable across runs, checkouts and unrelated edits above the line: code + the path as the
        report shows it (relative to the report's root) + the message."""
        digest = hashlib.sha256(f"{self.code}|{shown_path}|{self.message}".encode()).hexdigest()
        return digest[:16]

    def sort_key(self) -> tuple[int, str, int, str]:
        return (-int(self.level), self.path, self.line, self.code)


@dataclass
class InputResult:
    """Everything the auditor concluded about one input (a script or a record folder)."""

    path: str
    sha256: str | None
    findings: list[Finding] = field(default_factory=list)
    #: set when the tool could not run on this input at all; the verdict is then ERROR
    error: str | None = None
    #: extra top-level report fields (e.g. claimed_val_bpb and seeds for a record folder)
    extra: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        if self.error is not None:
            return Verdict.ERROR
        worst = max((f.level for f in self.findings if f.waived is None), default=Level.PASS)
        if worst is Level.FAIL:
            return Verdict.FAIL
        if worst is Level.REVIEW:
            return Verdict.REVIEW
        return Verdict.PASS

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
