"""Unit tests of the dynamic stage's parts; the score tap through numpy is run end to end on two
fixtures (sandboxed, in parallel, marked slow)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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


def test_tiny_config_shrinks_the_lengths_in_a_sequence_schedule() -> None:
    schedule = EnvSetting("train_seq_schedule", "TRAIN_SEQ_SCHEDULE", "1024@0.3,2048@1.0", 4)
    assert derive([schedule, _setting("TRAIN_SEQ_LEN", 2048)], 384).env == {
        "TRAIN_SEQ_SCHEDULE": "128@0.3,128@1.0", "TRAIN_SEQ_LEN": "128"}


def _score(i: int, pos: list[int], nll: list[float], grad: bool = False) -> dict:
    return {"i": i, "kind": "SCORE", "line": 10 + i, "pos": pos, "nll": nll, "grad": grad}


def test_scores_reconcile_by_value_first_last_min_and_all() -> None:
    events = [_score(1, [1, 2], [1.0, 3.0]), _score(2, [1, 2], [2.0, 1.0])]
    p = Pass(0, 3, events)

    def rep(loss: float) -> Reported:
        return Reported("x", 3, loss, 1.0, 8, 8)

    assert collect(p, rep(2.0)).selection == "first"
    assert [a.selection for a in collect(p, rep(2.0)).alternates] == []
    assert collect(p, rep(1.5)).selection == "last"
    assert collect(p, rep(1.0)).selection == "min"
    assert collect(p, rep(1.75)).selection == "all"
    unreconciled = collect(p, rep(9.0))
    assert unreconciled.selection is None and "do not sum" in unreconciled.reason


def _acc(i: int, pos: list[int], nll: list[float]) -> dict:
    return {"i": i, "kind": "ACC", "line": 50 + i, "pos": pos, "nll": nll}


def _rep(loss: float) -> Reported:
    return Reported("x", 99, loss, 1.0, 8, 8)


def test_summed_scores_are_the_sums_that_reached_the_total_not_a_superseded_diagnostic() -> None:
    # a diagnostic pass scores and sums positions 1-2, an update follows, then the reported pass does the same
    events = [_score(0, [1, 2], [2.0, 2.0]), _acc(1, [1, 2], [2.0, 2.0]), {"i": 2, "kind": "STEP", "pos": [[1, 2]]},
              _score(3, [1, 2], [2.0, 2.0]), _acc(4, [1, 2], [2.0, 2.0])]
    s = collect(Pass(-1, 5, events), _rep(2.0))
    assert (s.selection, s.commit_event.tolist(), s.counts.tolist()) == ("summed", [3, 3], [1, 1])


def test_a_training_forward_commits_nothing_where_another_computation_exists() -> None:
    # position 1: scored under no_grad (event 0), then a training forward (event 1) that feeds a backward
    events = [_score(0, [1], [3.0]), _score(1, [1], [1.0], grad=True), {"i": 2, "kind": "BWD", "pos": [[1, 1]]},
              _score(3, [2], [1.0], grad=True), {"i": 4, "kind": "BWD", "pos": [[2, 2]]}]
    s = collect(Pass(-1, 5, events), _rep(2.0))
    # "last" no longer reaches the training forward of 1; 2 has no other computation and keeps its own
    assert (s.selection, s.commit_event.tolist()) == ("first", [0, 3])
    assert collect(Pass(-1, 5, events), _rep(1.0)).selection is None


def test_equally_good_selections_that_commit_different_computations_are_kept_as_alternates() -> None:
    events = [_score(0, [1, 2], [1.0, 3.0]), _score(1, [1, 2], [3.0, 1.0])]
    s = collect(Pass(-1, 2, events), _rep(2.0))
    assert (s.selection, [a.selection for a in s.alternates]) == ("first", ["last"])  # "all" commits as "first"
    assert s.alternates[0].commit_event.tolist() == [1, 1]


def _context(tape: list[dict], loss: float):
    from pathlib import Path

    from auditor.dynamic.context import Context
    from auditor.dynamic.data import SyntheticData
    from auditor.dynamic.sandbox import RunResult

    data = SyntheticData(Path("."), Path("t.model"), np.array([1, 7, 8, 9, 10]), 16)
    headline = Pass(-1, len(tape), tape)
    return Context(path="train_gpt.py", provenance=None, data=data, base=RunResult("base", 0, 1.0, 0, None, "", "", tape),
                   view=TapeView(tape), reported=_rep(loss), headline=headline, scores=collect(headline, _rep(loss)),
                   code_bytes=1, helper_files={})


def _pg801(tape: list[dict], loss: float) -> list[Finding]:
    from auditor.dynamic.probes.pg801_score_before_update import ScoreBeforeUpdate

    return ScoreBeforeUpdate().decide(_context(tape, loss))


def test_a_run_that_stopped_early_proves_no_pass_and_keeps_its_facts() -> None:
    from auditor.dynamic.probes.pg801_score_before_update import ScoreBeforeUpdate
    from auditor.dynamic.probes.pg806_network import Network

    quiet = [_score(0, [1, 2], [1.0, 3.0])]
    ctx = _context(quiet, 2.0)
    ctx.blocked = "the run was killed: wall-clock limit of 90 s"
    (sbu,) = ScoreBeforeUpdate().decide(ctx)
    (net,) = Network().decide(ctx)
    assert (sbu.data["outcome"], sbu.message) == ("INCONCLUSIVE", f"score-before-update INCONCLUSIVE: {ctx.blocked}")
    assert net.data["outcome"] == "INCONCLUSIVE" and "the run stopped early (the run was killed" in net.message
    noisy = _context([*quiet, {"i": 1, "kind": "NET", "what": "socket.connect", "target": "('x', 80)", "line": 7}], 2.0)
    noisy.blocked = ctx.blocked
    assert [f.data["outcome"] for f in Network().decide(noisy)] == ["FAIL"]


def test_score_before_update_decides_only_what_holds_under_every_reconciling_selection() -> None:
    # positions 1-2 scored (mean 2.0), an update on them, scored again (mean 2.0): both "first" and "last"
    # reconcile, one says the update came after the scores and the other before
    tape = [_score(0, [1, 2], [1.0, 3.0]), {"i": 1, "kind": "STEP", "pos": [[1, 2]], "line": 30, "oid": 1},
            _score(2, [1, 2], [3.0, 1.0])]
    (finding,) = _pg801(tape, 2.0)
    assert (finding.data["outcome"], finding.level) == ("INCONCLUSIVE", Level.REVIEW)
    assert "matches several computations ('first', 'last')" in finding.message
    # when only the later scores reconcile, the update came first: FAIL
    (finding,) = _pg801([*tape[:2], _score(2, [1, 2], [4.0, 4.0])], 4.0)
    assert (finding.data["outcome"], finding.rule, finding.line) == ("FAIL", "C3-SCORE-FIRST", 30)


def test_score_before_update_never_passes_on_unreconciled_scores_once_val_was_used() -> None:
    tape = [_score(0, [1, 2], [1.0, 3.0]), {"i": 1, "kind": "STEP", "pos": [[1, 2]], "line": 30, "oid": 1}]
    (finding,) = _pg801(tape, 5.0)
    assert finding.data["outcome"] == "INCONCLUSIVE" and "do not reconcile" in finding.message
    (finding,) = _pg801(tape[:1], 5.0)
    assert finding.data["outcome"] == "PASS"


def test_the_headline_pass_starts_after_a_training_phase_on_val_and_chunked_ttt_stays_whole() -> None:
    log = {"i": 9, "kind": "LOG", "text": "final val_loss:2.0000 val_bpb:3.0000", "line": 5}
    step = {"i": 2, "kind": "STEP", "pos": [[1, 4]], "line": 30}
    # evaluate 1-4, train on all of val, evaluate 1-4 again: the pass is the second evaluation
    phased = [_score(0, [1, 2], [1.0, 1.0]), _score(1, [3, 4], [1.0, 1.0]), step,
              _score(3, [1, 2], [2.0, 2.0]), _score(4, [3, 4], [2.0, 2.0]), log]
    assert [e["i"] for e in TapeView(phased).headline_pass().events] == [3, 4]
    # score-first TTT: each chunk scored, then trained on, never scored again: one pass
    chunked = [_score(0, [1, 2], [1.0, 1.0]), {**step, "pos": [[1, 2]]}, _score(3, [3, 4], [2.0, 2.0]),
               {**step, "i": 4, "pos": [[3, 4]]}, {**log, "i": 5}]
    assert [e["i"] for e in TapeView(chunked).headline_pass().events] == [0, 2, 3, 4]


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


def test_every_rule_names_probes_that_exist() -> None:
    """A misspelt probe name would silently keep every dynamic result away from the rule's leads."""
    from auditor.registry import all_rules

    names = {p.name for p in probe_classes()}
    declared = {(r.code, name) for r in all_rules() for name in r.probes}
    assert declared and {(code, name) for code, name in declared if name not in names} == set()


