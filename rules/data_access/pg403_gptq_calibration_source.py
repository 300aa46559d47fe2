"""Quantization calibration reads training data after the training loop ran to the wall-clock cap.

What it detects
    A calibration routine (forward hooks / ``X^T X`` accumulation, see PG304) that runs after the last
    training loop and is fed training-shard data, when the loop's wall-clock cap is not reduced by a
    reserve setting. Calibration on validation data is PG304; data-free calibration and sequences the
    model generates itself are not reported.
Why it breaks the metric
    GPTQ-CALIB / TIME-TRAIN: Hessian collection over the training loader is a data-touching step and
    belongs inside the 600 s training budget.
Example
    while elapsed < cap: train_step()
    hessians = collect_hessians(model, train_loader, n_batches=256)   # after the cap
Legal alternative
    Stop training early by a reserve (``GPTQ_RESERVE_SECONDS``) so calibration finishes before 600 s,
    or calibrate on self-generated sequences.
How it is confirmed
    data-access (train-shard reads after the training loop), with the log timeline (``stopping_early``,
    ``gptq:reserving``).
Ruling
    Maintainer ruling on PR #609 (calibration after the cap); merged-record practice for the reserve.
Known gaps
    The reserve is recognized structurally (a setting subtracted from the cap the loop compares against);
    whether it is long enough is a log question.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid
from rules.data_access.pg402_train_data_at_eval import train_reads_after_loop


class GPTQCalibrationSource(Rule):
    code = "PG403"
    name = "gptq-calibration-source"
    rule_id = "GPTQ-CALIB"
    family = "GPTQ-CALIB"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #609", "ruling on PR #728")
    ruling_url = "https://github.com/openai/parameter-golf/pull/609"
    probes = ("data-access",)
    hint = "Reserve time before the cap for calibration (GPTQ_RESERVE_SECONDS) or use self-generated data."

    VALID = [
        Valid(
            """
            import os
            import time
            import torch
            import torch.nn.functional as F

            CAP = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
            RESERVE = float(os.environ.get("GPTQ_RESERVE_SECONDS", "12"))

            def collect(model, loader):
                stats = {}
                def hook(mod, inp, out):
                    stats[mod] = stats.get(mod, 0) + inp[0].T @ inp[0]
                for m in model.modules():
                    m.register_forward_hook(hook)
                with torch.no_grad():
                    for _ in range(64):
                        model(loader.next_batch()[0])
                return stats

            def main(model, stream):
                loader = stream("data/fineweb_train_*.bin")
                opt = torch.optim.AdamW(model.parameters())
                cap = CAP
                cap -= RESERVE
                t0 = time.time()
                while time.time() - t0 < cap:
                    x, y = loader.next_batch()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()
                return collect(model, loader)
            """,
            note="legal look-alike: GPTQ on training data inside the budget (reserve)",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import os
            import time
            import torch
            import torch.nn.functional as F

            CAP = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))

            def collect(model, loader):
                stats = {}
                def hook(mod, inp, out):
                    stats[mod] = stats.get(mod, 0) + inp[0].T @ inp[0]
                for m in model.modules():
                    m.register_forward_hook(hook)
                with torch.no_grad():
                    for _ in range(64):
                        model(loader.next_batch()[0])
                return stats

            def main(model, stream):
                loader = stream("data/fineweb_train_*.bin")
                opt = torch.optim.AdamW(model.parameters())
                t0 = time.time()
                while time.time() - t0 < CAP:
                    x, y = loader.next_batch()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()
                return collect(model, loader)
            """,
            lines=27,
            note="Hessians from the training loader after the loop ran to the cap",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        ev = a.fact(build_events)
        if ev.reserve is not None:
            return
        calib, _ = train_reads_after_loop(ev)
        for e in calib:
            message = "calibration reads training data after the training loop reached the wall-clock cap"
            finding = self.report(a, e.node, message, evidence=[a.source.excerpt(e.line).strip()])
            if finding is not None:
                yield finding
