"""Context-only SLOT: eval-time parameters fitted on already-scored context positions only (disputed).

What it detects
    The SLOT shape of PG320 (fresh ``requires_grad`` leaf tensors optimized against a validation loss
    inside an evaluator) where every mask or slice on that loss keeps only a prefix of the window
    (``ctx_mask[i, :s] = True``, ``nll[:, :s]``): the positions already scored by earlier windows.
Why it breaks the metric
    Disputed: the fitted offset is then applied to the scored slice of the same window; Issue #1336
    asked for a ruling and never got one.
Example
    ctx[i, :s] = True
    for _ in range(K):
        loss = F.cross_entropy(head(h + delta), y, reduction="none")[ctx].mean()
        loss.backward(); opt.step()
    total += F.cross_entropy(head(h + delta), y)[:, s:].sum()
Legal alternative
    Score-first TTT on already-scored tokens, with updates that only affect later windows.
How it is confirmed
    flip-test.
Ruling
    Disputed: Issue #1336 (no maintainer ruling).
Known gaps
    State carried across windows is not distinguished from a per-window reset.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class SlotContextOnly(Rule):
    code = "PG321"
    name = "slot-context-only"
    rule_id = "SLOT"
    family = "SLOT"
    status = Status.DISPUTED
    level = Level.REVIEW
    rulings = ("Issue #1336",)
    ruling_url = "https://github.com/openai/parameter-golf/issues/1336"
    probes = ("flip-test",)
    hint = "A ruling is pending; score-first TTT is the uncontested alternative."

    VALID = [
        Valid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def evaluate(model, adapter, stride=64):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                opt = torch.optim.AdamW(adapter.parameters())
                total = 0.0
                for ws in range(0, tokens.numel() - 1025, stride):
                    x, y = tokens[ws:ws + 1024], tokens[ws + 1:ws + 1025]
                    nll = F.cross_entropy(model(x, adapter), y, reduction="none")
                    total += nll[-stride:].detach().sum().item()
                    nll[-stride:].mean().backward()
                    opt.step()
                return total
            """,
            note="legal look-alike: per-window LoRA TTT that scores before stepping",
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
                    s = 1024 - stride
                    ctx = torch.zeros(1024, dtype=torch.bool)
                    ctx[:s] = True
                    delta = torch.zeros(1, d, requires_grad=True)
                    opt = torch.optim.AdamW([delta], lr=0.01)
                    for _ in range(8):
                        nll = F.cross_entropy(head(h + delta), y, reduction="none")
                        loss = nll[ctx].mean()
                        loss.backward()
                        opt.step()
                    with torch.no_grad():
                        total += F.cross_entropy(head(h + delta), y, reduction="none")[s:].sum().item()
                return total
            """,
            lines=17,
            note="delta fitted on the already-scored prefix only",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for site in a.fact(build_events).trainings:
            if site.verdict == "slot-context":
                message = "eval-time parameters optimized on already-scored context (context-only SLOT)"
                finding = self.report(a, site.anchor, message, evidence=site.evidence())
                if finding is not None:
                    yield finding
