"""A Dirichlet/CTW posterior on hashed counts is computed for the scored target only.

What it detects
    ``(full[h(ctx, y)] + c * p_model[y]) / (ctx[h(ctx)] + c)``: a division whose numerator adds the
    model's own probability of the label to a count read from a target-keyed bucket (see PG101).
Why it breaks the metric
    C2-c: on bucketed tables the implied partition function over the vocabulary differs from 1 and
    grows with the bucket count; the score is not a normalized ``-log q(y)``. It is also C1-a.
Example
    p = (np.minimum(fc, cc) + conc * p_model) / (cc + conc)
Legal alternative
    Compute the posterior for every candidate v from context-keyed counts, so the numerators sum to
    the denominator, and score the label from that vector.
How it is confirmed
    normalization probe.
Ruling
    Maintainer ruling (family closures, #677); the claimed informal "leaning legal" remark was never
    substantiated (RULEBOOK C2-c).
Known gaps
    Posteriors computed in compiled kernels are not seen.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, ngram, scoring
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class TargetOnlyPosterior(Rule):
    code = "PG203"
    name = "target-only-posterior"
    rule_id = "C2-c"
    family = "C2-NORMALIZED"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("#677 closures (valerio-oai, 2026-03-27)",)
    ruling_url = "https://github.com/openai/parameter-golf/issues/677"
    probes = ("vocab-sweep",)
    hint = "Compute the posterior for every candidate from context-only counts and normalize over the vocabulary."

    VALID = [
        Valid(
            """
            import numpy as np
            def score(lp, rows, ck, y, c):
                p_model = np.exp(lp)
                post = (rows[ck] + c * p_model) / (rows[ck].sum(-1, keepdims=True) + c)
                return -np.log(post[np.arange(len(y)), y])
            """,
            note="legal look-alike: full-vocabulary Dirichlet posterior keyed on the context",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import torch.nn.functional as F
            def score(logits, x_np, y, full, ctx, mask, conc):
                p_model = F.log_softmax(logits, -1).gather(-1, y[:, None])[:, 0].exp().numpy()
                ck = (x_np * 36313) & mask
                fk = (ck ^ (y.numpy() * 27191)) & mask
                fc = full[fk].astype(np.float64)
                p = (np.minimum(fc, ctx[ck]) + conc * p_model) / (ctx[ck] + conc)
                return -np.log(p)
            """,
            lines=8,
            note="Dirichlet posterior on a target-keyed bucket, target only",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for ratio in a.fact(ngram.build).ratios:
            if not ratio.dirichlet:
                continue
            finding = scoring.report(
                self,
                a, ratio.node,
                "posterior (count + c·p_model[y]) / (ctx + c) is computed for the target only on hashed "
                "counts; it is not a normalized distribution over the vocabulary",
            )
            if finding is not None:
                yield finding
