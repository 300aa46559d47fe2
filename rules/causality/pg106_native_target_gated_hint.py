"""A C/C++ kernel decides whether slot i gets a hint from the token at i (target-gated hint in native code).

What it detects
    A kernel the script loads (``ctypes`` on a compiled ``.c``, ``torch.utils.cpp_extension.load`` or
    ``load_inline``) loops over positions ``i`` of a token array and writes an output slot ``out[i]``
    only under a condition that reads ``tokens[i]`` — directly, through a local computed from it, or
    through a LUT indexed by it (``boundary_lut[tok]``) — while the Python side consumes that output
    channel. The finding points at the kernel's condition; the evidence names the Python call that
    reaches the kernel. The kernel is parsed with tree-sitter (``auditor/analysis/native.py``).
Why it breaks the metric
    C1-b: ``tokens[i]`` is the token being predicted at i. Whether position i is tilted then depends
    on x_i, even when each tilt is normalized.
Example
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t tok = tokens[i];
        if (!boundary_lut[tok]) { within_valid[i] = 1; ... }
    }
Legal alternative
    Gate on ``tokens[i-1]`` or on state built from earlier tokens, and write slot i before updating
    the tables with token i. A byte-identical kernel is legal when the configuration the Python side
    passes switches the channel off: a threshold no probability reaches (``WITHIN_TAU=99``), a mask
    replaced by zeros when the channel's boost is 0. Those channels are judged dead and not reported;
    when only the run's configuration (not the code's defaults) switches them off, a WARN says the
    defaults are unsafe to reproduce.
How it is confirmed
    flip-test; the channel's gate counters in the log that produced the headline (``within_gate``).
Ruling
    cocohearts 2026-05-02 (ruling on PR #2041) on target-gated tilt channels; RULEBOOK C1-b.
Known gaps
    Only ``for`` loops with a plain index and pointer parameters are modelled; a gate computed in a
    called C function, or read through a struct field that caches ``tokens[i]``, is not seen. The
    channel is followed in the Python file that makes the call (returned tuples, arguments, re-binds).
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, native, scoring
from auditor.analysis.channels import base_name, channel_state
from auditor.findings import Finding, Level, Provenance, Status
from auditor.rule import Invalid, Rule, Valid
from rules.causality import channel_level

_KERNEL = '''
#include <cstdint>
void hints(const int64_t *tokens, int64_t n, const uint8_t *word_start, const int64_t *table,
           int64_t *hint, float *hint_prob) {
    for (int64_t i = 1; i < n; ++i) {
        const int64_t tok = tokens[i];
        if (word_start[tok]) {
            hint[i] = table[tokens[i - 1]];
            hint_prob[i] = 0.5f;
        }
    }
}
'''


def _case(tau: str, kernel: str = _KERNEL, env: bool = True) -> str:
    setting = f'float(os.environ.get("WORD_TAU", "{tau}"))' if env else tau
    return f'''
import os
import numpy as np
from torch.utils.cpp_extension import load_inline

WORD_TAU = {setting}
SRC = """{kernel}"""
ext = load_inline(name="hints", cpp_sources=SRC, functions=["hints"])

def build(tokens, word_start, table):
    hint = np.zeros(len(tokens), dtype=np.int64)
    hint_prob = np.zeros(len(tokens), dtype=np.float32)
    ext.hints(tokens, len(tokens), word_start, table, hint, hint_prob)
    word_gate = hint_prob >= np.float32(WORD_TAU)
    return hint, word_gate
'''


class NativeTargetGatedHint(Rule):
    code = "PG106"
    name = "native-target-gated-hint"
    rule_id = "C1-b"
    family = "C1-CAUSAL"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #2041 (cocohearts, 2026-05-02)",)
    ruling_url = "https://github.com/openai/parameter-golf/pull/2041"
    probes = ("flip-test",)
    hint = "Gate the kernel's slot i on tokens[i-1] or earlier state, never on tokens[i]."

    VALID = [
        Valid(_case("0.65", _KERNEL.replace("const int64_t tok = tokens[i];", "const int64_t tok = tokens[i - 1];")),
              note="the kernel gates on the previous token"),
        Valid(_case("99.0", env=False),
              note="legal look-alike: the same kernel, its channel's threshold is 99 on a probability"),
    ]
    INVALID = [
        Invalid(_case("0.65"), lines=12, note="slot i written only when the token at i starts a word"),
        Invalid(_case("99.0"), lines=12, level=Level.REVIEW,
                note="threshold 99 only by the code's default: gated until a README or log states the run's value"),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        facts = a.fact(native.build)
        for gate in facts.gates:
            for call in facts.entry_calls(a, gate.function):
                finding = self._judge(a, gate, call)
                if finding is not None:
                    yield finding
                    break

    def _judge(self, a: Analysis, gate: native.TargetGate, call) -> Finding | None:
        names = {n for pos in gate.output_positions if pos < len(call.args)
                 if (n := base_name(call.args[pos])) is not None}
        state = channel_state(a, a.owner(call), names) if names else None
        entry = f"reached from {_short(a.source.path)}:{call.lineno} ({gate.function})"
        skip, level, extra, suffix = channel_level(state)
        if skip:
            return None
        notes = [f"gate `{gate.condition}` reads {'; '.join(gate.target_reads)}",
                 f"slots written under it: {', '.join(gate.outputs)} (lines {', '.join(map(str, gate.write_lines))})",
                 entry, *extra]
        message = (f"kernel `{gate.function}` writes slot {gate.index} of {', '.join(gate.outputs)} only when "
                   f"a test on {gate.token_array}[{gate.index}] (the token being predicted) allows it{suffix}")
        finding = scoring.report(self, a, call, message, evidence=notes, level=level)
        if finding is None:
            return None
        finding.path, finding.line, finding.end_line = gate.path, gate.line, None
        finding.provenance = Provenance(gate.path)
        finding.data["entry"] = {"path": a.source.path, "line": call.lineno}
        return finding


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]
