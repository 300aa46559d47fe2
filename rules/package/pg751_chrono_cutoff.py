"""The submission is dated after the leaderboard cutoff (2026-05-02).

What it detects
    A ``date`` in submission.json (or the folder's ``YYYY-MM-DD_`` prefix) on or after 2026-05-02.
Why it breaks the metric
    CHRONO-CUTOFF: records are judged against the SOTA at PR creation time; post-cutoff changes were
    not counted, except narrowly compliance-restoring fixes under the grace policy (PR #2146).
Example
    "date": "2026-05-04"
Legal alternative
    Context only; a claim that depends on post-cutoff changes needs a maintainer's decision.
How it is confirmed
    Package check (dates).
Ruling
    Maintainer practice: README (2026-03-19), final leaderboard update PR #2146.
Known gaps
    The PR creation date (the one that matters) is not in the folder; the claim's date stands in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck
from auditor.package.limits import CUTOFF_DATE


class ChronoCutoff(PackageCheck):
    code = "PG751"; name = "chrono-cutoff"; rule_id = "CHRONO-CUTOFF"; family = "PACKAGE"
    status = Status.PRACTICE; level = Level.INFO
    rulings = ("README", "PR #2146"); ruling_url = "https://github.com/openai/parameter-golf/pull/2146"
    hint = "Post-cutoff submissions are judged under the grace policy only."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        date, line, where = None, 1, f.claim_rel or (f.entry or "README.md")
        if f.claim and f.claim.date:
            date, line = f.claim.date[:10], f.claim.date_line
        elif m := re.match(r"(\d{4}-\d\d-\d\d)_", f.path.name):
            date = m.group(1)
        if date and re.fullmatch(r"\d{4}-\d\d-\d\d", date) and date >= CUTOFF_DATE:
            yield self.finding(ctx, where, line, f"dated {date}, on or after the leaderboard cutoff {CUTOFF_DATE}",
                               evidence=[f"date: {date}"])
