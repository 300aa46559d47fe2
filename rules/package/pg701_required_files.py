"""A required file of the submission package is missing.

What it detects
    A record folder without ``README.md``, without ``submission.json``, without any train log (a
    ``*.log``/``*.txt`` file that prints evaluation or training-step lines), or without a training
    script (``train_gpt.py`` or another top-level ``train*.py``). FAIL on the record track; on the
    non-record track a missing train log or ``submission.json`` is REVIEW (4 of the 14 merged
    non-record folders lack one of them). Each level names its rule version.
Why it breaks the metric
    FOLDER: without the logs the claimed score cannot be checked, without the script it cannot be
    reproduced, without ``submission.json`` there is no claim to verify.
Example
    records/track_10min_16mb/2026-04-01_MyRun/ holding only README.md and train_gpt.py
Legal alternative
    Ship README.md, submission.json, the train log of every seed, train_gpt.py and its dependencies.
How it is confirmed
    Package check (files on disk).
Ruling
    README "Submission Process" (https://github.com/openai/parameter-golf/blob/main/README.md); missing
    logs or submission.json were sent back by maintainers on the record track. Final leaderboard
    practice (https://github.com/openai/parameter-golf/pull/2146): non-record folders without them
    were merged.
Known gaps
    A log in an unknown dialect that prints neither evaluation nor step lines is not recognised as a log.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck


class RequiredFiles(PackageCheck):
    code = "PG701"; name = "required-files"; rule_id = "FOLDER"; family = "PACKAGE"
    status = Status.README; level = Level.FAIL
    rulings = ("README Submission Process",)
    hint = "Add README.md, submission.json, every seed's train log and train_gpt.py."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        anchor = f.claim_rel or (f.entry or (f.files[0] if f.files else "README.md"))
        if "README.md" not in f.files and not any(x.lower() == "readme.md" for x in f.files):
            yield self.finding(ctx, anchor, 1, "the folder has no README.md", evidence=[f"files: {len(f.files)}"])
        # non-record folders without a log or a claim were merged: REVIEW there (RULEBOOK §11.5)
        case = None if f.record_track else "non-record-missing"
        if f.claim_rel is None:
            yield self.finding(ctx, anchor, 1, "the folder has no submission.json", evidence=[f"files: {len(f.files)}"],
                               case=case)
        if not f.runs:
            yield self.finding(ctx, anchor, 1, "the folder has no train log (no *.log/*.txt with evaluation or "
                               "training-step lines)", evidence=[f"files: {', '.join(f.files[:12])}"], case=case)
        if f.entry is None:
            yield self.finding(ctx, anchor, 1, "the folder has no training script (train_gpt.py or train*.py)",
                               evidence=[f"files: {', '.join(f.files[:12])}"])
