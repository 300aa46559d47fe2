"""The logged validation token count is not the canonical count for the tokenizer.

What it detects
    Per train log: ``val_tokens: N`` (or ``val_loader: … tokens:N``) against the canonical counts
    (sp1024 62,021,632; sp4096 45,508,608 or 45,514,752; sp8192 40,540,160; sp8192 CaseOps 47,851,520
    or, tail included, 47,853,343; byte260 ≈151.13 M). With W the run's evaluation window
    (``eval_seq_len``, else ``train_seq_len``, from the log's hyperparameter dump):
    - fewer tokens by less than W, with N a whole number of W-token windows: the loader's truncation
      to whole windows (PASS);
    - about one token per document fewer (49,000 to 50,000 + W): the next document's BOS targets are
      never scored by a per-document evaluator: REVIEW, with the count;
    - any other gap or double count of at most one window: REVIEW, with the count;
    - a larger gap: FAIL (real targets never scored: a subset, skipped documents, a dropped tail);
    - both CaseOps counts are accepted: the tail-included one is reported as INFO, naming it.
    The launch-day sp1024 export (63,779,840) is accepted for logs dated 2026-03-18 or earlier.
    Each level names the rule version it applied.
Why it breaks the metric
    VAL-FULL-COVERAGE: the headline must cover the full canonical validation set (the first 50,000
    documents); a subset or another split changes the number.
Example
    val_tokens: 9663488        <- a 10,000-document CaseOps split: FAIL
    val_tokens: 47801520       <- 50,000 next-document BOS targets not scored: REVIEW
Legal alternative
    Evaluate on the canonical ``fineweb_val_*`` shards of the official export and score every target.
How it is confirmed
    Package check; the dynamic ``coverage`` probe confirms each position is scored once.
Ruling
    README rule; valerio-oai's ruling on PR #1835 (https://github.com/openai/parameter-golf/pull/1835):
    a subset reported as the full validation set is not valid. The sliding-window tail fix of PR #1218
    (https://github.com/openai/parameter-golf/pull/1218): records with one-window gaps stayed merged.
    The first per-document record scores the next document's BOS on purpose, "to match
    continuous-stream eval token count exactly"; no ruling covers evaluators that skip it. CaseOps
    (PR #1729, https://github.com/openai/parameter-golf/pull/1729): both counts were accepted.
Known gaps
    Tokenizers outside the table (custom vocabularies) are reported as INFO with the count. A count
    that happens to match canonical while targets are skipped and others double counted is invisible
    here, and a per-document evaluator dropping each document's last real target also misses about
    50,000 targets, which the count alone cannot tell from skipped BOS targets (the dynamic coverage
    probe measures positions).
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck
from auditor.package.folder import Run
from auditor.package.limits import (
    BYTE260_TOLERANCE,
    BYTE260_VAL_TOKENS,
    CANONICAL_VAL_TOKENS,
    CASEOPS_TAIL_VAL_TOKENS,
    LAUNCH_BASELINE_SP1024_VAL_TOKENS,
    VAL_DOCUMENTS,
)

#: the window assumed when a log prints none: the longest evaluation window merged records used
DEFAULT_WINDOW = 65_536
#: a shortfall this close below the document count is one skipped BOS target per document
BOS_SLACK = 1_000


class ValTokenCount(PackageCheck):
    code = "PG721"; name = "val-token-count"; rule_id = "VAL-FULL-COVERAGE"; family = "PACKAGE"
    status = Status.RULING; level = Level.FAIL
    rulings = ("README", "ruling on PR #1835", "PR #1218 (one-window gaps)", "PR #1729 (CaseOps counts)")
    ruling_url = "https://github.com/openai/parameter-golf/pull/1835"
    probes = ("coverage",)
    hint = "Evaluate on the full canonical validation shards and score every target, the next document's BOS included."

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
                    yield self._gap(ctx, run, n, BYTE260_VAL_TOKENS, tok, DEFAULT_WINDOW)
                continue
            canon = CANONICAL_VAL_TOKENS.get(tok or "")
            if canon is None:
                yield self.finding(ctx, run.rel, log.val_tokens.line, f"val_tokens {n:,} with an unrecognised "
                                   f"tokenizer ({tok or 'unknown'}): not checked", level=Level.INFO)
                continue
            if tok == "sp1024" and n == LAUNCH_BASELINE_SP1024_VAL_TOKENS and self._launch_day(ctx):
                continue
            if tok == "sp8192-caseops" and n == CASEOPS_TAIL_VAL_TOKENS:
                yield self.finding(ctx, run.rel, log.val_tokens.line, f"seed {run.seed}: val_tokens {n:,}: the CaseOps "
                                   f"canonical count with the tail included (EVAL_INCLUDE_TAIL), not the truncated "
                                   f"{canon[0]:,}; both counts were accepted", case="caseops-tail-count",
                                   data={"val_tokens": n, "canonical": [*canon, CASEOPS_TAIL_VAL_TOKENS]})
                continue
            window = int(log.eval_seq_len.value) if log.eval_seq_len else DEFAULT_WINDOW
            ref = min(canon, key=lambda c: abs(c - n))
            short = ref - n
            if short == 0 or (0 < short < window and n % min(window, DEFAULT_WINDOW) == 0) or \
                    (log.eval_seq_len is None and 0 < short < window and n % 1024 == 0):
                continue  # the canonical set, or the loader's truncation to whole windows
            yield self._gap(ctx, run, n, ref, tok, window)

    def _gap(self, ctx: Context, run: Run, n: int, ref: int, tok: str, window: int) -> Finding:
        short = ref - n
        line = run.log.val_tokens.line
        data = {"val_tokens": n, "canonical": ref, "tokenizer": tok, "window": window, "missing": short}
        head = f"seed {run.seed}: val_tokens {n:,} vs the canonical {tok} count {ref:,}"
        if VAL_DOCUMENTS - BOS_SLACK <= short <= VAL_DOCUMENTS + window:
            return self.finding(ctx, run.rel, line, f"{head}: {short:,} targets fewer, about one per document "
                                f"({VAL_DOCUMENTS:,} documents): the next document's BOS targets are not scored",
                                case="next-document-bos", data=data)
        if abs(short) <= window:
            what = f"{short:,} targets never scored" if short > 0 else f"{-short:,} targets counted twice"
            return self.finding(ctx, run.rel, line, f"{head}: {what}, at most one {window:,}-token window",
                                case="gap-within-one-window", data=data)
        if short < 0:
            return self.finding(ctx, run.rel, line, f"{head}: {-short:,} more targets than the canonical set "
                                "(another export?)", level=Level.REVIEW, data=data)
        return self.finding(ctx, run.rel, line, f"{head}: {short:,} real targets never scored, more than one "
                            f"{window:,}-token window (a subset or skipped documents)", case="subset", data=data)

    @staticmethod
    def _launch_day(ctx: Context) -> bool:
        f = ctx.folder
        date = (f.claim.date if f.claim and f.claim.date else f.path.name)[:10]
        return date <= "2026-03-18"
