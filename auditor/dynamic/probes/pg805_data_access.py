"""Data access: training shards are read only before the artifact is written.

What it measures
    Every read of a ``fineweb_train_*`` shard (through ``open``, ``np.fromfile`` or ``np.memmap``) with
    its time and code line, against the first write of the model artifact.
How it decides
    FAIL when a training shard is read after the artifact was written: evaluation-time prefill,
    calibration or caches built from training data outside the training budget. Reads between the
    last training step and the artifact (calibration on training data, e.g. GPTQ) are PASS with a note:
    the time budget itself cannot be judged on a CPU.
Why it matters
    NO-TRAIN-DATA-AT-EVAL (README; ruling on PR #609). Val data inside training is measured by the
    score-before-update probe (PG801, rule NO-VAL-IN-TRAIN).
Outcomes
    INCONCLUSIVE when the run wrote no artifact before it ended.
Known gaps
    A background prefetch thread that reads the next shard as training stops is indistinguishable
    from an evaluation-time read when it lands after the artifact write.
"""

from __future__ import annotations

import os

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe
from auditor.findings import Finding, Level, Status


def is_train_shard(path: str) -> bool:
    name = os.path.basename(path)
    return name.startswith("fineweb_train_") and name.endswith(".bin")


class DataAccess(Probe):
    code = "PG805"
    scope = "run"
    name = "data-access"
    rule_id = "NO-TRAIN-DATA-AT-EVAL"
    family = "DATA-ACCESS"
    status = Status.README
    level = Level.FAIL
    rulings = ("README", "ruling on PR #609")
    ruling_url = "https://github.com/openai/parameter-golf/pull/609"
    probes = ("data-access",)
    hint = "Finish every read of training data (calibration, tables) inside the training budget, before export."

    def run(self, ctx: Context) -> list[Finding]:
        reads = [e for e in ctx.view.of("READ") if is_train_shard(e["path"])]
        writes = ctx.view.artifact_writes(ctx.base.written)
        if not writes:
            reason = "the run wrote no model artifact" + (f" ({ctx.blocked})" if ctx.blocked else "")
            return self.inconclusive(ctx, reason)
        first_write = writes[0]
        late = [e for e in reads if e["i"] > first_write["i"]]
        if late:
            e = late[0]
            return [self.result(ctx, "FAIL", e["line"], f"training shard {os.path.basename(e['path'])} read after the artifact "
                                f"was written", [f"tape event #{e['i']} read at line {e['line']} (called from {e.get('outer', [])}); "
                                                 f"artifact {first_write['path'].split('/work/', 1)[-1]} written at event "
                                                 f"#{first_write['i']} (line {first_write['line']})",
                                                 f"{len(late)} late read(s) in all"],
                                data={"event": e["i"]})]
        calib = [e for e in reads if e["i"] > max((s["i"] for s in ctx.view.of("STEP") if not s["pos"]), default=-1)]
        note = f"; {len(calib)} read(s) after the last training step (calibration before export)" if calib else ""
        return [self.result(ctx, "PASS", first_write["line"], f"{len(reads)} training-shard read(s), all before the artifact "
                            f"write{note}")]