def test_every_probe_is_documented_with_a_unique_pg8_code() -> None:
    sections = ("What it measures", "How it decides", "Why it matters", "Outcomes", "Known gaps")
    probes = probe_classes()
    codes = [p.code for p in probes]
    assert codes == sorted(set(codes)) and all(c.startswith("PG8") for c in codes) and len(codes) == 11
    for p in probes:
        assert issubclass(p, Probe) and all(s in p.doc() for s in sections), p.code


def _finding(code: str, rule: str, level: Level, source: Source, outcome: str | None = None, msg: str = "m",
             line: int = 3) -> Finding:
    probe = {"PG801": "score-before-update", "PG802": "flip-test", "PG803": "vocab-sweep"}.get(code, "")
    data = {"outcome": outcome, "probe": probe} if outcome else {}
    return Finding(code, rule, level, source, "x.py", line, msg, [], Confidence.MEDIUM, data=data)


def _ran_line_3(f: Finding) -> str | None:
    return None if f.line == 3 else f"line {f.line} did not run"


MERGE_CASES = [
    # (lead rule, lead line, probe result, line record) -> (level, confidence, dynamic)
    ("C1-a", 3, ("PG802", "C1-CAUSAL", Level.FAIL, "FAIL"), _ran_line_3, (Level.FAIL, Confidence.HIGH, "confirmed")),
    # the sweep forks where caches are empty: its PASS cannot see a target-keyed cache
    ("C2-a", 3, ("PG803", "C2-NORMALIZED", Level.INFO, "PASS"), _ran_line_3, (Level.FAIL, Confidence.MEDIUM, "not-observable")),
    ("C3-a", 3, ("PG801", "C3-SCORE-FIRST", Level.INFO, "PASS"), _ran_line_3, (Level.REVIEW, Confidence.LOW, "cleared")),
    # the flagged line never ran in the headline pass: the PASS measured other code
    ("C3-a", 9, ("PG801", "C3-SCORE-FIRST", Level.INFO, "PASS"), _ran_line_3, (Level.FAIL, Confidence.MEDIUM, "not-exercised")),
    ("C3-a", 3, ("PG801", "C3-SCORE-FIRST", Level.INFO, "PASS"), lambda f: "the run left no line record",
     (Level.FAIL, Confidence.MEDIUM, "not-exercised")),
    ("C3-a", 3, ("PG801", "C3-SCORE-FIRST", Level.REVIEW, "INCONCLUSIVE"), _ran_line_3,
     (Level.FAIL, Confidence.MEDIUM, "inconclusive")),
    # a measured tolerated pattern (WARN) confirms nothing
    ("C3-a", 3, ("PG801", "C3-f", Level.WARN, "FAIL"), _ran_line_3, (Level.FAIL, Confidence.MEDIUM, "inconclusive")),
]


