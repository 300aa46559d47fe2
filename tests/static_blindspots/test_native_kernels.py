"""Record folders written by us whose decisive code is a C kernel the script compiles and loads
with ctypes: the kernel is parsed (tree-sitter) and its channels judged under the configuration
the Python side passes. Every eval-integrity finding must be exactly the expected one."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.analysis import Analysis, native
from auditor.engine import AuditOptions, audit
from auditor.findings import Provenance
from auditor.source import SourceFile

FIXTURES = Path(__file__).parent / "fixtures"
INTEGRITY = ("C1", "C2", "C3", "C4", "SLOT")

EXPECTED = {
    # slot pos of word_ok/word_prob written only when word_start_lut[toks[pos]] allows it (line 23)
    "native_word_gate": {("PG106", "hint_kernel.c", 23, "FAIL")},
    # byte-identical kernel; the threshold default 99.0 is never reached by a probability, but only the
    # code's default says so: gated like any default-off path
    "native_word_gate_off": {("PG106", "hint_kernel.c", 23, "REVIEW")},
    # the same folder whose README runs it with WORD_TAU=99.0: the channel is dead, nothing reported
    "native_word_gate_off_stated": set(),
    # the same kernel off only because the README's run command sets WORD_TAU=99.0: unsafe default
    "native_word_gate_run_off": {("PG106", "hint_kernel.c", 23, "WARN")},
    # legal look-alike: the gate reads toks[pos - 1]
    "native_prev_gate": set(),
    # threshold default 99, but the log that produced the headline counts word_gate=1843210: it fired
    "native_word_gate_counter_live": {("PG106", "hint_kernel.c", 23, "FAIL")},
    # live by default, but the run's log counts word_gate=0: off in the scored run, unsafe default
    "native_word_gate_counter_zero": {("PG106", "hint_kernel.c", 23, "WARN")},
    # prefix-gated kernel that counts (prev, cur) before writing the slots of pos (C3-e)
    "native_early_update": {("PG307", "hint_kernel.c", 22, "FAIL")},
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_native_fixture(case: str) -> None:
    result = audit(FIXTURES / case, AuditOptions(dynamic=False))
    assert result.error is None
    got = {(f.code, Path(f.path).name, f.line, f.level.name) for f in result.findings if f.rule.startswith(INTEGRITY)}
    assert got == EXPECTED[case]


def test_entry_point_is_named() -> None:
    result = audit(FIXTURES / "native_word_gate", AuditOptions(dynamic=False))
    (finding,) = [f for f in result.findings if f.code == "PG106"]
    assert finding.data["entry"]["line"] == 28 and finding.data["entry"]["path"].endswith("train_gpt.py")
    assert any("word_start_lut[cur] (cur = toks[pos])" in e for e in finding.evidence)


def test_counter_evidence_is_named() -> None:
    result = audit(FIXTURES / "native_word_gate_counter_live", AuditOptions(dynamic=False))
    (finding,) = [f for f in result.findings if f.code == "PG106"]
    assert "live: the log shows word_gate=1.84321e+06" in finding.evidence


def test_kernel_file_alone_is_audited_as_its_folders_helper() -> None:
    result = audit(FIXTURES / "native_word_gate" / "hint_kernel.c", AuditOptions(dynamic=False))
    assert result.error is None and result.extra["helper_of"].endswith("train_gpt.py")
    assert {(f.code, f.line) for f in result.findings} == {("PG106", 23)}


def test_kernel_facts() -> None:
    path = FIXTURES / "native_word_gate" / "train_gpt.py"
    a = Analysis(SourceFile(str(path), path.read_text(), "0" * 64, Provenance(str(path))))
    facts = a.fact(native.build)
    assert facts.functions["hint_pass"][0] == "toks"
    (gate,) = facts.gates
    assert (gate.token_array, gate.index, gate.line) == ("toks", "pos", 23)
    assert gate.outputs == ("word_ok", "word_prob") and gate.output_positions == (6, 5)
    # the table update (bump with the token at pos) comes after every slot of the iteration is written
    assert facts.early_updates == []


def test_early_update_is_a_fact() -> None:
    kernel = """
void pass(const int *tok, int n, int *table, int *hint) {
    for (int i = 1; i < n; ++i) {
        table[tok[i]] += 1;
        hint[i] = table[tok[i - 1]];
    }
}
"""
    text = f'from torch.utils.cpp_extension import load_inline\nSRC = """{kernel}"""\n' \
           'ext = load_inline(name="k", cpp_sources=SRC, functions=["pass"])\n'
    a = Analysis(SourceFile("case.py", text, "0" * 64, Provenance("case.py")))
    (early,) = a.fact(native.build).early_updates
    assert (early.line, early.output, early.emission_line) == (5, "hint", 6)
