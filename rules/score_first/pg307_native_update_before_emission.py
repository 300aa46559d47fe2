"""A C/C++ kernel updates its tables with the token at i before it writes slot i (update-then-query in native code).

What it detects
    In a kernel the script loads (``ctypes`` on a compiled ``.c``, ``torch.utils.cpp_extension``), a
    loop over positions ``i`` updates a table keyed or valued by ``tokens[i]`` — a write through a
    table (``counts[tok] += 1``) or a call to a function of the file that writes through a pointer
    parameter — and only afterwards writes an output slot ``out[i]`` of the same iteration, while the
    Python side consumes that output. The finding points at the kernel's update line; the evidence
    names the slot and the Python call that reaches the kernel (``auditor/analysis/native.py``).
Why it breaks the metric
    C3-e: the table already contains x_i when the prediction for i is read from it, so the token
    influences its own prediction.
Example
    for (int64_t i = 1; i < n; ++i) {
        counts[tokens[i]] += 1;
        hint[i] = counts[tokens[i - 1]];
    }
Legal alternative
    Write every output slot of position i first, then update the tables with token i (the order a
    score-first online cache uses).
How it is confirmed
    flip-test.
Ruling
    Maintainer ruling (C3); Issue #1017 condition 3; RULEBOOK C3-e.
Known gaps
    Only ``for`` loops with a plain index are modelled; an update hidden behind a function pointer, or
    made through a global table not passed as a parameter, is not seen. A slot written after the update
    but from state the update did not touch is still reported (the kernel is read by order, not by
    which table each read uses).
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, native, scoring
from auditor.analysis.channels import base_name, channel_state
from auditor.findings import Finding, Level, Provenance, Status
from auditor.rule import Invalid, Rule, Valid


def _case(body: str) -> str:
    return f'''
import numpy as np
from torch.utils.cpp_extension import load_inline

SRC = """
#include <cstdint>
void hints(const int64_t *tokens, int64_t n, int64_t *counts, int64_t *hint) {{
    for (int64_t i = 1; i < n; ++i) {{
{body}
    }}
}}
"""
ext = load_inline(name="hints", cpp_sources=SRC, functions=["hints"])

def build(tokens):
    counts = np.zeros(1 << 16, dtype=np.int64)
    hint = np.zeros(len(tokens), dtype=np.int64)
    ext.hints(tokens, len(tokens), counts, hint)
    return hint
'''


class NativeUpdateBeforeEmission(Rule):
    code = "PG307"
    name = "native-update-before-emission"
    rule_id = "C3-e"
    family = "C3-SCORE-FIRST"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("Issue #1017 (C3)",)
    ruling_url = "https://github.com/openai/parameter-golf/issues/1017"
    probes = ("flip-test",)
    hint = "Write slot i from the tables first; update them with tokens[i] afterwards."

    VALID = [
        Valid(_case("        hint[i] = counts[tokens[i - 1]];\n        counts[tokens[i]] += 1;"),
              note="legal look-alike: slot i is written before the table learns token i"),
    ]
    INVALID = [
        Invalid(_case("        counts[tokens[i]] += 1;\n        hint[i] = counts[tokens[i - 1]];"),
                lines=8, note="the table is updated with token i before slot i is written"),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        facts = a.fact(native.build)
        for early in facts.early_updates:
            params = facts.functions.get(early.function, [])
            if early.output not in params:
                continue
            position = params.index(early.output)
            for call in facts.entry_calls(a, early.function):
                name = base_name(call.args[position]) if position < len(call.args) else None
                state = channel_state(a, a.owner(call), {name}) if name is not None else None
                if state is not None and state.off and state.established and not state.by_run_configuration:
                    continue  # the slot's channel is dead under the configuration
                message = (f"kernel `{early.function}` updates a table with the token at the scored position "
                           f"(`{early.update}`) before it writes slot `{early.output}` (line {early.emission_line})")
                notes = [f"reached from {a.source.path.rsplit('/', 1)[-1]}:{call.lineno} ({early.function})"]
                finding = scoring.report(self, a, call, message, evidence=notes)
                if finding is None:
                    continue
                finding.path, finding.line, finding.end_line = early.path, early.line, None
                finding.provenance = Provenance(early.path)
                finding.data["entry"] = {"path": a.source.path, "line": call.lineno}
                yield finding
                break
