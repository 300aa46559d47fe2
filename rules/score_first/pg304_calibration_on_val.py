"""Quantization calibration or activation statistics collected from validation tokens.

What it detects
    A calibration routine, recognized by what it does (forward hooks registered with
    ``register_forward_hook``/``register_forward_pre_hook``, or a Gram ``X^T X`` accumulation: GPTQ
    Hessians, activation ranges), that is fed validation-derived data: called with val tokens, or
    reading the validation shards itself.
Why it breaks the metric
    C3-d: the quantized artifact then depends on validation tokens that have not been scored; "not
    allowed to calibrate on eval tokens you haven't already scored".
Example
    hessians = collect_hessians(model, val_tokens[:calib_tokens])
    quantized = gptq_quantize(model, hessians)
Legal alternative
    Calibrate on training data inside the training budget, on sequences the model generates itself,
    or data-free (see GPTQ-CALIB).
How it is confirmed
    score-before-update (statistics collection counts as a state update).
Ruling
    Maintainer ruling on PR #728.
Known gaps
    A validation source chosen by a default-off setting (``val_files if CALIB == "val" else
    train_files``) is reported as REVIEW; an inline calibration in an entry function is reported once.
    Calibration on validation tokens that were already scored (after the final evaluation) would also be
    reported; no such submission is known.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import Kind, build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class CalibrationOnVal(Rule):
    code = "PG304"
    name = "calibration-on-val"
    rule_id = "C3-d"
    family = "C3-SCORE-FIRST"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #728",)
    ruling_url = "https://github.com/openai/parameter-golf/pull/728"
    probes = ("score-before-update",)
    hint = "Calibrate on training data inside the training budget, or on self-generated sequences."

    VALID = [
        Valid(
            """
            import torch

            def collect(model, batches):
                stats = {}
                def hook(mod, inp, out):
                    x = inp[0].flatten(0, 1)
                    stats[mod] = stats.get(mod, 0) + x.T @ x
                handles = [m.register_forward_hook(hook) for m in model.modules()]
                with torch.no_grad():
                    for x in batches:
                        model(x)
                return stats

            def main(model, stream):
                loader = stream("data/fineweb_train_*.bin")
                return collect(model, [loader.next_batch() for _ in range(8)])
            """,
            note="legal look-alike: GPTQ Hessians from training data",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import os
            import torch

            SOURCE = os.environ.get("CALIB_SOURCE", "train")

            def collect(model, loader):
                stats = {}
                def hook(mod, inp, out):
                    stats[mod] = stats.get(mod, 0) + inp[0].T @ inp[0]
                for m in model.modules():
                    m.register_forward_hook(hook)
                with torch.no_grad():
                    for _ in range(16):
                        model(loader.next_batch()[0])
                return stats

            def main(model, stream):
                loader = stream("data/fineweb_val_*.bin" if SOURCE == "val" else "data/fineweb_train_*.bin")
                return collect(model, loader)
            """,
            lines=19,
            level=Level.REVIEW,
            note="validation calibration selected only by a non-default setting",
        ),
        Invalid(
            """
            import numpy as np
            import torch

            def collect(model, batches):
                stats = {}
                def hook(mod, inp, out):
                    x = inp[0].flatten(0, 1)
                    stats[mod] = stats.get(mod, 0) + x.T @ x
                handles = [m.register_forward_hook(hook) for m in model.modules()]
                with torch.no_grad():
                    for x in batches:
                        model(x)
                return stats

            def main(model):
                val = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                return collect(model, val[: 64 * 2048].view(64, 2048))
            """,
            lines=17,
            note="Hessians from unscored validation tokens",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        ev = a.fact(build_events)
        for fn, events in ev.by_fn.items():
            sites = [e for e in events if e.kind is Kind.CALL and e.val and any(ev.summary(c).calib for c in e.callees)]
            entry = fn is not None and "." not in fn.qualname and not ev.callers_of(fn)
            if not sites and entry and ev.summary(fn).calib_val:
                # inline calibration in an entry function that feeds it validation data
                sites = [e for e in events if e.kind is Kind.CALIB][:1]
            for site in sites:
                message = "quantization calibration statistics collected from validation tokens"
                level = None
                if site.kind is Kind.CALL and not ev.val_by_default(site):
                    level = Level.REVIEW
                    message += " (the validation source is selected only by a non-default setting)"
                evidence = [a.source.excerpt(site.line).strip()]
                finding = self.report(a, site.node, message, evidence=evidence, level=level)
                if finding is not None:
                    yield finding
