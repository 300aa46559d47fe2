"""The artifact or code bytes claimed in submission.json do not match the logs.

What it detects
    The top-level ``bytes_total`` (or variant) must equal one seed's logged total, or the maximum, or
    the (rounded) mean of the logged totals; each seed's claimed bytes must equal its log's total;
    ``bytes_code`` must equal a logged code size or the shipped script's size. Also reported: one size
    repeated for every seed in submission.json while the logs differ.
Why it breaks the metric
    CLAIM-CONSISTENCY and ART-16MB: a claim that reports only the model bytes, or one seed's value
    repeated, can hide a seed whose log total is over the cap.
Example
    "bytes_total": 15,940,000 while the logs print 15,987,547 / 15,988,983 / 16,001,318
Legal alternative
    Copy each seed's ``Total submission size`` line; claim the maximum (or list per seed).
How it is confirmed
    Package check (typed log parsing).
Ruling
    Maintainer practice (cocohearts' audits of 2026-05-02); ART-16MB evidence rules (RULEBOOK §4).
Known gaps
    Sizes quoted only in README prose are not compared.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck
from auditor.package.limits import ARTIFACT_CAP_BYTES


class ClaimBytes(PackageCheck):
    code = "PG712"; name = "claim-bytes"; rule_id = "CLAIM-CONSISTENCY"; family = "PACKAGE"
    status = Status.PRACTICE; level = Level.FAIL
    rulings = ("cocohearts 2026-05-02 audits",)
    hint = "Copy each seed's logged 'Total submission size' into submission.json."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        claim = f.claim
        if claim is None:
            return
        src = f.claim_rel or "submission.json"
        runs = [r for r in f.distinct_runs if r.log.total is not None]
        totals = [r.log.total.bytes for r in runs]
        if claim.bytes_total is not None and totals:
            v = int(claim.bytes_total.value)
            ok = {*totals, max(totals)}
            mean = statistics.fmean(totals)
            chosen = [r.log.total.bytes for r in f.runs_for_claim() if r.log.total is not None]
            if v < ARTIFACT_CAP_BYTES < max(totals):
                worst = max(runs, key=lambda r: r.log.total.bytes)
                yield self.finding(ctx, src, claim.bytes_total.line,
                                   f"claimed {claim.bytes_total.key} {v:,} is under the cap but seed {worst.seed}'s log "
                                   f"prints {worst.log.total.bytes:,}",
                                   evidence=[f"{worst.rel}:{worst.log.total.line}: "
                                             f"{worst.log.lines[worst.log.total.line - 1].strip()}"])
            elif v not in ok and abs(v - mean) > 1 and not (chosen and abs(v - statistics.fmean(chosen)) <= 1):
                level = Level.FAIL if v < max(totals) else Level.REVIEW
                yield self.finding(ctx, src, claim.bytes_total.line,
                                   f"claimed {claim.bytes_total.key} {v:,} matches no logged total "
                                   f"(logged: {', '.join(f'{t:,}' for t in totals)})", level=level,
                                   evidence=[f"{r.rel}:{r.log.total.line}: {r.log.lines[r.log.total.line - 1].strip()}"
                                             for r in runs[:5]])
        for s, sc in claim.seeds.items():
            seed_runs = [r for r in runs if r.seed == s]
            if sc.bytes_total is None or not seed_runs:
                continue
            if int(sc.bytes_total.value) not in {r.log.total.bytes for r in seed_runs}:
                r = seed_runs[0]
                yield self.finding(ctx, src, sc.bytes_total.line,
                                   f"seed {s}: claimed {int(sc.bytes_total.value):,} bytes but the log prints "
                                   f"{r.log.total.bytes:,}",
                                   evidence=[f"{r.rel}:{r.log.total.line}: {r.log.lines[r.log.total.line - 1].strip()}"])
        claimed_sizes = [int(sc.bytes_total.value) for sc in claim.seeds.values() if sc.bytes_total is not None]
        logged = {r.seed: r.log.total.bytes for r in runs if r.seed in claim.seeds}
        if len(claimed_sizes) >= 2 and len(set(claimed_sizes)) == 1 and len(set(logged.values())) > 1:
            first = next(sc for sc in claim.seeds.values() if sc.bytes_total is not None)
            yield self.finding(ctx, src, first.bytes_total.line,
                               f"the same artifact size {claimed_sizes[0]:,} is claimed for every seed while the logs "
                               f"differ ({', '.join(f'{b:,}' for b in logged.values())})", level=Level.REVIEW)
        if claim.bytes_code is not None and f.entry is not None:
            code = int(claim.bytes_code.value)
            logged_code = {r.log.code.bytes for r in f.distinct_runs if r.log.code is not None}
            shipped = f.sizes[f.entry] + sum(f.sizes[h] for h in f.helpers)
            if code not in logged_code | {f.sizes[f.entry], shipped}:
                yield self.finding(ctx, src, claim.bytes_code.line,
                                   f"claimed {claim.bytes_code.key} {code:,} matches neither a logged code size "
                                   f"({', '.join(f'{c:,}' for c in sorted(logged_code)) or 'none'}) nor the shipped "
                                   f"{f.entry} ({f.sizes[f.entry]:,} bytes)", level=Level.WARN)
