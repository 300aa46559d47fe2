"""Compile warm-up runs forward/backward/step on real validation tokens and then discards the state.

What it detects
    A training site on validation-derived data whose adapted state is thrown away afterwards: the
    adapter/optimizer built for it is deleted (``del adapter, opt``), or a state snapshot taken before
    it is loaded back (``model.load_state_dict(snapshot)``).
Why it breaks the metric
    C3-f: tolerated (merged-record practice) because the state is discarded and the effect is within
    noise, but it still runs the scorer's code path on unscored validation tokens; synthetic tokens do
    the same job.
Example
    warm = Adapter(model); opt = AdamW(warm.parameters())
    loss = model(val_tokens[:2049], lora=warm); loss.backward(); opt.step()
    del warm, opt
Legal alternative
    Warm the compiled graphs up on random or training tokens.
How it is confirmed
    score-before-update (the warm-up updates must not reach any scored forward).
Ruling
    Tolerated: merged-record practice (RULEBOOK C3-f); if the warmed state is kept it is C3-a (PG301).
Known gaps
    A discard through means other than ``del`` of the adapter or reloading a snapshot (e.g. re-creating
    the adapter under the same name) is not recognized, and the site is reported as PG301.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.events import build_events
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class CompileWarmupOnVal(Rule):
    code = "PG306"
    name = "compile-warmup-on-val"
    rule_id = "C3-f"
    family = "C3-SCORE-FIRST"
    status = Status.TOLERATED
    level = Level.WARN
    rulings = ("merged-record practice",)
    probes = ("score-before-update",)
    hint = "Warm up compiled graphs on random or training tokens instead of validation tokens."

    VALID = [
        Valid(
            """
            import torch
            import torch.nn.functional as F

            def warm(model, make_adapter, vocab):
                adapter = make_adapter(model)
                opt = torch.optim.AdamW(adapter.parameters())
                x = torch.randint(0, vocab, (1, 2048))
                F.cross_entropy(model(x[:, :-1], adapter), x[:, 1:]).backward()
                opt.step()
                del adapter, opt
            """,
            note="legal look-alike: compile warm-up on synthetic tokens",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def warm(model, make_adapter):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                adapter = make_adapter(model)
                opt = torch.optim.AdamW(adapter.parameters())
                for n in (1024, 2048):
                    F.cross_entropy(model(tokens[:n], adapter), tokens[1:n + 1]).backward()
                    opt.step()
                del adapter, opt
            """,
            lines=9,
            note="throw-away adapter trained on the first validation tokens",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for site in a.fact(build_events).trainings:
            if site.verdict == "warmup":
                message = "compile warm-up trains on real validation tokens (state discarded)"
                finding = self.report(a, site.anchor, message, evidence=site.evidence())
                if finding is not None:
                    yield finding
