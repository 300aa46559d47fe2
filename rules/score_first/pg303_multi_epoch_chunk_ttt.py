"""Chunked TTT that scores a chunk after training on it (or inside a repeated epoch loop).

What it detects
    A training site on validation-derived data whose score of the same loop's data comes *after* the
    update (``for chunk: train E epochs; score chunk``), or whose score sits inside a loop that repeats
    the same data (``for ep in range(E): loss = ...; if ep == E - 1: total += loss; loss.backward()``).
Why it breaks the metric
    C3-c: the loss added to the totals comes from a forward pass that ran after an update on that same
    chunk, so the chunk's score already used its own tokens.
Example
    for chunk in chunks:
        for ep in range(E):
            loss = model(chunk)
            if ep == E - 1:
                total += loss.item()
            loss.backward(); opt.step()
Legal alternative
    Score the chunk once under ``torch.inference_mode()`` first, then train on it for E epochs.
How it is confirmed
    score-before-update.
Ruling
    Maintainer ruling: valerio-oai's closures of multi-epoch TTT (#677 wave, late March 2026).
Known gaps
    A loop that trains on chunk i-1 and then scores chunk i in the same body is reported here, because
    the chunk index is not compared.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class MultiEpochChunkTTT(Rule):
    code = "PG303"
    name = "multi-epoch-chunk-ttt"
    rule_id = "C3-c"
    family = "C3-SCORE-FIRST"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("valerio-oai TTT closures (#677)",)
    ruling_url = "https://github.com/openai/parameter-golf/issues/677"
    probes = ("score-before-update",)
    hint = "Score each chunk once before any update on it; only later chunks may see the adapted weights."

    VALID = [
        Valid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def run(model):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                opt = torch.optim.SGD(model.parameters(), lr=1e-3)
                total = 0.0
                n = (tokens.numel() - 1) // 4096
                for c in range(n):
                    x = tokens[c * 4096:(c + 1) * 4096]
                    y = tokens[c * 4096 + 1:(c + 1) * 4096 + 1]
                    with torch.inference_mode():
                        total += F.cross_entropy(model(x), y, reduction="sum").item()
                    if c == n - 1:
                        break
                    for ep in range(4):
                        F.cross_entropy(model(x), y).backward()
                        opt.step()
                        opt.zero_grad()
                return total
            """,
            note="legal look-alike: score first, then several epochs on the scored chunk, last chunk not trained",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def run(model, epochs=3):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                opt = torch.optim.SGD(model.parameters(), lr=1e-3)
                total = 0.0
                for c in range((tokens.numel() - 1) // 4096):
                    x = tokens[c * 4096:(c + 1) * 4096]
                    y = tokens[c * 4096 + 1:(c + 1) * 4096 + 1]
                    for ep in range(epochs):
                        loss = F.cross_entropy(model(x), y)
                        if ep == epochs - 1:
                            total += loss.item()
                        loss.backward()
                        opt.step()
                return total
            """,
            lines=9,
            note="the chunk's score is taken at the last epoch, after E-1 updates on it",
        ),
        Invalid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def run(model):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                opt = torch.optim.SGD(model.parameters(), lr=1e-3)
                total = 0.0
                for c in range((tokens.numel() - 1) // 4096):
                    x = tokens[c * 4096:(c + 1) * 4096]
                    y = tokens[c * 4096 + 1:(c + 1) * 4096 + 1]
                    for ep in range(2):
                        F.cross_entropy(model(x), y).backward()
                        opt.step()
                    with torch.no_grad():
                        total += F.cross_entropy(model(x), y, reduction="sum").item()
                return total
            """,
            lines=9,
            note="train the chunk, then score it",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for site in a.fact(build_events).trainings:
            if site.verdict == "chunk":
                message = "validation chunk scored after the model was trained on it"
                finding = self.report(a, site.anchor, message, evidence=site.evidence())
                if finding is not None:
                    yield finding
