"""Network: no network access and no downloading subprocess during the run.

What it measures
    Socket connections, name lookups, HTTP clients (Python audit events, refused inside the sandbox,
    which also runs in a network namespace with no interface) and subprocesses (``curl``, ``wget``,
    ``pip`` and the like), each with its code line.
How it decides
    FAIL on any network attempt or downloading subprocess; PASS otherwise. Other subprocesses
    (``nvidia-smi``, compilers for shipped sources) are listed in the PASS message.
Why it matters
    NO-NETWORK (README: no downloads or network calls during evaluation) and C1-e.
Outcomes
    Never INCONCLUSIVE: attempts made before a crash are still on the tape.
Known gaps
    Attempts from compiled extensions that bypass Python's audit events fail silently in the network
    namespace and are not attributed to a line.
"""

from __future__ import annotations

import re

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe
from auditor.findings import Finding, Level, Status

_DOWNLOADERS = re.compile(r"\b(curl|wget|pip3?|huggingface-cli|git|aria2c|scp|rsync|nc|ssh)\b")


class Network(Probe):
    code = "PG806"
    scope = "run"
    name = "network"
    rule_id = "NO-NETWORK"
    family = "DATA-ACCESS"
    status = Status.README
    level = Level.FAIL
    rulings = ("README",)
    ruling_url = "https://github.com/openai/parameter-golf#faq"
    probes = ("network",)
    hint = "Ship everything the evaluation needs inside the artifact; never download at run time."

    def run(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for e in ctx.view.of("NET"):
            out.append(self.result(ctx, "FAIL", e["line"], f"network access attempted ({e['what']})",
                                   [f"tape event #{e['i']} at line {e['line']}: {e['what']} {e['target']} (refused)"]))
        subs = ctx.view.of("SUBPROC")
        for e in subs:
            if _DOWNLOADERS.search(e["argv"]):
                out.append(self.result(ctx, "FAIL", e["line"], "a downloading subprocess was started",
                                       [f"tape event #{e['i']} at line {e['line']}: {e['argv']}"]))
        if out:
            return out[:5]
        listed = "; ".join(sorted({e["argv"][:80] for e in subs})) or "none"
        return [self.result(ctx, "PASS", ctx.headline_line(), f"no network attempt; subprocesses: {listed}")]
