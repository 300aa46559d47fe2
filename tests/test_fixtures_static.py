"""Every static rule on whole-file fixture submissions: exact (code, line, level) for the score-first,
SLOT and data-access codes (PG30x, PG31x, PG32x, PG401-PG403).

The fixtures under ``examples/<case>.py`` are written by us in the shape of
real submissions (Hyperparameters from the environment, GPT, Muon, a wall-clock-capped training loop,
int8+zlib export, evaluation). Each illegal one differs from ``clean_baseline`` by one mechanism, so a
finding anywhere else is a false positive.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.analysis import Analysis
from auditor.findings import Provenance
from auditor.registry import all_rules
from auditor.source import SourceFile

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CODES = ("PG301", "PG302", "PG303", "PG304", "PG306", "PG310", "PG320", "PG321", "PG401", "PG402", "PG403")

EXPECTED: dict[str, set[tuple[str, int, str]]] = {
    "clean_baseline": set(),
    "legal_score_first_ttt": set(),
    "legal_lora_ttt": set(),
    # for epoch in range(args.ttt_epochs): inside ttt_adapt, called before quantization/export
    "illegal_prequant_ttt": {("PG301", 230, "FAIL"), ("PG302", 230, "FAIL")},
    # the same loop, reached only when TTT_ENABLED (default "0") is switched on
    "gated_ttt_default_off": {("PG301", 231, "REVIEW"), ("PG302", 231, "REVIEW")},
    # for epoch in range(args.adapt_epochs): inline in main() with neutral names
    "illegal_ttt_inline_main": {("PG301", 317, "FAIL")},
    # for ci in range(num_chunks): the loss of the last epoch is the chunk's score
    "illegal_multi_epoch_chunk_ttt": {("PG303", 233, "FAIL")},
    # for _ in range(args.slot_steps): delta + logit bias fitted on mask[i, s:wlen]
    "illegal_slot_scored": {("PG320", 254, "FAIL")},
    # hessians = collect_hessians(model, val_tokens, ...)
    "illegal_gptq_val_calibration": {("PG304", 326, "FAIL")},
    # other families' fixtures: legal look-alikes and unrelated violations, nothing from these codes
    "legal_bigramhash": set(),
    "legal_normalized_tilt": set(),
    "illegal_target_in_key_cache": set(),
    "illegal_unnormalized_blend": set(),
}


def _findings(case: str) -> set[tuple[str, int, str]]:
    path = EXAMPLES / f"{case}.py"
    text = path.read_text(encoding="utf-8")
    a = Analysis(SourceFile(str(path), text, "0" * 64, Provenance(str(path))))
    out: set[tuple[str, int, str]] = set()
    for rule in all_rules():
        for finding in rule().check(a):
            if finding is not None and finding.code in CODES:
                out.add((finding.code, finding.line, finding.level.name))
    return out


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_fixture_findings(case: str) -> None:
    assert _findings(case) == EXPECTED[case]


def test_fixture_lines_point_at_the_mechanism() -> None:
    """The expected lines are the loop/call that carries the violation (guards against line drift)."""
    anchors = {
        "illegal_prequant_ttt": (230, "for epoch in range(args.ttt_epochs):"),
        "illegal_ttt_inline_main": (317, "for epoch in range(args.adapt_epochs):"),
        "illegal_multi_epoch_chunk_ttt": (233, "for ci in range(num_chunks):"),
        "illegal_slot_scored": (254, "for _ in range(args.slot_steps):"),
        "illegal_gptq_val_calibration": (326, "hessians = collect_hessians(model, val_tokens,"),
    }
    for case, (line, text) in anchors.items():
        lines = (EXAMPLES / f"{case}.py").read_text(encoding="utf-8").splitlines()
        assert lines[line - 1].strip().startswith(text), case


def test_no_fixture_names_the_mechanism_in_main() -> None:
    """The inline case must be caught by data flow: no identifier in it mentions TTT."""
    import ast

    tree = ast.parse((EXAMPLES / "illegal_ttt_inline_main.py").read_text(encoding="utf-8"))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert not [n for n in names if "ttt" in n.lower()]