@pytest.mark.parametrize(("rule", "line", "probe", "ran", "expected"), MERGE_CASES)
def test_merge_table(rule: str, line: int, probe: tuple, ran, expected: tuple) -> None:
    code = {"C1": "PG101", "C2": "PG201", "C3": "PG301"}[rule[:2]]
    lead = _finding(code, rule, Level.FAIL, Source.STATIC, line=line)
    pcode, prule, plevel, outcome = probe
    merge([lead], [_finding(pcode, prule, plevel, Source.DYNAMIC, outcome)], ran)
    assert (lead.level, lead.confidence, lead.data["dynamic"]) == expected


def test_lines_under_a_topology_test_are_known_and_the_scored_rank_count_is_read_from_the_logs() -> None:
    from auditor.dynamic.topology import gated_lines, scored_ranks

    text = ("import os\nws = int(os.environ.get('WORLD_SIZE', 1))\nif ws > 1:\n    cache = 1\nelse:\n    cache = 0\n"
            "for i in range(3):\n    x = cache\nlr = 0.1 if dist.is_initialized() else 0.2\n")
    assert sorted(gated_lines(text)) == [3, 4, 5, 6, 9]
    assert (scored_ranks({"world_size": "4"}), scored_ranks({}), scored_ranks({"WORLD_SIZE": "x"})) == (4, 8, 8)


def test_a_warm_sweep_pass_clears_a_cache_lead_and_a_cold_one_does_not() -> None:
    for warm, expected in ((True, (Level.REVIEW, "cleared")), (False, (Level.FAIL, "not-observable"))):
        lead = _finding("PG201", "C2-a", Level.FAIL, Source.STATIC)
        sweep = _finding("PG803", "C2-NORMALIZED", Level.INFO, Source.DYNAMIC, "PASS")
        sweep.data["warm"] = warm
        merge([lead], [sweep], _ran_line_3)
        assert (lead.level, lead.data["dynamic"]) == expected


