"""Training shards are read after the training loop (at evaluation) without a time reserve.

What it detects
    Code that runs after the last training loop (in the same function or, through calls, in the
    caller that runs the phases) and reads the training shards directly or through a local loader or
    helper, outside quantization calibration (see PG403): eval-time cache prefill, n-gram tables built
    from training data at evaluation, a loader re-created for the evaluator. The read is legal when the
    training loop stops early through a reserve (a setting subtracted from the wall-clock cap).
Why it breaks the metric
    NO-TRAIN-DATA-AT-EVAL: evaluation may not use training data unless it is paid for inside the 16 MB
    artifact; any step that reads training data must finish inside the 600 s training budget.
Example
    train(...)                                    # runs to the wall-clock cap
    cache = build_ngram_cache(glob("fineweb_train_*.bin"))
    eval_val(model, val_tokens, cache=cache)
Legal alternative
    Build the statistics during training (inside the 600 s), store them in the artifact and count them
    in the 16 MB; or reserve time for the step before the cap.
How it is confirmed
    data-access (the sandbox records train-shard reads after the training loop).
Ruling
    README FAQ; valerio-oai's ruling on PR #609.
Known gaps
    Whether a reserve is long enough is a log question (TIME-TRAIN); statically any reserve clears the
    finding.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import Event, Events, Kind, build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


def train_reads_after_loop(ev: Events) -> tuple[list[Event], list[Event]]:
    """Post-training events that read training data: (calibration sites, other reads)."""
    calib: list[Event] = []
    other: list[Event] = []
    feeds: list[Event] = []  # every calibration call, whatever its source
    for e in ev.after_training:
        if e.kind is Kind.CALL:
            sums = [ev.summary(c) for c in e.callees]
            if any(s.calib for s in sums):
                feeds.append(e)
            if any(s.calib for s in sums) and (e.train or any(s.calib_train for s in sums)):
                if not (e.val and ev.val_by_default(e)):  # calibrating on val by default is PG304
                    calib.append(e)
            elif any(s.reads_train for s in sums) or (e.train and any(s.calib for s in sums)):
                other.append(e)
        elif e.kind is Kind.READ and e.train:
            other.append(e)
        elif e.kind is Kind.CALIB and e.train:
            calib.append(e)
    # a loader built only to feed a calibration call is that calibration's read, reported once (PG403)
    fed = {n.id for c in feeds for n in ast.walk(c.node) if isinstance(n, ast.Name)}
    other = [e for e in other if not (isinstance(e.node, ast.Assign) and _targets(e.node) <= fed)]
    return calib, other


def _targets(stmt: ast.Assign) -> set[str]:
    return {n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)}


class TrainDataAtEval(Rule):
    code = "PG402"
    name = "train-data-at-eval"
    rule_id = "NO-TRAIN-DATA-AT-EVAL"
    family = "NO-TRAIN-DATA-AT-EVAL"
    status = Status.README
    level = Level.FAIL
    rulings = ("README FAQ", "ruling on PR #609")
    ruling_url = "https://github.com/openai/parameter-golf/pull/609"
    probes = ("data-access",)
    hint = "Read training data only inside the training budget (stop the loop early with a reserve)."

    VALID = [
        Valid(
            """
            import os
            import time
            import torch
            import torch.nn.functional as F

            CAP = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
            RESERVE = float(os.environ.get("PREFILL_RESERVE_SECONDS", "20"))

            def main(model, stream, build_table):
                loader = stream("data/fineweb_train_*.bin")
                opt = torch.optim.AdamW(model.parameters())
                t0 = time.time()
                limit = CAP - RESERVE
                while time.time() - t0 < limit:
                    x, y = loader.next_batch()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()
                return build_table(stream("data/fineweb_train_*.bin"))
            """,
            note="legal look-alike: the loop stops early through a reserve",
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

            def main(model, stream, build_table):
                loader = stream("data/fineweb_train_*.bin")
                opt = torch.optim.AdamW(model.parameters())
                t0 = time.time()
                while time.time() - t0 < CAP:
                    x, y = loader.next_batch()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()
                return build_table(stream("data/fineweb_train_*.bin"))
            """,
            lines=16,
            note="training shards read after the loop ran to the cap",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        ev = a.fact(build_events)
        if ev.reserve is not None:
            return
        _, reads = train_reads_after_loop(ev)
        for e in reads:
            message = "training data read after the training loop, outside the training budget"
            finding = self.report(a, e.node, message, evidence=[a.source.excerpt(e.line).strip()])
            if finding is not None:
                yield finding
