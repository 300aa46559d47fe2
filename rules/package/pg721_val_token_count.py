"""The logged validation token count is not the canonical count for the tokenizer.

What it detects
    Per train log: ``val_tokens: N`` (or ``val_loader: … tokens:N``) against the canonical counts of
    RULEBOOK §1.1 (sp1024 62,021,632; sp4096 45,508,608 or 45,514,752; sp8192 40,540,160; sp8192
    CaseOps 47,851,520; byte260 ≈151.13 M). Counts within 65,536 tokens below canonical are the
    loader's truncation to whole ``seq_len`` windows (PASS). More than 1 % below is FAIL (a subset);
    any other deviation is REVIEW. The launch-day sp1024 export (63,779,840) is accepted for logs dated
    2026-03-18 or earlier.
Why it breaks the metric
    VAL-FULL-COVERAGE: the headline must cover the full canonical validation set (the first 50,000
    documents); a subset or another split changes the number.
Example
    val_tokens: 9663488        <- a 10,000-document CaseOps split
Legal alternative
    Evaluate on the canonical ``fineweb_val_*`` shards of the official export.
How it is confirmed
    Package check; the dynamic ``coverage`` probe confirms each position is scored once.
Ruling
    README rule; ruling on PR #1835.
Known gaps
    Tokenizers outside the table (custom vocabularies) are reported as INFO with the count.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck
from auditor.package.limits import (
    BYTE260_TOLERANCE,
    BYTE260_VAL_TOKENS,
    CANONICAL_VAL_TOKENS,
    LAUNCH_BASELINE_SP1024_VAL_TOKENS,
    VAL_TOKENS_SUBSET_FRACTION,
)

#: the reference loader keeps whole seq_len windows (+1), so long eval windows drop a short tail
TRUNCATION_TOKENS = 65_536


class ValTokenCount(PackageCheck):
    code = "PG721"; name = "val-token-count"; rule_id = "VAL-FULL-COVERAGE"; family = "PACKAGE"
    status = Status.RULING; level = Level.FAIL
    rulings = ("README", "ruling on PR #1835"); ruling_url = "https://github.com/openai/parameter-golf/pull/1835"
    probes = ("coverage",)
    hint = "Evaluate on the full canonical validation shards."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        for run in f.distinct_runs:
            log = run.log
            if log.val_tokens is None:
                continue
            n = int(log.val_tokens.value)
            tok = log.tokenizer
            if tok == "byte260":
                if abs(n - BYTE260_VAL_TOKENS) > BYTE260_TOLERANCE * BYTE260_VAL_TOKENS:
                    yield self._report(ctx, run, n, (BYTE260_VAL_TOKENS,), tok)
                continue
            canon = CANONICAL_VAL_TOKENS.get(tok or "")
            if canon is None:
                yield self.finding(ctx, run.rel, log.val_tokens.line, f"val_tokens {n:,} with an unrecognised "
                                   f"tokenizer ({tok or 'unknown'}): not checked", level=Level.INFO)
                continue
            if tok == "sp1024" and n == LAUNCH_BASELINE_SP1024_VAL_TOKENS and self._launch_day(ctx):
                continue
            if any(0 <= c - n <= TRUNCATION_TOKENS for c in canon):
                continue
            yield self._report(ctx, run, n, canon, tok)

    def _report(self, ctx: Context, run, n: int, canon: tuple[int, ...], tok: str) -> Finding:
        ref = canon[0]
        subset = n < ref * (1 - VAL_TOKENS_SUBSET_FRACTION)
        what = "a subset of" if subset else "not"
        return self.finding(ctx, run.rel, run.log.val_tokens.line,
                            f"seed {run.seed}: val_tokens {n:,} is {what} the canonical {tok} validation set "
                            f"({', '.join(f'{c:,}' for c in canon)})", level=Level.FAIL if subset else Level.REVIEW,
                            data={"val_tokens": n, "canonical": list(canon), "tokenizer": tok})

    @staticmethod
    def _launch_day(ctx: Context) -> bool:
        f = ctx.folder
        date = (f.claim.date if f.claim and f.claim.date else f.path.name)[:10]
        return date <= "2026-03-18"
