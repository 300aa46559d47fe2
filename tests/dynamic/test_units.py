"""Fast unit tests of the dynamic stage's pure parts (no sandboxed run)."""

from __future__ import annotations

import numpy as np
import pytest

from auditor.analysis.config import EnvSetting
from auditor.dynamic.merge import merge
from auditor.dynamic.probes.base import Probe
from auditor.dynamic.runner import probe_classes, runnable_text
from auditor.dynamic.scores import collect
from auditor.dynamic.shims.valindex import ValIndex, random_stream
from auditor.dynamic.tape import Pass, Reported, TapeView
from auditor.dynamic.tinyconfig import derive
from auditor.findings import Confidence, Finding, Level, Source


def test_val_index_maps_contiguous_and_stitched_windows_back_to_positions() -> None:
    s = random_stream(384, 4097, 1, 4, 0, (40, 200))
    ix = ValIndex(s)
    batch = s[1:513].reshape(4, 128)
    assert (ix.positions(batch) == np.arange(1, 513).reshape(4, 128)).all()
    stitched = np.concatenate([s[10:30], s[100:104], s[5:9]])
    assert ix.positions(stitched).tolist() == [*range(10, 30), *range(100, 104), *range(5, 9)]
    assert ix.positions(np.array([-100, *s[50:60], 0, 0, 0])).tolist() == [-1, *range(50, 60), -1, -1, -1]
    with pytest.raises(ValueError):
        ValIndex(np.array([5, 6, 7, 8, 5, 6, 7, 8]))


def _setting(env: str, default: object) -> EnvSetting:
    return EnvSetting(env.lower(), env, default, 1)


def test_tiny_config_shrinks_sizes_keeps_flags_and_layer_indices() -> None:
    cfg = derive([_setting("NUM_LAYERS", 11), _setting("LOOP_END", 5), _setting("MODEL_DIM", 512), _setting("NUM_HEADS", 8),
                  _setting("TRAIN_SEQ_LEN", 2048), _setting("TTT_ENABLED", True), _setting("TTT_EPOCHS", 3),
                  _setting("VOCAB_SIZE", 8192), _setting("TRAIN_BATCH_TOKENS", 786432), _setting("MATRIX_LR", 0.02)], 384)
    assert cfg.env == {"NUM_LAYERS": "6", "MODEL_DIM": "128", "TRAIN_SEQ_LEN": "128", "TTT_EPOCHS": "2",
                       "VOCAB_SIZE": "384", "TRAIN_BATCH_TOKENS": "1024"}


def _score(i: int, pos: list[int], nll: list[float], grad: bool = False) -> dict:
    return {"i": i, "kind": "SCORE", "line": 10 + i, "pos": pos, "nll": nll, "grad": grad}


def test_scores_reconcile_by_value_first_last_min_and_all() -> None:
    events = [_score(1, [1, 2], [1.0, 3.0]), _score(2, [1, 2], [2.0, 1.0])]
    p = Pass(0, 3, events)

    def rep(loss: float) -> Reported:
        return Reported("x", 3, loss, 1.0, 8, 8)

    assert collect(p, rep(2.0)).selection == "first"
    assert collect(p, rep(1.5)).selection == "last"
    assert collect(p, rep(1.0)).selection == "min"
    assert collect(p, rep(1.75)).selection == "all"
    unreconciled = collect(p, rep(9.0))
    assert unreconciled.selection is None and "do not sum" in unreconciled.reason


def test_headline_pass_skips_reprinted_lines() -> None:
    tape = [_score(0, [1], [1.0]), {"i": 1, "kind": "LOG", "text": "final val_loss:1.0000 val_bpb:2.0000", "line": 5},
            {"i": 2, "kind": "LOG", "text": "final_exact val_loss:1.00000000 val_bpb:2.00000000", "line": 6}]
    view = TapeView(tape)
    assert view.reported().val_loss == 1.0 and view.reported().bpb_decimals == 8
    assert [e["i"] for e in view.headline_pass().events] == [0]


def test_runnable_text_reports_unrunnable_syntax() -> None:
    assert runnable_text("x = 1\n") == ("x = 1\n", "")
    text, why = runnable_text("def (:\n")
    assert text is None and "syntax" in why


def test_every_probe_is_documented_with_a_unique_pg8_code() -> None:
    sections = ("What it measures", "How it decides", "Why it matters", "Outcomes", "Known gaps")
    probes = probe_classes()
    codes = [p.code for p in probes]
    assert codes == sorted(set(codes)) and all(c.startswith("PG8") for c in codes) and len(codes) == 11
    for p in probes:
        assert issubclass(p, Probe) and all(s in p.doc() for s in sections), p.code


def _finding(code: str, rule: str, level: Level, source: Source, outcome: str | None = None, msg: str = "m") -> Finding:
    data = {"outcome": outcome, "probe": {"PG802": "flip-test", "PG803": "vocab-sweep"}.get(code, "")} if outcome else {}
    return Finding(code, rule, level, source, "x.py", 3, msg, [], Confidence.MEDIUM, data=data)


def test_merge_confirms_clears_and_leaves_inconclusive_leads() -> None:
    lead_c1 = _finding("PG199", "C1-a", Level.FAIL, Source.STATIC)
    lead_c2 = _finding("PG299", "C2-a", Level.FAIL, Source.STATIC)
    gated = _finding("PG198", "C1-a", Level.REVIEW, Source.STATIC, msg="cache (live only when NGRAM=1)")
    gated.data["gate"] = "NGRAM"
    dynamic = [_finding("PG802", "C1-CAUSAL", Level.FAIL, Source.DYNAMIC, "FAIL"),
               _finding("PG803", "C2-NORMALIZED", Level.INFO, Source.DYNAMIC, "PASS")]
    merge([lead_c1, lead_c2, gated], dynamic)
    assert (lead_c1.level, lead_c1.confidence, lead_c1.data["dynamic"]) == (Level.FAIL, Confidence.HIGH, "confirmed")
    assert (lead_c2.level, lead_c2.confidence, lead_c2.data["dynamic"]) == (Level.REVIEW, Confidence.LOW, "cleared")
    # the sandbox ran with NGRAM off: the FAIL came from another path and says nothing of this one
    assert (gated.level, gated.confidence, gated.data["dynamic"]) == (Level.REVIEW, Confidence.MEDIUM, "not-run")
