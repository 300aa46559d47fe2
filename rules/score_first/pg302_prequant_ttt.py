"""Validation tokens are trained on before quantization/export, and the exported model is scored on them.

What it detects
    A training site on validation-derived data (backward + optimizer step, not preceded by a score of
    that data) followed, in the same function or a caller, by serialization or compression of the
    artifact (``torch.save``, ``lzma``/``zlib``/``brotli`` compression); the model is then scored on the
    same tokens.
Why it breaks the metric
    C3-b (pre-quantization TTT): adapting on the validation set and freezing the result into the
    artifact is score-after-adapt; "the artifact is frozen afterwards" was rejected as a defence.
Example
    train_model(...)
    ttt_adapt(model, val_tokens, epochs=8)      # backward/step over val
    blob = lzma.compress(serialize(quantize(model)))
    eval_val(dequantize(blob), val_tokens)
Legal alternative
    Quantize the trained model, then run score-first TTT at evaluation time (score each chunk before
    training on it).
How it is confirmed
    score-before-update.
Ruling
    Maintainer ruling: cocohearts on PR #1972 (2026-05-02); 0hq on PR #152.
Known gaps
    An export is recognized by serialization/compression calls; a quantize-only round trip with no
    serialization after the adaptation is reported by PG301 alone. Every site found here is also
    reported by PG301 (C3-a), since the loop trains on tokens before they are scored.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class PrequantTTT(Rule):
    code = "PG302"
    name = "prequant-ttt"
    rule_id = "C3-b"
    family = "C3-SCORE-FIRST"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #1972",)
    ruling_url = "https://github.com/openai/parameter-golf/pull/1972"
    probes = ("score-before-update",)
    hint = "Do not adapt on validation tokens before export; use score-first TTT at evaluation time."

    VALID = [
        Valid(
            """
            import io
            import lzma
            import torch
            import torch.nn.functional as F

            def main(model, loader):
                data = loader("data/fineweb_train_*.bin")
                opt = torch.optim.AdamW(model.parameters())
                for step in range(10):
                    x, y = data.next_batch()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()
                buf = io.BytesIO()
                torch.save(model.state_dict(), buf)
                return lzma.compress(buf.getvalue())
            """,
            note="legal look-alike: training on train shards, then export",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import io
            import lzma
            import numpy as np
            import torch
            import torch.nn.functional as F

            def adapt(model, tokens, epochs):
                opt = torch.optim.AdamW(model.parameters(), lr=5e-4)
                for epoch in range(epochs):
                    for i in range(0, tokens.numel() - 2049, 2048):
                        loss = F.cross_entropy(model(tokens[i:i + 2048]), tokens[i + 1:i + 2049])
                        loss.backward()
                        opt.step()

            def main(model):
                val = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                adapt(model, val, 8)
                buf = io.BytesIO()
                torch.save(model.state_dict(), buf)
                return lzma.compress(buf.getvalue())
            """,
            lines=9,
            note="adaptation on val, then serialization",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for site in a.fact(build_events).trainings:
            if site.verdict == "prequant":
                message = "model trained on validation tokens before quantization/export"
                finding = self.report(a, site.anchor, message, evidence=site.evidence())
                if finding is not None:
                    yield finding
