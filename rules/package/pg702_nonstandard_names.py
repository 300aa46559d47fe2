"""The entry script or submission.json has a non-standard name.

What it detects
    A folder whose training script is not named ``train_gpt.py`` (e.g. ``train_gpt_v5.py``,
    ``train_<arch>.py``), or whose claim file is ``submission_<name>.json``.
Why it breaks the metric
    FOLDER: the README asks for ``train_gpt.py`` and ``submission.json``; tools (and maintainers)
    that look for them miss the code or the claim. It does not change the score itself.
Example
    records/track_10min_16mb/2026-03-24_Ternary/train_gpt_cuda_ternary.py + submission_ternary.json
Legal alternative
    Rename to ``train_gpt.py`` and ``submission.json``.
How it is confirmed
    Package check (file names).
Ruling
    README rule; merged records include other names, so it is a WARN.
Known gaps
    When several ``train*.py`` exist, the largest is taken as the entry script.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck


class NonstandardNames(PackageCheck):
    code = "PG702"; name = "nonstandard-names"; rule_id = "FOLDER"; family = "PACKAGE"
    status = Status.README; level = Level.WARN
    rulings = ("README Submission Process",)
    hint = "Name the script train_gpt.py and the claim submission.json."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        if f.entry is not None and f.entry != "train_gpt.py":
            yield self.finding(ctx, f.entry, 1, f"the training script is {f.entry}, not train_gpt.py",
                               evidence=[f"entry script: {f.entry}"])
        if f.claim_rel is not None and f.claim_rel != "submission.json":
            yield self.finding(ctx, f.claim_rel, 1, f"the claim file is {f.claim_rel}, not submission.json",
                               evidence=[f"claim file: {f.claim_rel}"])
