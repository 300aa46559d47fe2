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

from auditor import rulings
from auditor.findings import Confidence, Finding, Level, Source
from auditor.levels import Evidence, decide, scoped
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
    #: the date the submission is judged by (RULEBOOK §11.1); ``None`` when nothing states one
    date: rulings.SubmissionDate | None = None

    def version(self, check: str, case: str) -> rulings.Version:
        """The rule version in force for (``check``, ``case``) on the submission's date."""
        return rulings.version(check, case, self.date)


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
        case: str | None = None,
        strength: Evidence = Evidence.STRONG,
    ) -> Finding:
        """The only constructor of package findings: path = the folder file, line = the evidence line.

        The level comes from :func:`auditor.levels.decide`: ``case`` names the situation whose level
        the rulings registry sets by date (the finding then names the rule version it applied),
        ``strength`` caps findings resting on evidence that cannot settle them, and disputed rules
        never FAIL. When ``evidence`` is empty, the text of the cited line is the evidence.
        """
        version = ctx.version(self.code, case) if case is not None else None
        decided = decide(self.level if level is None else level, status=self.status, evidence=strength,
                         version=version).level
        assert decided is not None  # only dead code is dropped, and package evidence is never code
        notes = [n for n in (list(evidence) or [_line_text(ctx.folder, file, line)]) if n]
        data = dict(data or {})
        if version is not None:
            message = f"{message} [{version.ruling.title}, {version.ruling.date}]"
            notes.append(version.describe())
            data["rule_version"] = version.as_data()
        return Finding(
            code=self.code, rule=self.rule_id, level=decided, source=Source.PACKAGE,
            path=ctx.folder.rel(file), line=max(1, line), message=message,
            evidence=notes, confidence=confidence or self.confidence,
            name=self.name, data=data,
        )


def scope(folder: RecordFolder, run, level: Level) -> tuple[Level, str]:
    """A budget or hardware finding's level and message suffix for one run: the full level for a run
    the record claim rests on; INFO on the non-record track and for logs that do not back the claim
    (development runs, ablations shipped beside the seeds)."""
    return scoped(level, record_track=folder.record_track, backs_claim=folder.backs_claim(run))


def _line_text(folder: RecordFolder, file: str, line: int) -> str:
    for run in folder.runs:
        if run.rel == file and 0 < line <= len(run.log.lines):
            return f"{file}:{line}: {run.log.lines[line - 1].strip()}"
    if file == folder.claim_rel:  # the claim's own line is the evidence of a claimed value
        try:
            lines = (folder.path / file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        if 0 < line <= len(lines):
            return f"{file}:{line}: {lines[line - 1].strip()}"
    return ""


def all_package_checks() -> list[type[PackageCheck]]:
    """Every package check in the catalog, by code."""
    from auditor.registry import catalog

    checks = [c for c in catalog() if isinstance(c, type) and issubclass(c, PackageCheck)]
    if not checks:  # an empty catalog would pass every folder silently
        raise RuntimeError("no package checks found: the rules package is not importable")
    return checks
