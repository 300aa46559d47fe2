"""Validation data reaches the training loop or the artifact.

What it detects
    - the training loop's loss (a backward + optimizer step that also consumes training-shard data)
      is computed on validation-derived data: a loader glob that also matches ``fineweb_val_*``
      shards, or validation tokens mixed into the training batches;
    - validation-derived data is serialized into the artifact (``torch.save``/compression of val
      tokens or of tables built from them).
Why it breaks the metric
    NO-VAL-IN-TRAIN: the model (or the artifact) then contains the graded tokens; training on the
    validation set or shipping it as a "paid prefix" was ruled out.
Example
    train_loader = DistributedTokenLoader(os.path.join(data_path, "fineweb_*.bin"), ...)
Legal alternative
    Train only on ``fineweb_train_*`` shards; keep validation tokens out of everything the artifact is
    built from.
How it is confirmed
    data-access (the sandbox records which shards the training loop reads).
Ruling
    README; 0hq's ruling on PR #44; ruling on PR #168 (paid prefix); Issue #2127 (shifted boundary).
Known gaps
    A train/val boundary moved by a data-preparation script (Issue #2127) is visible only in the logs'
    shard and token counts (package checks); a custom tokenizer fitted on validation text is not detected.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import Kind, build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class ValInTrain(Rule):
    code = "PG401"
    name = "val-in-train"
    rule_id = "NO-VAL-IN-TRAIN"
    family = "NO-VAL-IN-TRAIN"
    status = Status.README
    level = Level.FAIL
    rulings = ("README", "ruling on PR #44", "ruling on PR #168", "Issue #2127")
    ruling_url = "https://github.com/openai/parameter-golf/pull/44"
    probes = ("data-access",)
    hint = "Train only on fineweb_train_* shards; never store validation tokens in the artifact."

    VALID = [
        Valid(
            """
            import torch
            import torch.nn.functional as F

            def main(model, stream, evaluate):
                loader = stream("data/fineweb_train_*.bin")
                val = stream("data/fineweb_val_*.bin").all()
                opt = torch.optim.AdamW(model.parameters())
                for step in range(100):
                    x, y = loader.next_batch()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()
                    if step % 50 == 0:
                        with torch.no_grad():
                            print(evaluate(model, val))
            """,
            note="legal look-alike: periodic validation inside the training loop, no update from it",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            import torch.nn.functional as F

            def main(model, stream):
                loader = stream("data/fineweb_*.bin")
                opt = torch.optim.AdamW(model.parameters())
                for step in range(100):
                    x, y = loader.next_batch()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()
            """,
            lines=9,
            note="the training glob also matches the validation shards",
        ),
        Invalid(
            """
            import io
            import numpy as np
            import torch

            def main(model):
                val = np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16)
                buf = io.BytesIO()
                torch.save({"w": model.state_dict(), "prefix": val[:100000]}, buf)
                return buf.getvalue()
            """,
            lines=8,
            note="validation tokens stored in the artifact",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        ev = a.fact(build_events)
        for site in ev.trainings:
            if site.verdict == "val-in-train":
                message = "the training loop's loss is computed on validation-shard data"
                level = None
                if not ev.val_by_default(site.backward):
                    level = Level.REVIEW
                    message += " (the validation source is selected only by a non-default setting)"
                finding = self.report(a, site.backward.node, message, evidence=site.evidence(), level=level)
                if finding is not None:
                    yield finding
        for events in ev.by_fn.values():
            for e in events:
                if e.kind is Kind.EXPORT and e.val:
                    message = "validation-derived data is serialized into the artifact"
                    finding = self.report(a, e.node, message)
                    if finding is not None:
                        yield finding
