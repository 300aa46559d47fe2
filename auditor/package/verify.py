"""``verify_folder``: the package stage of a folder audit (MLPerf-style orchestration, ANCHORS §6).

Load the folder into its typed model (files, claim, logs, runs), run every package check of the
catalog in code order (each isolated: a check that raises becomes a PG950 finding and the others
still run), and return the findings plus the extra JSON fields of the folder's report:
``claimed_val_bpb``, ``logged_val_bpb_mean`` and ``seeds`` (one row per distinct logged run).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.findings import Finding, Source
from auditor.package.check import Context, Sota, all_package_checks
from auditor.package.folder import RecordFolder, load_folder
from auditor.registry import code_selected
from auditor.rulings import submission_date
from rules.meta.pg950_check_crashed import CheckCrashed

if TYPE_CHECKING:
    from auditor.decode import Loaded


class FolderError(ValueError):
    """The input is not a readable folder (the CLI turns it into exit 2 with this message)."""


def verify_folder(
    folder: Path,
    sota: Sota | None = None,
    bpb_tolerance: float = 1e-5,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    loaded: Loaded | None = None,
    as_of: str | None = None,
    pr_created: str | None = None,
) -> tuple[list[Finding], dict[str, Any]]:
    """Run the package checks on ``folder``; findings carry ``Source.PACKAGE`` and a file + line.
    ``loaded``: the static stage's load of the folder's script, reused instead of decoding it again."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FolderError(f"{folder}: not a directory")
    try:
        model = load_folder(folder, loaded)
    except OSError as exc:
        raise FolderError(f"{folder}: cannot read: {exc}") from exc
    # the rules in force on the submission's date decide the dated levels (RULEBOOK §11.1)
    date = submission_date(folder, model.claim.date if model.claim else None, as_of, pr_created)
    ctx = Context(model, sota=sota, bpb_tolerance=bpb_tolerance, date=date)
    select, ignore = list(select), list(ignore)
    # a crash is reported against the submission's metadata file when there is one, else the folder
    crash_path = str(folder / "submission.json") if (folder / "submission.json").is_file() else str(folder)
    findings: list[Finding] = []
    for check in all_package_checks():
        if code_selected(check.code, select, ignore):
            try:
                # what the check reported before it failed stands: each finding is complete on its own
                findings.extend(check().check(ctx))
            except MemoryError:
                raise
            except Exception as exc:  # noqa: BLE001 - one check's bug must not hide the others (PG950)
                findings.append(CheckCrashed.finding(check.code, check.name, exc, crash_path, Source.PACKAGE))
    try:
        summary = folder_summary(model)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - the summary is a report field; its bug must not hide the findings
        findings.append(CheckCrashed.finding("summary", "folder summary", exc, crash_path, Source.PACKAGE))
        summary = {"claimed_val_bpb": None, "logged_val_bpb_mean": None, "seeds": []}
    summary["submission_date"] = {"date": date.when.text, "source": date.source} if date else None
    return findings, summary


def folder_summary(model: RecordFolder) -> dict[str, Any]:
    """The extra report fields: the claim, the logged mean, and the per-seed table as logged."""
    claim = model.claim
    return {
        "claimed_val_bpb": float(claim.val_bpb.value) if claim and claim.val_bpb else None,
        "logged_val_bpb_mean": model.logged_mean(),
        "seeds": [seed_row(model, r) for r in model.distinct_runs],
    }


def seed_row(model: RecordFolder, run) -> dict[str, Any]:
    log, head = run.log, model.headline(run)
    eval_ms = None
    if head is not None:
        eval_ms = head.eval_ms if head.eval_ms is not None else log.headline_eval_ms() if log.headline is head else None
        if eval_ms is None:
            eval_ms = next((e.eval_ms for e in log.evals if e.final and e.eval_ms is not None and e.kind == head.kind
                            and abs(e.val_bpb - head.val_bpb) < 5e-5), None)
    return {
        "seed": run.seed,
        "val_bpb": head.val_bpb if head else None,
        "bytes_total": log.total.bytes if log.total else None,
        "bytes_code": log.code.bytes if log.code else None,
        "train_seconds": log.train.value / 1000 if log.train else None,
        "eval_seconds": eval_ms / 1000 if eval_ms is not None else None,
        "log": model.rel(run.rel),
        "headline": head.label if head else None,
    }
