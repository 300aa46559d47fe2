"""A hashed count ratio evaluated only at the scored target is mixed into the score.

What it detects
    A division whose numerator reads a target-keyed table (see PG101) — ``full[h(ctx, y)] / ctx[h(ctx)]``,
    ``min(full, ctx) / max(ctx, 1)``, a backoff ``(full + b*prev) / (ctx + b)`` — whose value is then
    used as the label's probability.
Why it breaks the metric
    C2-a: hash collisions push the ratio towards 1 for every candidate token; summed over the
    vocabulary the implied distribution is far above 1 (about 277 in the #886 analysis), so the
    score is not ``-log q(y)`` for a normalized q.
Example
    p_ng = np.minimum(full_c, ctx_c) / np.maximum(ctx_c, 1.0)
    nll = -np.log((1 - a) * p_model + a * p_ng)
Legal alternative
    Gather the counts of every candidate v for the context and divide by their sum (a full,
    normalized distribution), then mix two normalized distributions with a prefix-only weight.
How it is confirmed
    normalization probe (push every candidate v through the scorer; require the sum to be 1).
Ruling
    Maintainer ruling: valerio-oai's #677 closures (hashed caches "do not renormalize correctly"); #886.
Known gaps
    Ratios computed inside C/C++/Triton kernels are not seen; a ratio formed two or more
    assignments away from the table read is not matched.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, ngram, scoring
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

_BAD = """
import numpy as np
import torch.nn.functional as F
def score(logits, x_np, y, full, ctx, mask):
    p_model = F.log_softmax(logits, -1).gather(-1, y[:, None])[:, 0].exp().numpy()
    ck = (x_np * 36313) & mask
    fk = (ck ^ (y.numpy() * 27191)) & mask
    fc = full[fk].astype(np.float64)
    p_ng = np.minimum(fc, ctx[ck]) / np.maximum(ctx[ck], 1.0)
    return -np.log(0.7 * p_model + 0.3 * p_ng)
"""


class HashedRatioAtTarget(Rule):
    code = "PG201"
    name = "hashed-ratio-at-target"
    rule_id = "C2-a"
    family = "C2-NORMALIZED"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("#677 closures (valerio-oai, 2026-03-27)", "#886 RFC")
    ruling_url = "https://github.com/openai/parameter-golf/issues/677"
    probes = ("vocab-sweep",)
    hint = "Divide the counts of every candidate by their sum and score from that full distribution."

    VALID = [
        Valid(
            """
            import numpy as np
            def score(lp, ctx_rows, ck, y):
                row = ctx_rows[ck] + 0.5
                q = 0.8 * np.exp(lp) + 0.2 * row / row.sum(-1, keepdims=True)
                return -np.log(q[np.arange(len(y)), y])
            """,
            note="legal look-alike: full-vocabulary row keyed on the context, divided by its own sum",
        ),
    ]
    INVALID = [
        Invalid(_BAD, lines=8, note="min(full, ctx) / max(ctx, 1) on a target-keyed bucket"),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for ratio in a.fact(ngram.build).ratios:
            if ratio.dirichlet:
                continue
            finding = scoring.report(
                self,
                a, ratio.node,
                "count ratio read from a target-keyed bucket is used as the label's probability; "
                "the implied distribution over the vocabulary is not normalized",
            )
            if finding is not None:
                yield finding
