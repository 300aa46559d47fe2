"""The record bar: ≥ 0.005 nats better than the SOTA at one-sided p < 0.01, from the per-seed logs.

What it detects
    From the per-seed headline ``val_loss`` values (nats per token) of the claimed seeds it computes
    the mean, the standard deviation and, when the SOTA is given (``--sota-folder`` or
    ``--sota-val-loss``), the one-sided test of "candidate ≤ SOTA − 0.005": Welch when the SOTA's
    per-seed values are known, one-sample against its mean otherwise. Bar not met is REVIEW; met is
    INFO. The later frontier policy (#1902: Welch p < 0.25, margin 0) is reported as INFO beside it.
    Without a SOTA the statistics are reported as INFO.
Why it breaks the metric
    STAT-SIG: a new record must beat the SOTA existing when its PR was created by ≥ 0.005 nats, shown
    at p < 0.01; otherwise the leaderboard ranks noise.
Example
    candidate val_loss 2.8041, 2.8069, 2.8017 vs SOTA 2.8093, 2.8101, 2.8088 -> improvement 0.0052
    nats, Welch t = 0.1, p = 0.46: bar not met (REVIEW)
Legal alternative
    Run more seeds or find a larger improvement; pure systems-speed changes are exempt (say so).
How it is confirmed
    Package check; the t distribution is implemented in ``auditor.package.stats`` (tested against
    tables and scipy); ``reproduce`` recomputes it from fresh logs.
Ruling
    README rule (0.005 nats, p < 0.01). Later maintainer practice #1902 (from 2026-04-28): one-sided
    Welch p < 0.25 against the chronological frontier. The margin verdict is REVIEW because the
    frontier at PR creation time must be supplied.
Known gaps
    Units: 0.005 nats is read per token (val_loss). When only bpb is known for the SOTA it is
    converted with the candidate's own tokens-per-byte ratio. Systems-only exemptions are not
    detected.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck
from auditor.package.limits import FRONTIER_ALPHA, RECORD_ALPHA, RECORD_MARGIN_NATS, nats_to_bpb
from auditor.package.stats import one_sample_lower, welch_lower


class RecordSignificance(PackageCheck):
    code = "PG732"; name = "record-significance"; rule_id = "STAT-SIG"; family = "PACKAGE"
    status = Status.README; level = Level.REVIEW
    rulings = ("README", "#1902 (later practice)"); ruling_url = "https://github.com/openai/parameter-golf/pull/1902"
    hint = "Beat the SOTA by ≥ 0.005 nats with p < 0.01 (one-sided) over the submitted seeds."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        if not f.record_track:
            return
        runs = f.runs_for_claim()
        if not runs:
            return
        losses = [f.headline(r).val_loss for r in runs]
        bpbs = [f.headline(r).val_bpb for r in runs]
        tpb = statistics.fmean(b * math.log(2) / l for b, l in zip(bpbs, losses) if l > 0)
        anchor = f.claim_rel or runs[0].rel
        line = f.claim.val_bpb.line if f.claim and f.claim.val_bpb else 1
        sd = statistics.stdev(losses) if len(losses) > 1 else float("nan")
        summary = (f"{len(losses)} seed(s): val_loss mean {statistics.fmean(losses):.6f} nats (sd {sd:.6f}), "
                   f"val_bpb mean {statistics.fmean(bpbs):.6f}; 0.005 nats = {nats_to_bpb(RECORD_MARGIN_NATS, tpb):.5f} bpb "
                   f"here ({tpb:.4f} tokens/byte)")
        evidence = [f"seed {r.seed}: val_loss {f.headline(r).val_loss} val_bpb {f.headline(r).val_bpb} ({r.rel}:{f.headline(r).line})"
                    for r in runs]
        data = {"val_losses": losses, "val_bpbs": bpbs, "tokens_per_byte": tpb}
        sota = ctx.sota
        if sota is None:
            yield self.finding(ctx, anchor, line, f"{summary}; no SOTA given (--sota-folder / --sota-val-loss), "
                               "margin and p-value not computed", level=Level.INFO, evidence=evidence, data=data)
            return
        if len(sota.val_losses) >= 2:
            bar, frontier = welch_lower(losses, sota.val_losses, RECORD_MARGIN_NATS), welch_lower(losses, sota.val_losses)
        else:
            ref = sota.mean_val_loss if sota.mean_val_loss is not None else statistics.fmean(sota.val_losses)
            bar, frontier = one_sample_lower(losses, ref, RECORD_MARGIN_NATS), one_sample_lower(losses, ref)
        if bar is None:
            yield self.finding(ctx, anchor, line, f"{summary}; one seed: no significance test possible",
                               evidence=evidence, data=data)
            return
        data |= {"record_bar": bar.__dict__, "frontier": frontier.__dict__ if frontier else None, "sota": sota.label}
        met = bar.p < RECORD_ALPHA
        yield self.finding(ctx, anchor, line, f"record bar vs {sota.label}: {bar.describe()} -> "
                           f"{'met' if met else 'not met'} (README: ≥ 0.005 nats at p < 0.01); {summary}",
                           level=Level.INFO if met else Level.REVIEW, evidence=evidence, data=data)
        if frontier is not None:
            yield self.finding(ctx, anchor, line, f"later maintainer practice (#1902, from 2026-04-28): {frontier.describe()} "
                               f"-> {'passes' if frontier.p < FRONTIER_ALPHA else 'fails'} p < 0.25 vs the frontier",
                               level=Level.INFO, evidence=evidence, data=data)
