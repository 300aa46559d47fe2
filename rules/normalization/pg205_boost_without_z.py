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
from auditor.analysis.values import Values
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
        Valid(
            """
            import os
            import torch.nn.functional as F
            HINT_BOOST = 0.0
            def tilt(logits, y, h):
                nll = F.cross_entropy(logits, y, reduction="none")
                return nll - HINT_BOOST * (y == h).float()
            """,
            note="legal look-alike: the bonus is multiplied by a boost whose effective value is 0",
        ),
        Valid(
            """
            import os
            import torch.nn.functional as F
            def tilt(logits, y, h, beta):
                nll = F.cross_entropy(logits, y, reduction="none")
                if beta != 0:
                    nll = nll - 0.5 * (y == h).float()
                return nll
            def main(logits, y, h):
                return tilt(logits, y, h, 0.0)
            """,
            note="legal look-alike: `if beta != 0` with beta 0 at the only call site",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import os
            import torch.nn.functional as F
            HINT_BOOST = float(os.environ.get("HINT_BOOST", "1.5"))
            def tilt(logits, y, h):
                nll = F.cross_entropy(logits, y, reduction="none")
                return nll - HINT_BOOST * (y == h).float()
            """,
            lines=6,
            note="live twin: the same bonus with a boost of 1.5",
        ),
        Invalid(
            """
            import os
            import torch.nn.functional as F
            NGRAM_BETA = float(os.environ.get("NGRAM_BETA", "0.3"))
            def tilt(logits, y, h, beta):
                nll = F.cross_entropy(logits, y, reduction="none")
                if beta != 0:
                    nll = nll - 0.5 * (y == h).float()
                return nll
            def main(logits, y, h):
                return tilt(logits, y, h, NGRAM_BETA)
            """,
            lines=7,
            note="live twin: beta 0.3 at the only call site",
        ),
        Invalid(
            """
            import os
            import torch.nn.functional as F
            HINT_BOOST = float(os.environ.get("HINT_BOOST", "0.0"))
            def tilt(logits, y, h):
                nll = F.cross_entropy(logits, y, reduction="none")
                return nll - HINT_BOOST * (y == h).float()
            """,
            lines=6,
            level=Level.REVIEW,
            note="a zero boost only by the code's default: the run may set HINT_BOOST (a README or log saying 0 clears it)",
        ),
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
        values = a.fact(Values)
        for site in a.fact(scoring.build_gating).unnormalized_boosts:
            zero = values.scaled_by_zero(site.node, site.fn)
            level, notes, what = None, [], site.what
            if zero is not None:
                said = ", ".join(f"{s.env}={s.default!r}" for s in zero.settings)
                if zero.from_run_configuration:
                    level = Level.WARN
                    notes = [f"the boost is 0 in the run's configuration ({said}); the code's default is not"]
                elif zero.established:
                    continue  # a bonus times a boost of 0 adds nothing: dead under the configuration
                else:
                    # 0 only by the code's default: like any default-off gate, the run may differ
                    level = Level.REVIEW
                    what += f" (live unless the run keeps the zero boost {said})"
            finding = scoring.report(self, a, site.node, what, evidence=notes, level=level)
            if finding is not None:
                yield finding
