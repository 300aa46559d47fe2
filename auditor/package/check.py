"""The base class of package checks and the one helper that builds their findings.

A package check is a documented catalog entry (``auditor.rule.RuleInfo``: module docstring = doc
page, class attributes = identity) living under ``rules/package`` (PG7xx) or ``rules/budget``
(PG61x–PG63x). Its ``check`` reads the parsed :class:`~auditor.package.folder.RecordFolder` and yields
findings through :meth:`PackageCheck.finding`, which anchors every finding to a file and line — the
log line or the ``submission.json`` line that is the evidence (SARIF needs a physical location).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from auditor.findings import Confidence, Finding, Level, Source, Status
from auditor.package.folder import RecordFolder
from auditor.rule import RuleInfo


@dataclass(frozen=True)
class Sota:
    """The state of the art a record claims to beat: per-seed ``val_loss`` values (nats) of the
    reference record, or only its mean; ``label`` says where it came from."""

    val_losses: tuple[float, ...] = ()
    mean_val_loss: float | None = None
    label: str = ""


@dataclass
class Context:
    """What a check may read: the parsed folder and the run options."""

    folder: RecordFolder
    sota: Sota | None = None
    #: allowed |claimed − logged| val_bpb beyond the claim's own rounding
    bpb_tolerance: float = 1e-5
    notes: dict[str, Any] = field(default_factory=dict)


class PackageCheck(RuleInfo):
    """Base of the record-folder checks; subclasses set the identity attributes and ``check``."""

    applies_to_non_record: ClassVar[bool] = True

    def check(self, ctx: Context) -> Iterator[Finding]:
        raise NotImplementedError(f"{type(self).__name__} must implement check()")

    def finding(
        self,
        ctx: Context,
        file: str,
        line: int,
        message: str,
        evidence: Sequence[str] = (),
        level: Level | None = None,
        data: dict[str, Any] | None = None,
        confidence: Confidence | None = None,
    ) -> Finding:
        """The only constructor of package findings: path = the folder file, line = the evidence line.

        Disputed rules never FAIL (capped at REVIEW), as for static rules. When ``evidence`` is empty,
        the text of the cited line is the evidence.
        """
        lvl = self.level if level is None else level
        if self.status is Status.DISPUTED and lvl > Level.REVIEW:
            lvl = Level.REVIEW
        notes = list(evidence) or [_line_text(ctx.folder, file, line)]
        return Finding(
            code=self.code, rule=self.rule_id, level=lvl, source=Source.PACKAGE,
            path=ctx.folder.rel(file), line=max(1, line), message=message,
            evidence=[n for n in notes if n], confidence=confidence or self.confidence,
            name=self.name, data=data or {},
        )


def scope(folder: RecordFolder, run, level: Level) -> tuple[Level, str]:
    """A budget or hardware finding's level and message suffix for one run: the full level for a run
    the record claim rests on; INFO on the non-record track and for logs that do not back the claim
    (development runs, ablations shipped beside the seeds)."""
    if not folder.record_track:
        return Level.INFO, " (non-record track)"
    if not folder.backs_claim(run):
        return Level.INFO, " (a log that does not back the claim)"
    return level, ""


def _line_text(folder: RecordFolder, file: str, line: int) -> str:
    for run in folder.runs:
        if run.rel == file and 0 < line <= len(run.log.lines):
            return f"{file}:{line}: {run.log.lines[line - 1].strip()}"
    return ""


def all_package_checks() -> list[type[PackageCheck]]:
    """Every package check in the catalog, by code."""
    from auditor.registry import catalog

    checks = [c for c in catalog() if isinstance(c, type) and issubclass(c, PackageCheck)]
    if not checks:  # an empty catalog would pass every folder silently
        raise RuntimeError("no package checks found: the rules package is not importable")
    return checks
