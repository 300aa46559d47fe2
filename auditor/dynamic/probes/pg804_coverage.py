"""Coverage: every val target scored exactly once in the headline pass, and that score is the one reported.

What it measures
    The target positions whose committed scores make up the headline (``scores``), against the
    canonical set: every position 1..N of the val stream, less a tail shorter than one sequence (the
    reference loader's truncation).
How it decides
    FAIL (VAL-FULL-COVERAGE) when positions are missing: subsets, dropped tails, random minibatches.
    FAIL (C4-SINGLE-PASS) when positions were scored (without gradients) and scored again in the pass,
    and the reported total is made of a later computation than the first (rescoring, two passes).
    Positions counted twice only inside the final window are the sliding-window tail bug that PR #1218
    fixed (REFERENCE-STACK §2.5; about 0.003% of tokens at full size, carried by merged records): REVIEW.
    So are targets never scored only at the very start (the first window scoring just its last
    ``stride`` targets, as early merged sliding evaluators did: seq_len - stride targets, ~0.002%).
    PASS when each position's reported score is its first and every position is covered.
Why it matters
    VAL-FULL-COVERAGE (README; ruling on PR #1835) and C4-SINGLE-PASS (Issue #1017 condition 4;
    rulings on PR #959 and PR #573).
Outcomes
    INCONCLUSIVE when the captured scores do not reconcile with the reported val_loss.
Known gaps
    The tail allowance is one probe sequence (128 tokens); a script whose own truncation is coarser
    than that at the tiny configuration is reported as missing the extra tail.
"""

from __future__ import annotations

import numpy as np

from auditor.dynamic.context import Context
from auditor.dynamic.data import BOS_ID
from auditor.dynamic.probes.base import Probe, fmt_positions
from auditor.dynamic.tinyconfig import SEQ_LEN
from auditor.findings import Finding, Level, Status


class Coverage(Probe):
    code = "PG804"
    name = "coverage"
    rule_id = "VAL-FULL-COVERAGE"
    family = "C4-SINGLE-PASS"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #1835", "Issue #1017 condition 4", "ruling on PR #959")
    ruling_url = "https://github.com/openai/parameter-golf/issues/1017"
    probes = ("coverage",)
    hint = "Score every val target once, in one left-to-right pass, and report that pass."

    def _missing(self, ctx: Context, missing: np.ndarray, n: int, line: int) -> Finding:
        """Targets never scored: FAIL, or REVIEW with counts for the cases later practice accepted
        (RULEBOOK §11.4): only next-document BOS targets, or one gap of at most one window."""
        finding = self.result(ctx, "FAIL", line, f"{missing.size} of {n} val targets are never scored in the headline pass",
                              [f"missing positions {fmt_positions(missing)}", f"headline: {ctx.reported.line.strip()}"],
                              data={"missing": int(missing.size), "targets": n})
        if (ctx.stream[missing] == BOS_ID).all():
            finding.level = Level.REVIEW
            finding.data["case"] = "next-document-bos"
            finding.message += " (all of them the next document's BOS)"
        elif missing.size <= SEQ_LEN and missing.max() - missing.min() + 1 == missing.size:
            # one contiguous gap of at most a window: the early sliding evaluators' head (only the last
            # `stride` of every window scored, the first included), or a late window dropped
            head = " (only the first window's head: the early sliding-window head gap)" if missing.min() == 1 else \
                f" (one gap of {missing.size} targets, within one window)"
            _within_one_window(finding, head)
        return finding

    def run(self, ctx: Context) -> list[Finding]:
        why = self.scores_blocker(ctx)
        if why is not None:
            return self.inconclusive(ctx, why)
        s = ctx.scores
        n = ctx.stream.size - 1
        expected = np.arange(1, n + 1)
        missing = np.setdiff1d(expected, s.positions)
        tail_ok = missing.size == 0 or (missing.size < SEQ_LEN and missing.min() == n - missing.size + 1)
        out: list[Finding] = []
        line = ctx.headline_line()
        if not tail_ok:
            out.append(self._missing(ctx, missing, n, line))
        if s.selection in ("all", "summed") and (s.counts > 1).any():
            dup = s.positions[s.counts > 1]
            evidence = [f"double-counted positions {fmt_positions(dup)}",
                        f"mean over the counted computations {s.measured[s.selection]:.8f} equals the reported "
                        f"val_loss {ctx.reported.val_loss}"]
            finding = self.result(ctx, "FAIL", line, f"{dup.size} positions are counted more than once in the reported total",
                                  evidence, data={"duplicates": int(dup.size)})
            if dup.min() > n - SEQ_LEN:
                # the sliding-window tail bug fixed in PR #1218 (REFERENCE-STACK §2.5): only the last window's
                # positions repeat, ~0.003% of tokens at full size; merged records carried it, so a reviewer weighs it
                _within_one_window(finding, " (only in the final window: the pre-PR #1218 sliding-window tail bug)")
            out.append(finding)
        # a first computation under no_grad is a scoring pass; one with gradients is a training forward,
        # whose later rescoring is the score-before-update probe's business
        # a rescoring that reproduces the first value (an unprinted diagnostic pass of the same model) picks nothing
        changed = np.abs(s.nll - s.first_nll) > 1e-6 * np.maximum(1.0, np.abs(s.nll))
        rescored = s.positions[(s.last_before != s.first_event) & ~s.first_grad & changed]
        if rescored.size and s.selection != "all":
            ev = int(s.commit_event[np.searchsorted(s.positions, rescored[0])])
            out.append(self.result(ctx, "FAIL", s.lines.get(ev, line),
                                   f"{rescored.size} positions were scored more than once and the reported total uses a later "
                                   f"score ('{s.selection}' per position), not the first",
                                   [f"rescored positions {fmt_positions(rescored)}; committing SCORE event #{ev}"],
                                   rule="C4-SINGLE-PASS", data={"rescored": int(rescored.size)}))
        if out:
            return out
        note = f" (tail of {missing.size} dropped by sequence truncation)" if missing.size else ""
        return [self.result(ctx, "PASS", line, f"{s.positions.size} val targets each scored once{note}; the reported "
                            f"val_loss equals the mean of their first scores")]


def _within_one_window(finding: Finding, why: str) -> None:
    finding.level = Level.REVIEW
    finding.data["case"] = "gap-within-one-window"
    finding.message += why
