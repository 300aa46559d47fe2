"""submission.json does not parse, has no val_bpb claim, has mistyped fields, or lacks metadata.

What it detects
    The file is validated against the schema of the field variants seen in the merged records
    (``auditor.package.submission.SCHEMA``): it must be a JSON object with a numeric ``val_bpb`` (or
    ``mean_val_bpb`` / ``mean_bpb``); byte counts must be non-negative integers; seeds integers.
    Missing ``name``, ``author``, ``github_id`` or ``date`` is a warning.
Why it breaks the metric
    FOLDER: the claim is what gets verified and ranked; an unparsable or mistyped claim cannot be.
Example
    {"val_bpb": "1.0912", "bytes_total": 15967483.5}
Legal alternative
    Follow the README's example: author, github_id, name, blurb, date, val_loss, val_bpb,
    bytes_total, bytes_code (plus per-seed results if you like).
How it is confirmed
    Package check (jsonschema).
Ruling
    README rule; a submission.json that does not parse was sent back (RULEBOOK FOLDER).
Known gaps
    Unknown extra fields are accepted (the variants are many).
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck


class SubmissionSchema(PackageCheck):
    code = "PG705"; name = "submission-schema"; rule_id = "FOLDER"; family = "PACKAGE"
    status = Status.README; level = Level.FAIL
    rulings = ("README Submission Process",)
    hint = "Make submission.json a JSON object with a numeric val_bpb and the README's metadata."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        for p in f.schema_problems:
            yield self.finding(ctx, f.claim_rel or "submission.json", p.line, p.message,
                               evidence=[p.message], level=Level.FAIL if p.fatal else Level.WARN)
