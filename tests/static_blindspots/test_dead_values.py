"""Values that make a path dead (analysis/values.py): arithmetic, comparisons and casts over settings,
probabilities against thresholds, products with a zero boost; dead only when the values are constants
or stated by the run's configuration, a gate when only the code's defaults say so."""

from __future__ import annotations

import ast

from auditor.analysis import Analysis
from auditor.analysis.values import Values
from auditor.findings import Provenance
from auditor.source import SourceFile

SCRIPT = '''import os
import numpy as np
TAU = float(os.environ.get("TAU", "99.0"))
BOOST = float(os.environ.get("BOOST", "0.0"))
SCALE = 2


def channel(top_prob, valid, beta):
    gate = valid & (top_prob >= np.float32(TAU))
    bonus = BOOST * SCALE * valid.astype(np.float32)
    if beta != 0:
        bonus = bonus + 1
    if top_prob.max() > TAU / 50:
        bonus = bonus * 2
    return gate, bonus


def run(p, v):
    return channel(p, v, 0.0)
'''


def _analysis(overrides: dict[str, str] | None = None) -> Analysis:
    return Analysis(SourceFile("v.py", SCRIPT, "0" * 64, Provenance("v.py")), overrides=overrides)


def _node(a: Analysis, line: int, kind: type) -> ast.AST:
    return next(n for n in a.walk(a.tree) if isinstance(n, kind) and n.lineno == line)


def test_probability_never_reaches_a_threshold_above_one() -> None:
    a = _analysis()
    values = a.fact(Values)
    fn = a.functions["channel"]
    mask = _node(a, 9, ast.Assign).value
    assert values.never_true(mask, fn)
    # a threshold of 0.99 on the same probability can hold
    live = _analysis({"TAU": "0.99"})
    assert not live.fact(Values).never_true(_node(live, 9, ast.Assign).value, live.functions["channel"])


def test_arithmetic_over_settings() -> None:
    a = _analysis({"TAU": "25"})
    fn = a.functions["channel"]
    test = _node(a, 13, ast.If).test
    assert a.fact(Values).of(test.comparators[0], fn).value == 0.5  # TAU / 50 under the run's TAU=25
    assert a.fact(Values).of(test.comparators[0], fn).from_run_configuration


def test_zero_boost_product() -> None:
    a = _analysis()
    fn = a.functions["channel"]
    valid = next(n for n in a.walk(_node(a, 10, ast.Assign)) if isinstance(n, ast.Name) and n.id == "valid")
    zero = a.fact(Values).scaled_by_zero(valid, fn)
    assert zero is not None and zero.value == 0 and not zero.established  # only the code's default says 0
    stated = _analysis({"BOOST": "0.0"})
    valid = next(n for n in stated.walk(_node(stated, 10, ast.Assign)) if isinstance(n, ast.Name) and n.id == "valid")
    assert stated.fact(Values).scaled_by_zero(valid, stated.functions["channel"]).established
    on = _analysis({"BOOST": "1.5"})
    valid = next(n for n in on.walk(_node(on, 10, ast.Assign)) if isinstance(n, ast.Name) and n.id == "valid")
    assert on.fact(Values).scaled_by_zero(valid, on.functions["channel"]) is None


def test_beta_zero_branch_is_dead_and_twin_is_live() -> None:
    a = _analysis()
    inside = _node(a, 12, ast.Assign)
    assert a.liveness(inside).dead  # beta is the literal 0.0 at the only call site
    twin = Analysis(SourceFile("v.py", SCRIPT.replace("channel(p, v, 0.0)", "channel(p, v, 0.5)"), "0" * 64,
                               Provenance("v.py")))
    assert not twin.liveness(_node(twin, 12, ast.Assign)).dead


def test_threshold_branch_gated_by_default_dead_when_stated() -> None:
    # 99 / 50 > 1: the branch never runs, but only the code's default says so
    gated = _analysis()
    live = gated.liveness(_node(gated, 14, ast.Assign))
    assert not live.dead and live.gate is not None and live.gate.setting.env == "TAU"
    stated = _analysis({"TAU": "99.0"})  # the run states the same value: dead
    assert stated.liveness(_node(stated, 14, ast.Assign)).dead
    low = _analysis({"TAU": "25"})  # 0.5: a probability can exceed it
    low_live = low.liveness(_node(low, 14, ast.Assign))
    assert not low_live.dead and low_live.gate is None
