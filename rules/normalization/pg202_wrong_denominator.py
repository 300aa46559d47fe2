"""A full-vocabulary count row or mixture is normalized with the wrong denominator.

What it detects
    (1) Counts read for every candidate at once — a row ``T[ctx]`` of a table created with two
    dimensions — divided by anything other than a ``sum`` over that row (``ctx_count + beta``, a
    separate context table), when the quotient reaches a ``log``. (2) A mixture ``w1 * P + w2 * Q``
    of two probability values (softmax, exp of log-softmax, normalized rows) whose constant weights
    do not sum to 1, taken to a ``log`` without dividing by its own sum.
Why it breaks the metric
    C2-b: the gather looks normalized, but the implied distribution over the V candidates sums to
    ``Σ_v numerator_v / denominator``, which is 1 only when the denominator is exactly that sum
    (smoothing spread over V included). A mixture with weights summing to s scores ``-log(s · q)``.
Example
    row = pair_counts[ctx]
    p = (row + beta) / (ctx_counts[ctx] + beta)
Legal alternative
    ``p = (row + beta) / (row + beta).sum(-1, keepdims=True)``; mix with ``(1 - a) * P + a * Q``.
How it is confirmed
    normalization probe (Σ_v q(v) = 1 ± 1e-3 at sampled positions).
Ruling
    Maintainer ruling (C2, valerio-oai's #677 closures); Issue #1017 condition 2; RULEBOOK C2-b.
    A 1-D hashed table read at a key with a candidate axis (``T[(ctx[:, None] * m + arange(V)[None, :]) % B]``,
    built locally or returned by a local helper) gathers every candidate just the same.
Known gaps
    Candidate keys built in another module, and tables not created in this file, are not recognised;
    mixtures with non-constant weights (``a * P + b * Q``) are not judged.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, normalization, scoring
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class WrongDenominator(Rule):
    code = "PG202"
    name = "wrong-denominator"
    rule_id = "C2-b"
    family = "C2-NORMALIZED"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("#677 closures (valerio-oai, 2026-03-27)", "Issue #1017 (C2)")
    ruling_url = "https://github.com/openai/parameter-golf/issues/677"
    probes = ("vocab-sweep",)
    hint = "Divide by the sum of the numerators over all V candidates (smoothing included)."

    VALID = [
        Valid(
            """
            import numpy as np
            pair = np.zeros((4096, 1024))
            def update(ctx, y):
                pair[ctx, y] += 1
            def score(lp, ctx, y, beta):
                row = pair[ctx] + beta
                q = 0.8 * np.exp(lp) + 0.2 * row / row.sum(-1, keepdims=True)
                return -np.log(q[np.arange(len(y)), y])
            """,
            note="legal look-alike: causal count row divided by its own sum, mixed 0.8 / 0.2",
        ),
        Valid(
            """
            import torch
            import torch.nn.functional as F
            def score(logits, bias, y, lam):
                lp = F.log_softmax(logits + lam * bias, -1)
                return -lp.gather(-1, y[:, None])[:, 0]
            """,
            note="legal look-alike: full-vocabulary additive logit term followed by a softmax",
        ),
        Valid(
            """
            import numpy as np
            pair = np.zeros(1 << 20)
            def score(lp, ctx, y, beta):
                cand = (ctx[:, None] * 31 + np.arange(1024)[None, :]) % (1 << 20)
                row = pair[cand] + beta / 1024
                q = row / row.sum(-1, keepdims=True)
                return -np.log(0.8 * np.exp(lp[np.arange(len(y)), y]) + 0.2 * q[np.arange(len(y)), y])
            """,
            note="legal look-alike: hashed candidate gather divided by its summed mass",
        ),
        Valid(
            """
            import torch
            import torch.nn.functional as F
            def score(logits, r, y):
                p = F.softmax(logits, -1)
                q = 0.5 * p + 0.7 * r.softmax(-1)
                q = q / q.sum(-1, keepdim=True)
                return -torch.log(q.gather(-1, y[:, None]))
            """,
            note="weights sum to 1.2, but the mixture is renormalized before the log",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            pair = np.zeros((4096, 1024))
            ctx_total = np.zeros(4096)
            def update(ctx, y):
                pair[ctx, y] += 1
                ctx_total[ctx] += 1
            def score(lp, ctx, y, beta):
                row = pair[ctx] + beta
                q = row / (ctx_total[ctx][:, None] + beta)
                return -np.log(0.8 * np.exp(lp[np.arange(len(y)), y]) + 0.2 * q[np.arange(len(y)), y])
            """,
            lines=9,
            note="smoothing spread over V but the denominator adds beta once",
        ),
        Invalid(
            """
            import numpy as np
            pair = np.zeros(1 << 20)
            ctx_total = np.zeros(1 << 20)
            def score(lp, ctx, y, beta):
                cand = (ctx[:, None] * 31 + np.arange(1024)[None, :]) % (1 << 20)
                q = (pair[cand] + beta / 1024) / (ctx_total[ctx][:, None] + beta)
                return -np.log(0.8 * np.exp(lp[np.arange(len(y)), y]) + 0.2 * q[np.arange(len(y)), y])
            """,
            lines=6,
            note="hashed candidate gather divided by the context count plus beta",
        ),
        Invalid(
            """
            import torch
            import torch.nn.functional as F
            def score(logits, cache_logits, y):
                p = F.softmax(logits, -1)
                r = F.softmax(cache_logits, -1)
                q = 0.9 * p + 0.3 * r
                return -torch.log(q.gather(-1, y[:, None]))
            """,
            lines=6,
            note="mixture weights sum to 1.2",
        ),
        Invalid(
            """
            import os
            import torch
            import torch.nn.functional as F
            BOOST = int(os.environ.get("CACHE_BOOST", "0"))
            def score(logits, cache_logits, y):
                p = F.softmax(logits, -1)
                if BOOST:
                    p = p + 0.5 * F.softmax(cache_logits, -1)
                return -torch.log(p.gather(-1, y[:, None]))
            """,
            lines=8,
            level=Level.REVIEW,
            note="unnormalized mixture only when an env flag is switched on",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        facts = a.fact(normalization.build)
        for site in [*facts.denominators, *facts.mixtures]:
            finding = scoring.report(self, a, site.node, site.what)
            if finding is not None:
                yield finding
