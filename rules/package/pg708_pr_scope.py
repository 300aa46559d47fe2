"""A record PR touches more than one new folder under a track.

What it detects
    In PR mode, over ``git diff base...head``: files changed outside ``records/<track>/<folder>/``
    (root scripts, other records), more than one record folder added, changes to an existing record
    folder, and record-like files placed outside a track directory (for example under a nested copy
    of the repository).
Why it breaks the metric
    FOLDER: a submission is a PR that only adds one new folder under ``records/track_10min_16mb/``
    or ``records/track_non_record_16mb/``; edits elsewhere can change what other records or the
    evaluation run. These are fixable format issues.
Example
    a PR adding records/track_10min_16mb/2026-04-01_A/ and editing train_gpt.py at the root
Legal alternative
    One PR per submission, adding exactly one new folder; move everything else out of the PR.
How it is confirmed
    PR mode (git diff names only; no PR code is checked out or run).
Ruling
    README "Submission Process"; edits to root scripts and two folders in one PR were sent back.
Known gaps
    Whether a touched folder already existed is judged by the diff status (modified vs added). The
    folders are found as PR mode finds the ones it audits (``auditor/package/discovery.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from auditor.findings import Finding, Level, Source, Status
from auditor.package.discovery import Change, is_track, pr_inputs, record_folder_of
from auditor.rule import RuleInfo


class PrScope(RuleInfo):
    code = "PG708"; name = "pr-scope"; rule_id = "FOLDER"; family = "PACKAGE"
    status = Status.README; level = Level.FAIL
    rulings = ("README Submission Process",)
    hint = "Make the PR add exactly one new folder under records/track_10min_16mb/ or records/track_non_record_16mb/."

    @classmethod
    def check_changes(cls, changes: Iterable[Change], repo: Path) -> list[Finding]:
        changes = list(changes)
        out: list[Finding] = []
        touched = pr_inputs(changes)
        folders = list(touched.touched)

        def finding(path: str, message: str) -> Finding:
            return Finding(code=cls.code, rule=cls.rule_id, level=cls.level, source=Source.PACKAGE,
                           path=str(repo / path), line=1, message=message + " (a fixable format issue)",
                           evidence=[f"{c.status} {c.path}" for c in changes[:10]], name=cls.name)

        if len(folders) > 1:
            out.append(finding(folders[1], f"the PR adds {len(folders)} record folders: {', '.join(folders)}"))
        # record-like files not under records/<track>/: a folder directly under records/, or a nested copy
        nested = [c for c in changes if "/records/" in f"/{c.path}" and c.path.split("/")[0] != "records"
                  or (folder := record_folder_of(c.path)) is not None and not is_track(folder.split("/")[1])
                  or c.path.startswith("records/") and c.path.count("/") == 1]
        for c in nested[:1]:
            out.append(finding(c.path, f"{c.path} is a record file outside records/<track>/"))
        others = [c for c in changes if record_folder_of(c.path) is None and c not in nested]
        if others:
            out.append(finding(others[0].path, f"the PR changes {len(others)} file(s) outside its record folder: "
                                               f"{', '.join(c.path for c in others[:5])}"))
        modified = [c for c in changes if record_folder_of(c.path) and c.status in ("M", "D")]
        if modified and not any(c.status == "A" for c in changes if record_folder_of(c.path) == record_folder_of(modified[0].path)):
            out.append(finding(modified[0].path, f"the PR edits an existing record folder ({record_folder_of(modified[0].path)})"))
        return out
