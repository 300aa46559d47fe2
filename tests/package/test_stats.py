"""The Student-t implementation against tabulated values (and scipy when the [stats] extra is there)."""

from __future__ import annotations

import itertools
import math

import pytest

from auditor.package.limits import bpb_to_nats, nats_to_bpb
from auditor.package.stats import betainc, one_sample_lower, t_sf, welch_lower


@pytest.mark.parametrize(("t", "df", "p"), [
    (6.314, 1, 0.05), (63.657, 1, 0.005), (2.920, 2, 0.05), (2.015, 5, 0.05), (3.365, 5, 0.01),
    (2.776, 4, 0.025), (1.812, 10, 0.05), (2.457, 30, 0.01), (0.0, 7, 0.5),
])
def test_t_sf_matches_tables(t, df, p):
    assert t_sf(t, df) == pytest.approx(p, rel=2e-3)
    assert t_sf(-t, df) == pytest.approx(1 - p, rel=2e-3)


def test_betainc_closed_forms():
    assert betainc(1, 1, 0.3) == pytest.approx(0.3, abs=1e-14)  # uniform
    assert betainc(2, 1, 0.5) == pytest.approx(0.25, abs=1e-14)  # x^a
    assert betainc(0.5, 0.5, 0.5) == pytest.approx(0.5, abs=1e-12)  # symmetric


def test_against_scipy_when_installed():
    stats = pytest.importorskip("scipy.stats")
    for t, df in itertools.product([-12, -2.5, -0.4, 0.2, 1.1, 2.7, 9.0, 313.2], [1, 1.7, 2, 3.31, 5, 12, 60]):
        assert t_sf(t, df) == pytest.approx(float(stats.t.sf(t, df)), rel=1e-9, abs=1e-300)
    xs, ys = [1.8816, 1.8828, 1.8822], [1.8900, 1.8896, 1.8905]
    ref = stats.ttest_ind(xs, [y - 0.005 for y in ys], equal_var=False, alternative="less")
    ours = welch_lower(xs, ys, 0.005)
    assert (ours.t, ours.p) == (pytest.approx(-ref.statistic, rel=1e-9), pytest.approx(ref.pvalue, rel=1e-7))


def test_one_sample_and_welch_known_values():
    r = one_sample_lower([2.0, 2.2, 2.1], 2.5, margin=0.1)  # mean 2.1, sd 0.1: t = 0.3 / (0.1/sqrt 3)
    assert (r.t, r.df, r.diff) == (pytest.approx(3 * math.sqrt(3)), 2, pytest.approx(0.4))
    assert r.p == pytest.approx(t_sf(3 * math.sqrt(3), 2))
    w = welch_lower([1.0, 2.0], [3.0, 5.0])  # var 0.5/2 + 2/2 = 1.25, df = 1.25²/(0.0625 + 1)
    assert (w.t, w.df) == (pytest.approx(2.5 / math.sqrt(1.25)), pytest.approx(1.5625 / 1.0625))
    assert one_sample_lower([1.0], 2.0) is None and welch_lower([1.0, 2.0], [3.0]) is None


def test_nats_bits_conversion():
    assert nats_to_bpb(0.005, 0.2683) == pytest.approx(0.001935, rel=1e-3)  # sp8192: ≈0.0019 bpb
    assert nats_to_bpb(0.005, 0.4105) == pytest.approx(0.002961, rel=1e-3)  # sp1024: ≈0.0030 bpb
    assert bpb_to_nats(nats_to_bpb(0.005, 0.3), 0.3) == pytest.approx(0.005)
