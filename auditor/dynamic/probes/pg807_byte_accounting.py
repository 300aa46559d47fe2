"""Byte accounting: the bytes behind the reported val_bpb equal the reference count for the scored targets.

What it measures
    The byte total the submission divided by, recovered from its own headline
    (``bytes = tokens · val_loss / (ln 2 · val_bpb)``, tokens = the scored positions), against the
    exact reference count for the same positions on the same tokenizer (``reference.tokenizer`` LUTs:
    ``base_bytes[y] + (leading space and previous token not a boundary)``). The probe stream holds
    byte-fallback pieces, ``▁``-prefixed pieces and document starts, so each known LUT bug shifts the
    total.
How it decides
    FAIL when the totals differ by more than the printed precision allows (the inflation factor is
    reported: above 1 the claimed bpb is too low); PASS when they agree.
Why it matters
    TOKENIZER-BYTES and BPB-FORMULA (README criterion 2; leaderboard fix PR #1806; Issues #897, #1719).
Outcomes
    INCONCLUSIVE without a headline, without val_loss next to val_bpb, with unreconciled scores, or
    when the script uses no SentencePiece tokenizer (its own byte-level format is not the probe data's).
Known gaps
    A custom tokenizer shipped with the submission is replaced by the probe tokenizer, so its own
    vocabulary is not measured (the static LUT rules cover it).
"""

from __future__ import annotations

import math

import numpy as np

from auditor.dynamic.context import Context
from auditor.dynamic.probes.base import Probe
from auditor.findings import Finding, Level, Status


def reference_bytes(ctx: Context, positions: np.ndarray, weights: np.ndarray) -> int:
    """Reference bytes of the scored targets, each counted as often as the reported total counts it."""
    from reference.tokenizer import load_tokenizer, lut_arrays, token_bytes_np  # deferred: imports torch

    luts = lut_arrays(load_tokenizer(ctx.data.tokenizer), ctx.data.vocab_size)
    return int((token_bytes_np(luts, ctx.stream[positions - 1], ctx.stream[positions]) * weights).sum())


class ByteAccounting(Probe):
    code = "PG807"
    name = "byte-accounting"
    rule_id = "TOKENIZER-BYTES"
    family = "METRIC"
    status = Status.README
    level = Level.FAIL
    rulings = ("README submission criterion 2", "leaderboard update PR #1806", "Issue #897", "Issue #1719")
    ruling_url = "https://github.com/openai/parameter-golf/issues/897"
    probes = ("byte-accounting",)
    hint = "Use the reference LUTs: ▁ charged once via has_leading_space, byte pieces 1 byte, boundaries 0."

    def run(self, ctx: Context) -> list[Finding]:
        s, rep = ctx.scores, ctx.reported
        if s is None or rep is None:
            return self.inconclusive(ctx, ctx.blocked or "the run reported no headline val_bpb")
        if rep.val_loss is None or not rep.val_bpb:
            return self.inconclusive(ctx, "the headline line carries no val_loss next to val_bpb")
        if not s.reconciled:
            return self.inconclusive(ctx, s.reason)
        if not ctx.extra.get("sentencepiece", True):
            return self.inconclusive(ctx, "the script uses no SentencePiece tokenizer (e.g. raw bytes); its byte "
                                     "accounting cannot be measured on the probe tokenizer's data")
        # a total that counts some targets twice (e.g. an old sliding tail) divides by their bytes twice too
        weights = s.counts if s.selection in ("all", "summed") else np.ones_like(s.positions)
        tokens = int(weights.sum())
        implied = tokens * rep.val_loss / (math.log(2.0) * rep.val_bpb)
        truth = reference_bytes(ctx, s.positions, weights)
        # printed rounding of both numbers bounds the relative error of the implied total
        rel = 0.5 * 10.0 ** -rep.loss_decimals / rep.val_loss + 0.5 * 10.0 ** -rep.bpb_decimals / rep.val_bpb
        tol = implied * rel + 0.5
        evidence = [f"implied bytes {implied:.1f} = {tokens} tokens × val_loss {rep.val_loss} / (ln 2 × val_bpb {rep.val_bpb})",
                    f"reference bytes {truth} for the same {tokens} targets", f"headline: {rep.line.strip()}"]
        data = {"implied_bytes": implied, "reference_bytes": truth, "inflation": implied / truth if truth else None}
        if abs(implied - truth) > tol:
            return [self.result(ctx, "FAIL", ctx.headline_line(), f"the reported val_bpb divides by {implied:.0f} bytes, "
                                f"the reference count is {truth} (factor {implied / truth:.4f})", evidence, data=data)]
        return [self.result(ctx, "PASS", ctx.headline_line(), f"byte total {truth} matches the reference (±{tol:.1f})",
                            evidence, data=data)]
