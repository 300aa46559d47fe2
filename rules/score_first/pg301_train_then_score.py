"""Validation tokens are trained on (backward + optimizer step) before they are scored.

What it detects
    A loop that backpropagates a loss computed on validation-derived data and steps an optimizer,
    where no score of that data is committed first (no val score precedes the update in every loop
    iteration), and the adapted model is scored afterwards. Found by data flow from the validation
    shards, through local calls and inline blocks of ``main()``, whatever the names.
Why it breaks the metric
    C3-a (train-then-score, pre-eval TTT): the reported score of x_t comes from weights that already
    saw x_t. The README allows test-time training only on tokens already evaluated.
Example
    for epoch in range(3):
        for x, y in batches(val_tokens):
            loss = model(x, y); loss.backward(); opt.step()
    val_loss, val_bpb = eval_val(model, val_tokens)
Legal alternative
    Score-first chunked TTT: score chunk i under ``torch.inference_mode()``, add it to the totals, then
    train on chunk i; never rescore it.
How it is confirmed
    score-before-update.
Ruling
    Maintainer ruling: 0hq on PR #152; valerio-oai's TTT closures (#677 wave); README FAQ (2026-03-20).
Known gaps
    A loop followed by quantization/export is reported here and by PG302 (C3-b), which names the
    narrower ruling. The chunk a score covers is not matched against the chunk trained on (any val
    score that precedes the update in every iteration of a data-advancing loop counts as score-first). Training sites are
    found through ``.backward()`` / ``torch.autograd.grad`` paired with an optimizer step; updates
    hidden in compiled extensions are not seen.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class TrainThenScore(Rule):
    code = "PG301"
    name = "train-then-score"
    rule_id = "C3-a"
    family = "C3-SCORE-FIRST"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #152", "valerio-oai TTT closures (#677)")
    ruling_url = "https://github.com/openai/parameter-golf/pull/152"
    probes = ("score-before-update",)
    hint = "Score each validation chunk under inference_mode first, then train on it; never rescore it."

    VALID = [
        Valid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def main(model):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                opt = torch.optim.SGD(model.parameters(), lr=1e-3)
                total = 0.0
                chunks = range(0, tokens.numel() - 1025, 1024)
                for start in chunks:
                    x, y = tokens[start:start + 1024], tokens[start + 1:start + 1025]
                    with torch.inference_mode():
                        total += F.cross_entropy(model(x), y, reduction="sum").item()
                    for epoch in range(3):
                        loss = F.cross_entropy(model(x), y)
                        loss.backward()
                        opt.step()
                        opt.zero_grad()
                return total
            """,
            note="legal look-alike: score-first chunked TTT (several epochs on an already-scored chunk)",
        ),
        Valid(
            """
            import torch
            import torch.nn.functional as F

            def main(model, stream):
                loader = stream("data/fineweb_train_*.bin")
                opt = torch.optim.AdamW(model.parameters())
                for step in range(100):
                    x, y = loader.next_batch()
                    loss = F.cross_entropy(model(x), y)
                    loss.backward()
                    opt.step()
            """,
            note="legal look-alike: a training loop over the training shards",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def measure(model, tokens):
                total = 0.0
                with torch.inference_mode():
                    for i in range(0, tokens.numel() - 1025, 1024):
                        total += F.cross_entropy(model(tokens[i:i + 1024]), tokens[i + 1:i + 1025]).item()
                return total

            def main(model):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
                for epoch in range(2):
                    for i in range(0, tokens.numel() - 1025, 1024):
                        loss = F.cross_entropy(model(tokens[i:i + 1024]), tokens[i + 1:i + 1025])
                        loss.backward()
                        opt.step()
                        opt.zero_grad()
                return measure(model, tokens)
            """,
            lines=15,
            note="inline train-on-val loop in main() with neutral names, then the evaluation",
        ),
        Invalid(
            """
            import os
            import numpy as np
            import torch
            import torch.nn.functional as F

            ADAPT = bool(int(os.environ.get("ADAPT", "0")))

            def adapt(model, tokens):
                opt = torch.optim.SGD(model.parameters(), lr=1e-3)
                for i in range(0, tokens.numel() - 1025, 1024):
                    loss = F.cross_entropy(model(tokens[i:i + 1024]), tokens[i + 1:i + 1025])
                    loss.backward()
                    opt.step()

            def measure(model, tokens):
                with torch.no_grad():
                    return F.cross_entropy(model(tokens[:-1]), tokens[1:]).item()

            def main(model):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                if ADAPT:
                    adapt(model, tokens)
                return measure(model, tokens)

            if __name__ == "__main__":
                main(None)
            """,
            lines=10,
            level=Level.REVIEW,
            note="gated by a default-off environment flag",
        ),
        Invalid(
            """
            import io
            import lzma
            import numpy as np
            import torch
            import torch.nn.functional as F

            def adapt(model, tokens):
                opt = torch.optim.AdamW(model.parameters(), lr=5e-4)
                for i in range(0, tokens.numel() - 2049, 2048):
                    loss = F.cross_entropy(model(tokens[i:i + 2048]), tokens[i + 1:i + 2049])
                    loss.backward()
                    opt.step()

            def main(model):
                val = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                adapt(model, val)
                buf = io.BytesIO()
                torch.save(model.state_dict(), buf)
                return lzma.compress(buf.getvalue())
            """,
            lines=9,
            note="the same loop before export (C3-b, PG302) is train-then-score too",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for site in a.fact(build_events).trainings:
            # A pre-quantization loop is also train-then-score (C3-a covers TTT "either before or after
            # the int8/int6 round trip"); PG302 adds the narrower C3-b ruling on the same site.
            if site.verdict in ("train-then-score", "prequant"):
                message = "model trained on validation tokens before they are scored"
                if site.verdict == "prequant":
                    message += " (through the exported artifact; see PG302)"
                finding = self.report(a, site.anchor, message, evidence=site.evidence())
                if finding is not None:
                    yield finding
