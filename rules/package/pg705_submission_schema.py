"""submission.json does not parse, has no readable val_bpb claim, uses a field variant, or lacks metadata.

What it detects
    The file is validated against the schema of the field variants seen in the merged records
    (``auditor.package.submission.SCHEMA``): a JSON object with a numeric ``val_bpb`` (or
    ``mean_val_bpb`` / ``mean_bpb``), non-negative integer byte counts, integer seeds.
    - A file that does not parse, or is not a JSON object: FAIL.
    - On the record track, no val_bpb claim readable at all: FAIL. When the logged mean is stored
      under another key (``val_loss`` holding a bpb, say), the claim is read from it: WARN.
    - Differently named keys, per-seed maps of bare numbers, seeds listed as objects, mistyped
      fields: WARN (variants the merged records use).
    - On the non-record track, no readable claim: REVIEW. Missing ``name``, ``author``,
      ``github_id`` or ``date``: WARN.
    Each level names its rule version.
Why it breaks the metric
    FOLDER: the claim is what gets verified and ranked; an unparsable claim cannot be.
Example
    {"val_bpb": "1.0912", "bytes_total": 15967483.5}
Legal alternative
    Follow the README's example: author, github_id, name, blurb, date, val_loss, val_bpb,
    bytes_total, bytes_code (plus per-seed results if you like).
How it is confirmed
    Package check (jsonschema).
Ruling
    README "Submission Process" (https://github.com/openai/parameter-golf/blob/main/README.md): a
    submission.json that does not parse was sent back. Final leaderboard practice
    (https://github.com/openai/parameter-golf/pull/2146): records with differently named keys and
    per-seed maps of bare numbers were merged.
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
    rulings = ("README Submission Process", "final leaderboard practice (PR #2146)")
    ruling_url = "https://github.com/openai/parameter-golf/pull/2146"
    hint = "Make submission.json a JSON object with a numeric val_bpb and the README's metadata."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        src = f.claim_rel or "submission.json"
        for p in f.schema_problems:
            if p.kind == "parse":
                yield self.finding(ctx, src, p.line, p.message, evidence=[p.message])
            elif p.kind == "metadata":
                yield self.finding(ctx, src, p.line, p.message, evidence=[p.message], level=Level.WARN)
            elif p.kind == "no-claim" and f.claim is not None and f.claim.headline_key is not None:
                c = f.claim.val_bpb
                assert c is not None
                yield self.finding(ctx, src, c.line, f"submission.json has no val_bpb key; the claimed mean "
                                   f"{c.value} is stored under {c.key!r}, where it matches the logged headlines",
                                   evidence=[p.message], case="variant")
            elif p.kind == "no-claim":
                if f.record_track:
                    yield self.finding(ctx, src, p.line, f"{p.message}, and no other key holds the logged mean",
                                       evidence=[p.message], case="no-claim")
                else:
                    yield self.finding(ctx, src, p.line, f"{p.message} (non-record track)", evidence=[p.message],
                                       level=Level.REVIEW)
            else:
                yield self.finding(ctx, src, p.line, f"{p.message} (a variant of the merged records)",
                                   evidence=[p.message], case="variant")
