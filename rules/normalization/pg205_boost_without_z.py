"""A one-token bonus is applied to the score without its partition function.

What it detects
    A score term ``beta * (y == h)`` (the label compared with a hint, used as a number) in a function
    that has no log-partition term — no ``log(... exp ...)``, ``log1p(p_h * expm1(beta))`` or
    ``logsumexp``.
Why it breaks the metric
    C2-e: boosting one token by e^beta without dividing by ``Z = 1 + p(h)(e^beta - 1)`` gives a
    "distribution" whose sum over the vocabulary exceeds 1; the score omits ``log Z``.
Example
    nll = nll - beta * (y == hint).float()
Legal alternative
    The normalized tilt: ``nll + log1p(p_h * expm1(beta)) - beta * (y == h)`` with a prefix-only h,
    or add the bonus to the logits of every candidate and re-run the softmax.
How it is confirmed
    normalization probe.
Ruling
    Maintainer ruling (C2); Issue #1017 condition 2.
Known gaps
    A partition term elsewhere in the same function (for another purpose) hides a missing one;
    boosts applied as in-place edits of a probability vector (``p[h] *= e^b``) are not matched.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, scoring
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class BoostWithoutZ(Rule):
    code = "PG205"
    name = "boost-without-z"
    rule_id = "C2-e"
    family = "C2-NORMALIZED"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("Issue #1017 (C2)",)
    ruling_url = "https://github.com/openai/parameter-golf/issues/1017"
    probes = ("vocab-sweep",)
    hint = "Add log Z = log(1 + p(h)(e^beta - 1)) whenever the bonus is applied."

    VALID = [
        Valid(
            """
            import torch
            import torch.nn.functional as F
            def tilt(logits, y, h, beta):
                lp = F.log_softmax(logits, -1)
                nll = -lp.gather(-1, y[:, None])[:, 0]
                p_h = lp.gather(-1, h[:, None])[:, 0].exp()
                return nll + torch.log1p(p_h * torch.expm1(beta)) - beta * (y == h).float()
            """,
            note="legal look-alike: normalized tilt with explicit Z",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch.nn.functional as F
            def tilt(logits, y, h, beta):
                nll = F.cross_entropy(logits, y, reduction="none")
                return nll - beta * (y == h).float()
            """,
            lines=4,
            note="bonus on the hinted token without log Z",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for site in a.fact(scoring.build_gating).unnormalized_boosts:
            finding = scoring.report(self, a, site.node, site.what)
            if finding is not None:
                yield finding