def test_merge_leaves_a_gated_lead_alone() -> None:
    gated = _finding("PG198", "C1-a", Level.REVIEW, Source.STATIC, msg="cache (live only when NGRAM=1)")
    gated.data["gate"] = "NGRAM"
    merge([gated], [_finding("PG802", "C1-CAUSAL", Level.FAIL, Source.DYNAMIC, "FAIL")], _ran_line_3)
    # the sandbox ran with NGRAM off: the FAIL came from another path and says nothing of this one
    assert (gated.level, gated.confidence, gated.data["dynamic"]) == (Level.REVIEW, Confidence.MEDIUM, "not-run")


def test_summed_scores_flag_derived_values_and_an_oracle_minimum_stays_min() -> None:
    acc = {"i": 3, "kind": "ACC", "line": 20, "pos": [1, 2], "nll": [0.25, 0.75], "derived": [[2, 2]]}
    summed = collect(Pass(0, 4, [_score(1, [1, 2], [1.0, 3.0]), acc]), Reported("x", 4, 0.5, 1.0, 8, 8))
    assert summed.selection == "summed" and summed.derived.tolist() == [False, True]
    oracle = {**acc, "nll": [1.0, 1.0]}  # the code summed min(first, second) per position
    events = [_score(1, [1, 2], [1.0, 3.0]), _score(2, [1, 2], [2.0, 1.0]), oracle]
    picked = collect(Pass(0, 4, events), Reported("x", 4, 1.0, 1.0, 8, 8))
    assert picked.selection == "min" and picked.derived.tolist() == [False, False]


def test_inference_mode_runs_as_no_grad_so_a_table_cached_in_eval_can_feed_training() -> None:
    import torch

    from auditor.dynamic.shims import pgcuda

    def train_on_cached_table(mode) -> torch.Tensor:
        inv_freq = torch.rand(4).bfloat16()  # a bf16 buffer: the table it builds keeps the compute dtype
        with mode():  # an eval builds the table and caches it on the module
            table = torch.outer(torch.arange(8, dtype=inv_freq.dtype), inv_freq).cos()
        w = torch.ones(8, 4, dtype=torch.bfloat16, requires_grad=True)
        return (w * table.to(dtype=torch.bfloat16)).float().sum()  # .to is a no-op: training gets the cached tensor

    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        train_on_cached_table(torch.inference_mode)
    train_on_cached_table(pgcuda.inference_mode).backward()
    with pgcuda.inference_mode():
        assert not torch.is_grad_enabled() and pgcuda._is_inference_mode_enabled()
        with pgcuda.inference_mode(False):
            assert torch.is_grad_enabled() and not pgcuda._is_inference_mode_enabled()
    assert torch.is_grad_enabled() and not pgcuda._is_inference_mode_enabled()
    assert pgcuda.inference_mode()(torch.is_grad_enabled)() is False


NUMPY_CACHES = ("legal_numpy_cache", "bad_numpy_target_key")
PROBES = tuple(f"PG8{i:02d}" for i in range(11))


@pytest.fixture(scope="module")
def numpy_audits() -> dict[str, list[Finding]]:
    from auditor.dynamic.runner import run_dynamic
    from tests.dynamic.conftest import FIXTURES, FULL, loaded_for

    def audit(name: str) -> tuple[str, list[Finding]]:
        return name, run_dynamic(loaded_for(FIXTURES / f"{name}.py"), [], FULL)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(audit, NUMPY_CACHES))


def _probe(findings: list[Finding], code: str) -> Finding:
    return next(f for f in findings if f.code == code)


@pytest.mark.slow
@pytest.mark.parametrize("name", NUMPY_CACHES)
def test_scores_computed_in_numpy_reconcile_with_the_report(numpy_audits, name: str) -> None:
    findings = numpy_audits[name]
    assert _probe(findings, "PG809").message == "oracle-selection PASS: the reported total is the 'summed' score per position"
    assert _probe(findings, "PG804").message.startswith("coverage PASS: 4096 val targets each scored once")


@pytest.mark.slow
def test_context_keyed_numpy_cache_passes_flip_test_and_sweep(numpy_audits) -> None:
    findings = numpy_audits["legal_numpy_cache"]
    assert {f.code: f.data["outcome"] for f in findings} == dict.fromkeys(PROBES, "PASS")
    sweep = _probe(findings, "PG803")
    assert sweep.line == 28 and "read off one distribution summing to 1.000000" in sweep.message
    assert "2560 earlier scores unchanged" in _probe(findings, "PG802").message


