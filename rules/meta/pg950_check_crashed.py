"""A check of this tool raised an exception on this input; its findings here are missing.

What it detects
    A bug in pgolf-audit itself, not in the submission: one static rule or one package check raised
    an exception while it examined this input. The finding names the check, the exception and the
    file, and the place in the tool's code where it was raised. Every other check still ran, and
    every other finding of the input stands.
Why it breaks the metric
    It does not: it says the audit of this input is incomplete. The check that crashed might have
    reported something, so the verdict is at least REVIEW until the tool is fixed and the input
    re-audited.
Example
    A rule that indexes a list past its end on an unusual parameter list (``IndexError``), or a
    package check that meets ``submission.json`` values in a shape it does not expect (``TypeError``).
Legal alternative
    Nothing to change in the submission. Report the finding (its message and evidence) to the
    pgolf-audit maintainers; a waiver in the maintainer's configuration can accept it meanwhile.
How it is confirmed
    By reading the named check on the named input; the evidence holds the tool's file and line.
Ruling
    None: a tool finding (family TOOL). It is reported even when ``--select`` leaves it out, so a
    partial audit is never shown as a complete one; ``--ignore PG950`` hides it explicitly.
Known gaps
    A crash outside any single check (the parser, the loader, the folder reader) still makes the
    whole input ERROR with its reason.
"""

from __future__ import annotations

import os
import traceback

from auditor.findings import Confidence, Finding, Level, Source, Status
from auditor.rule import RuleInfo


class CheckCrashed(RuleInfo):
    code = "PG950"
    name = "check-crashed"
    rule_id = "TOOL"
    family = "TOOL"
    status = Status.META
    level = Level.REVIEW
    confidence = Confidence.LOW
    hint = "A bug in pgolf-audit, not in the submission: report the message and evidence to the maintainers."

    @classmethod
    def finding(cls, check_code: str, check_name: str, exc: BaseException, path: str, source: Source,
                line: int = 1) -> Finding:
        """The finding that stands for ``check_code``'s crash on ``path``."""
        where = _raised_at(exc)
        return Finding(
            code=cls.code, rule=cls.rule_id, level=cls.level, source=source, path=path, line=max(1, line),
            message=f"internal error in {check_code} ({check_name}) on {path}: {type(exc).__name__}: {exc}"
                    f"; {check_code}'s findings on this input are missing",
            evidence=[f"raised at {where}"] if where else [],
            confidence=cls.confidence, name=cls.name,
            data={"check": check_code, "exception": type(exc).__name__},
        )


def _raised_at(exc: BaseException) -> str:
    """``file:line in function`` of the innermost frame, the file relative to the tool's root."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    name = os.path.relpath(last.filename, root) if last.filename.startswith(root) else os.path.basename(last.filename)
    return f"{name}:{last.lineno} in {last.name}"
