"""The submission is dated after the leaderboard cutoff (2026-05-02).

What it detects
    A submission dated on or after 2026-05-02 00:00 UTC, by the date the audit judges it by: ``--as-of``,
    the PR's creation time when known, the ``date`` in submission.json, the folder's ``YYYY-MM-DD_``
    prefix, or the folder's first commit.
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
    Maintainer practice: README (2026-03-19), final leaderboard update PR #2146
    (https://github.com/openai/parameter-golf/pull/2146).
Known gaps
    The PR creation date (the one that matters) is not in the folder; unless the caller supplies it,
    the claim's date stands in.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck
from auditor.package.limits import CUTOFF_DATE
from auditor.rulings import parse_when

#: the cutoff instant (May 1 17:00 PDT)
CUTOFF = f"{CUTOFF_DATE}T00:00Z"


class ChronoCutoff(PackageCheck):
    code = "PG751"; name = "chrono-cutoff"; rule_id = "CHRONO-CUTOFF"; family = "PACKAGE"
    status = Status.PRACTICE; level = Level.INFO
    rulings = ("README", "PR #2146"); ruling_url = "https://github.com/openai/parameter-golf/pull/2146"
    hint = "Post-cutoff submissions are judged under the grace policy only."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        where = f.claim_rel or (f.entry or "README.md")
        line = f.claim.date_line if f.claim and f.claim.date and ctx.date and ctx.date.source == "submission.json date" else 1
        if ctx.date is None or not ctx.date.when.on_or_after(parse_when(CUTOFF)):
            return
        yield self.finding(ctx, where, line, f"dated {ctx.date.describe()}, on or after the leaderboard cutoff "
                           f"{CUTOFF_DATE} 00:00 UTC", evidence=[f"date: {ctx.date.describe()}"], case="after-cutoff")
