"""A count table is updated with a position before that position's scoring read in the same iteration.

What it detects
    Inside one loop iteration, an update of a table (``np.add.at(t, keys, 1)``, ``t[k] += 1``,
    ``t.index_add_``) placed before a read of the same table whose value reaches a ``log`` (the score).
Why it breaks the metric
    C3-e: the table then already contains x_t (or the whole chunk holding t) when x_t is looked up, so
    the token influences its own prediction.
Example
    for chunk in chunks:
        np.add.at(counts, keys_of(chunk), 1)
        nll += -np.log(counts[keys_of(chunk)] / total)
Legal alternative
    Score the chunk first, then update the table with it (update after the read in the loop body).
How it is confirmed
    flip-test.
Ruling
    Maintainer ruling (C3); Issue #1017 condition 3.
Known gaps
    Updates and reads in different functions, or reads in a later loop that covers the same chunk
    (two-pass rescoring, C4), are not matched here.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, ngram, scoring
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class CacheUpdateBeforeLookup(Rule):
    code = "PG305"
    name = "cache-update-before-lookup"
    rule_id = "C3-e"
    family = "C3-SCORE-FIRST"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("Issue #1017 (C3)",)
    ruling_url = "https://github.com/openai/parameter-golf/issues/1017"
    probes = ("flip-test",)
    hint = "Read the table for the positions being scored first; update it with them afterwards."

    VALID = [
        Valid(
            """
            import numpy as np
            def score(chunks, counts, lp):
                nll = 0.0
                for keys, y, row in chunks:
                    q = counts[keys] + 1.0
                    nll -= np.log(0.5 * np.exp(lp[row, y]) + 0.5 * q[y] / q.sum())
                    np.add.at(counts, (keys, y), 1)
                return nll
            """,
            note="score first, then update",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            def score(chunks, counts, lp):
                nll = 0.0
                for keys, y, row in chunks:
                    np.add.at(counts, (keys, y), 1)
                    q = counts[keys] + 1.0
                    nll -= np.log(0.5 * np.exp(lp[row, y]) + 0.5 * q[y] / q.sum())
                return nll
            """,
            lines=5,
            note="the chunk is added to the table before it is looked up",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for early in a.fact(ngram.build).early_updates:
            finding = scoring.report(
                self,
                a, early.update,
                f"table `{early.table}` is updated before its scoring read at line {early.lookup.lineno} "
                "in the same iteration",
            )
            if finding is not None:
                yield finding
