"""Artifact accounting: the code size the run counts covers the code files that actually run.

What it measures
    The code size the script logs (``Code size: N bytes`` and similar) against the bytes of the
    script as run and of the other code files from the record folder the run opened (imported
    helpers, C/C++/CUDA sources compiled at run time).
How it decides
    FAIL when the logged count is smaller than the script itself; WARN when it covers the script but
    not the helpers the run used (tolerated in a merged record, RULEBOOK ART-CODE-COUNT); PASS when it
    covers every file that ran.
Why it matters
    ART-16MB / ART-CODE-COUNT: the artifact is code bytes plus compressed model bytes.
Outcomes
    INCONCLUSIVE when the run logs no code size.
Known gaps
    Packed scripts run decoded here; their logged size is of the decoded text, so the shipped
    wrapper's size is checked by the package stage, not by this probe.
"""

from __future__ import annotations

import os
import re

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe
from auditor.findings import Finding, Level, Status

#: ``Code size: N bytes``, ``code_bytes=N``, and ``Code size (compressed|uncompressed): N bytes``
_CODE_SIZE = re.compile(r"code[ _]?(?:size|bytes)(?:\s*\((?P<kind>compressed|uncompressed)\))?\s*[:=]\s*(?P<n>\d+)",
                        re.IGNORECASE)


class ArtifactAccounting(Probe):
    code = "PG808"
    scope = "run"
    name = "artifact-accounting"
    rule_id = "ART-CODE-COUNT"
    family = "BUDGET"
    status = Status.README
    level = Level.FAIL
    rulings = ("README",)
    ruling_url = "https://github.com/openai/parameter-golf#faq"
    probes = ("artifact-accounting",)
    hint = "Count len(code.encode()) of every code file the run uses (or keep all code in train_gpt.py)."

    def run(self, ctx: Context) -> list[Finding]:
        logged = None
        compressed = None
        line = ctx.headline_line()
        for text in ctx.base.stdout.splitlines():
            m = _CODE_SIZE.search(text)
            if m and (m.group("kind") or "").lower() == "compressed":
                compressed = int(m.group("n"))
            elif m:
                logged = int(m.group("n"))
        if logged is None and compressed is not None:
            # only the would-be-packed size is logged: accepted practice after PR #1530, nothing to compare
            return [self.result(ctx, "PASS", line, f"the run logs only its compressed code size ({compressed} bytes), "
                                "counted as the would-be-packed script (accepted after PR #1530)")]
        if logged is None:
            return self.inconclusive(ctx, "the run logs no code size")
        main = ctx.extra.get("run_code_bytes", ctx.code_bytes)
        used = {os.path.basename(e["path"]) for e in ctx.view.of("READ")} & set(ctx.helper_files)
        helpers = sum(ctx.helper_files[n] for n in used)
        evidence = [f"logged code size {logged} bytes; script as run {main} bytes; helpers used {sorted(used)} = {helpers} bytes"]
        if logged < main:
            return [self.result(ctx, "FAIL", line, f"the logged code size {logged} is smaller than the script ({main} bytes)", evidence)]
        if logged < main + helpers:
            f = self.result(ctx, "FAIL", line, f"helper files used at run time ({helpers} bytes) are not counted", evidence)
            f.level = Level.WARN
            f.message = f.message.replace("FAIL", "WARN", 1)
            return [f]
        return [self.result(ctx, "PASS", line, f"logged code size {logged} covers the {1 + len(used)} code file(s) that ran", evidence)]
