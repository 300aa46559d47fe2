"""One-sided t-tests for STAT-SIG, in pure Python (no scipy needed).

Decision: the Student-t distribution is implemented here — the survival function through the
regularized incomplete beta function I_x(a, b), evaluated by its continued fraction (modified
Lentz), with ``math.lgamma`` for the prefactor. ``tests/package/test_stats.py`` checks it against
tabulated critical values and, when the optional ``[stats]`` extra (scipy) is installed, against
``scipy.stats.t.sf`` on a grid. The auditor never imports scipy.

Units: the README's record bar is 0.005 *nats per token*, i.e. a difference in ``val_loss``; tests
run on per-seed ``val_loss`` values. When only bpb is known, convert with the folder's own
tokens-per-byte ratio (``auditor.package.limits.bpb_to_nats``).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for I_x(a, b) (modified Lentz, Numerical Recipes §6.4)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x={x} outside [0, 1]")
    if x in (0.0, 1.0):
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (df may be fractional, as in Welch)."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


@dataclass(frozen=True)
class TTest:
    """A one-sided test of "the candidate is lower (better) by more than ``margin``"."""

    t: float
    df: float
    p: float
    diff: float  # reference mean − candidate mean (positive = candidate better)
    margin: float
    kind: str  # "welch" | "one-sample"

    def describe(self) -> str:
        return (f"{self.kind} t={self.t:.3f} df={self.df:.2f} one-sided p={self.p:.3g} "
                f"(improvement {self.diff:.5f}, margin {self.margin:g})")


def one_sample_lower(xs: Sequence[float], reference: float, margin: float = 0.0) -> TTest | None:
    """H1: mean(xs) < reference − margin. Needs ≥ 2 values with nonzero spread."""
    n = len(xs)
    if n < 2:
        return None
    mean, sd = statistics.fmean(xs), statistics.stdev(xs)
    diff = reference - mean
    if sd == 0:
        t = math.inf if diff > margin else -math.inf
    else:
        t = (diff - margin) / (sd / math.sqrt(n))
    return TTest(t, n - 1, t_sf(t, n - 1), diff, margin, "one-sample")


def welch_lower(xs: Sequence[float], ys: Sequence[float], margin: float = 0.0) -> TTest | None:
    """H1: mean(xs) < mean(ys) − margin (Welch, unequal variances, Welch–Satterthwaite df)."""
    if len(xs) < 2 or len(ys) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    vx, vy = statistics.variance(xs) / len(xs), statistics.variance(ys) / len(ys)
    diff = my - mx
    se2 = vx + vy
    if se2 == 0:
        t, df = (math.inf if diff > margin else -math.inf), float(len(xs) + len(ys) - 2)
    else:
        t = (diff - margin) / math.sqrt(se2)
        df = se2 * se2 / (vx * vx / (len(xs) - 1) + vy * vy / (len(ys) - 1))
    return TTest(t, df, t_sf(t, df), diff, margin, "welch")
