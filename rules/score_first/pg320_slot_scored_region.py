"""SLOT: eval-time parameters (delta, logit bias) optimized on the loss of the positions being scored.

What it detects
    Inside an evaluator, leaf tensors created with ``requires_grad=True`` (a hidden-state offset, a
    logit bias, a temperature) that an optimizer (or a manual gradient update) fits against a loss on
    validation-derived data, where the loss is not restricted to already-scored context: no mask,
    or a mask/slice that covers the scored slice (``mask[i, s:wlen] = 1``).
Why it breaks the metric
    C1/C3 (SLOT, C1-c alias): the optimizer minimizes the very quantity that is graded; the #1240 flip
    test found every other scored position's NLL changing when one target changes.
Example
    delta = torch.zeros(1, 1, d, requires_grad=True); opt = AdamW([delta])
    for _ in range(K):
        loss = (F.cross_entropy(head(h + delta), y, reduction="none") * mask).mean()
        loss.backward(); opt.step()
    total += F.cross_entropy(head(h + delta), y)[s:].sum()
Legal alternative
    Score-first TTT: only updates made after scoring may affect later positions.
How it is confirmed
    flip-test, score-before-update.
Ruling
    Community consensus (#1240 flip test); no maintainer ruling.
Known gaps
    The mask is classified from slice assignments and subscripts on the loss (prefix ``[:s]`` means
    context-only); masks built by comparisons or index arithmetic are treated as covering the scored
    slice.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class SlotScoredRegion(Rule):
    code = "PG320"
    name = "slot-scored-region"
    rule_id = "SLOT"
    family = "SLOT"
    status = Status.CONSENSUS
    level = Level.FAIL
    rulings = ("#1240 flip test",)
    ruling_url = "https://github.com/openai/parameter-golf/pull/1240"
    probes = ("flip-test", "score-before-update")
    hint = "Do not fit eval-time parameters on the positions you score; use score-first TTT."

    VALID = [
        Valid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def evaluate(model, stride=64):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                total = 0.0
                with torch.inference_mode():
                    for ws in range(0, tokens.numel() - 1025, stride):
                        x, y = tokens[ws:ws + 1024], tokens[ws + 1:ws + 1025]
                        nll = F.cross_entropy(model(x), y, reduction="none")
                        total += nll[-stride:].sum().item()
                return total
            """,
            note="legal look-alike: sliding-window evaluation, no eval-time optimization",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def evaluate(hidden_of, head, d, stride=64):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                total = 0.0
                for ws in range(0, tokens.numel() - 1025, stride):
                    x, y = tokens[ws:ws + 1024], tokens[ws + 1:ws + 1025]
                    with torch.no_grad():
                        h = hidden_of(x)
                    delta = torch.zeros(1, d, requires_grad=True)
                    opt = torch.optim.AdamW([delta], lr=0.01)
                    for _ in range(8):
                        loss = F.cross_entropy(head(h + delta), y)
                        loss.backward()
                        opt.step()
                        opt.zero_grad()
                    with torch.no_grad():
                        total += F.cross_entropy(head(h + delta), y, reduction="none")[-stride:].sum().item()
                return total
            """,
            lines=14,
            note="delta fitted on the whole window, which contains the scored slice",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for site in a.fact(build_events).trainings:
            if site.verdict == "slot-scored":
                message = "eval-time parameters optimized on the loss of the scored positions (SLOT)"
                finding = self.report(a, site.anchor, message, evidence=site.evidence())
                if finding is not None:
                    yield finding