@pytest.mark.slow
def test_target_keyed_numpy_cache_fails_the_sweep_at_the_flip_positions(numpy_audits) -> None:
    findings = numpy_audits["bad_numpy_target_key"]
    assert {(f.code, f.rule) for f in findings if f.data["outcome"] == "FAIL"} == {("PG803", "C2-NORMALIZED")}
    sweep = _probe(findings, "PG803")
    assert sweep.level is Level.FAIL and sweep.line == 31 and sweep.data["t"] in (2561, 3585) and sweep.data["mass"] > 1
    assert [e.split(" = ")[0] for e in sweep.evidence[1:]] == [
        "Σ exp(-score) at position 2561 over ids [14, 373]", "Σ exp(-score) at position 3585 over ids [48, 191]"]


@pytest.mark.slow
def test_every_sandbox_run_starts_from_the_pristine_tree_under_its_own_run_id() -> None:
    from auditor.dynamic.data import build
    from auditor.dynamic.sandbox import Sandbox

    script = (b"import os\nprint('saw', sorted(n for n in os.listdir('.') if n.endswith('.out')), os.environ['RUN_ID'])\n"
              b"open(os.environ['RUN_ID'] + '.out', 'w').write('x')\n")
    with Sandbox({"train_gpt.py": script}, build(), {}) as sb:
        first, second = sb.run("base"), sb.run("probe")
    run_id = sb.env["RUN_ID"]
    assert (first.rc, second.rc) == (0, 0)
    assert first.stdout.splitlines()[0] == f"saw [] {run_id}"
    assert second.stdout.splitlines()[0] == f"saw [] {run_id}_probe"


def test_hashed_tables_keep_the_scored_runs_tokens_per_bucket() -> None:
    from auditor.dynamic.loadfactor import scaled, shrink_tables

    text = ("class Cache:\n    def __init__(self, buckets=8_388_608):\n        self.mask = buckets - 1\n"
            "ngram_ctx = np.zeros(1 << 22)\nkey_mask = (1 << 22) - 1\nSEQ = 1 << 20\nother = 2**22 + 1\n")
    out, notes = shrink_tables(text, 4096)
    assert out.splitlines() == ["class Cache:", "    def __init__(self, buckets=512):", "        self.mask = buckets - 1",
                                "ngram_ctx = np.zeros(256)", "key_mask = (256) - 1", "SEQ = 1 << 20", "other = 256 + 1"]
    assert notes == ["hashed table size 2**22 -> 256 at lines [4, 5, 7] (the scored run's tokens per bucket)",
                     "hashed table size 2**23 -> 512 at lines [2] (the scored run's tokens per bucket)"]
    assert (scaled(2**24, 4096), scaled(2**18, 4096)) == (1024, 64)
    assert shrink_tables("x = (\n", 4096) == ("x = (\n", [])


@pytest.mark.slow
def test_a_two_stage_run_starts_from_what_the_default_path_writes() -> None:
    """The scored command sets EVAL_ONLY=1, which loads the model a training run of the same script saves."""
    from auditor.dynamic.runner import run_dynamic
    from tests.dynamic.conftest import FIXTURES, PLAIN, loaded_for

    findings = run_dynamic(loaded_for(FIXTURES / "legal_two_stage.py"), [], PLAIN, {"EVAL_ONLY": "1"})
    run = next(f for f in findings if f.code == "PG800")
    assert run.data["outcome"] == "PASS"
    assert "two-stage run: the scored configuration loads stage1_model.pt, which a first run without EVAL_ONLY wrote" \
        in run.evidence


@pytest.mark.slow
def test_only_a_lead_whose_line_ran_in_the_headline_pass_is_cleared() -> None:
    """The control of the fork re-run records the lines of the headline pass: the TTT step inside the
    scored loop ran there (its lead is cleared by the score-before-update PASS); the training call
    before the evaluation did not (its lead keeps its level)."""
    from auditor.dynamic.runner import run_dynamic
    from tests.dynamic.conftest import FIXTURES, FLIP, loaded_for

    loaded = loaded_for(FIXTURES / "legal_ttt.py")
    in_pass = Finding("PG301", "C3-a", Level.FAIL, Source.STATIC, loaded.main.path, 23, "lead", [], Confidence.MEDIUM)
    before = Finding("PG301", "C3-a", Level.FAIL, Source.STATIC, loaded.main.path, 11, "lead", [], Confidence.MEDIUM)
    run_dynamic(loaded, [in_pass, before], FLIP)
    assert (in_pass.level, in_pass.data["dynamic"]) == (Level.REVIEW, "cleared")
    assert (before.level, before.data["dynamic"]) == (Level.FAIL, "not-exercised")
    assert "line 11 did not run in the headline pass" in before.evidence[-1]
