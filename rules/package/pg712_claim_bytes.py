"""The artifact or code bytes claimed in submission.json do not match the logs.

What it detects
    The top-level ``bytes_total`` (or variant) must equal one seed's logged total, or the maximum, or
    the (rounded) mean of the logged totals, or a logged model size plus the shipped script's bytes
    (a valid total); each seed's claimed bytes must equal its log's total (or its model + the shipped
    script); ``bytes_code`` must equal a logged code size or the shipped script's size. Also reported:
    one size repeated for every seed while the logs differ.
    A mismatch is FAIL only when the cap is at stake: the claim says under 16,000,000 bytes while a
    log of the shipped code shows over. Immaterial mismatches with everything under the cap (a
    rounded claim, the largest seed repeated for all, a mis-copied seed value) are WARN. A claim whose
    only contradicting logs were produced by other code is REVIEW. Each level names its rule version.
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
    Maintainer practice: cocohearts' audits of 2026-05-02 (ruling on PR #1981,
    https://github.com/openai/parameter-golf/pull/1981); the cap includes the code bytes (ruling on
    PR #1959, https://github.com/openai/parameter-golf/pull/1959).
Known gaps
    Sizes quoted only in README prose are not compared.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.levels import Evidence
from auditor.package.check import Context, PackageCheck
from auditor.package.folder import Run
from auditor.package.limits import ARTIFACT_CAP_BYTES


def _line(r: Run) -> str:
    return f"{r.rel}:{r.log.total.line}: {r.log.lines[r.log.total.line - 1].strip()}"


class ClaimBytes(PackageCheck):
    code = "PG712"; name = "claim-bytes"; rule_id = "CLAIM-CONSISTENCY"; family = "PACKAGE"
    status = Status.PRACTICE; level = Level.FAIL
    rulings = ("cocohearts 2026-05-02 audits", "ruling on PR #1981"); ruling_url = "https://github.com/openai/parameter-golf/pull/1981"
    hint = "Copy each seed's logged 'Total submission size' into submission.json."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        claim = f.claim
        if claim is None:
            return
        src = f.claim_rel or "submission.json"
        runs = [r for r in f.distinct_runs if r.log.total is not None]
        shipped_runs = [r for r in runs if f.of_shipped_code(r)]
        code = f.shipped_code_bytes()
        # valid totals: a logged total, or a logged model plus the shipped script (RULEBOOK §11.5)
        valid = {r.log.total.bytes for r in runs} | {r.log.model.bytes + code for r in f.distinct_runs
                                                     if r.log.model is not None and code is not None}
        totals = [r.log.total.bytes for r in runs]
        if claim.bytes_total is not None and totals:
            v = int(claim.bytes_total.value)
            mean = statistics.fmean(totals)
            chosen = [r.log.total.bytes for r in f.runs_for_claim() if r.log.total is not None]
            if v <= ARTIFACT_CAP_BYTES < max(totals):
                yield self._at_stake(ctx, src, claim.bytes_total.line, f"claimed {claim.bytes_total.key} {v:,}",
                                     runs, shipped_runs)
            elif v not in valid and abs(v - mean) > 1 and not (chosen and abs(v - statistics.fmean(chosen)) <= 1):
                yield self.finding(ctx, src, claim.bytes_total.line,
                                   f"claimed {claim.bytes_total.key} {v:,} matches no logged total "
                                   f"(logged: {', '.join(f'{t:,}' for t in totals)}); everything stays under the cap",
                                   evidence=[_line(r) for r in runs[:5]], case="immaterial-mismatch")
        for s, sc in claim.seeds.items():
            seed_runs = [r for r in runs if r.seed == s]
            if sc.bytes_total is None or not seed_runs:
                continue
            v = int(sc.bytes_total.value)
            own = {r.log.total.bytes for r in seed_runs} | {r.log.model.bytes + code for r in seed_runs
                                                            if r.log.model is not None and code is not None}
            if v in own:
                continue
            r = seed_runs[0]
            if v <= ARTIFACT_CAP_BYTES < max(x.log.total.bytes for x in seed_runs):
                yield self._at_stake(ctx, src, sc.bytes_total.line, f"seed {s}: claimed {v:,} bytes", seed_runs,
                                     [x for x in seed_runs if x in shipped_runs])
            else:
                where = next((x for x in runs if x.log.total.bytes == v), None)
                note = f" (that is {where.rel}'s total: a mis-copied seed value)" if where is not None else ""
                yield self.finding(ctx, src, sc.bytes_total.line,
                                   f"seed {s}: claimed {v:,} bytes but the log prints {r.log.total.bytes:,}{note}; "
                                   "everything stays under the cap", evidence=[_line(r)], case="immaterial-mismatch")
        claimed_sizes = [int(sc.bytes_total.value) for sc in claim.seeds.values() if sc.bytes_total is not None]
        logged = {r.seed: r.log.total.bytes for r in runs if r.seed in claim.seeds}
        if len(claimed_sizes) >= 2 and len(set(claimed_sizes)) == 1 and len(set(logged.values())) > 1:
            first = next(sc for sc in claim.seeds.values() if sc.bytes_total is not None)
            at_stake = claimed_sizes[0] <= ARTIFACT_CAP_BYTES < max(logged.values())
            yield self.finding(ctx, src, first.bytes_total.line,
                               f"the same artifact size {claimed_sizes[0]:,} is claimed for every seed while the logs "
                               f"differ ({', '.join(f'{b:,}' for b in logged.values())})",
                               level=Level.REVIEW if at_stake else Level.WARN)
        if claim.bytes_code is not None and f.entry is not None:
            c = int(claim.bytes_code.value)
            logged_code = {r.log.code.bytes for r in f.distinct_runs if r.log.code is not None}
            if c not in logged_code | f.code_sizes_of_shipped():
                yield self.finding(ctx, src, claim.bytes_code.line,
                                   f"claimed {claim.bytes_code.key} {c:,} matches neither a logged code size "
                                   f"({', '.join(f'{x:,}' for x in sorted(logged_code)) or 'none'}) nor the shipped "
                                   f"{f.entry} ({f.sizes[f.entry]:,} bytes)", level=Level.WARN)

    def _at_stake(self, ctx: Context, src: str, line: int, what: str, runs: list[Run], shipped: list[Run]) -> Finding:
        """The claim is under the cap while a log is over: FAIL on a log of the shipped code, REVIEW when
        every log over the cap was produced by other code."""
        over = [r for r in shipped if r.log.total.bytes > ARTIFACT_CAP_BYTES]
        if over:
            worst = max(over, key=lambda r: r.log.total.bytes)
            return self.finding(ctx, src, line, f"{what} is under the cap but seed {worst.seed}'s log of the shipped "
                                f"code prints {worst.log.total.bytes:,}", evidence=[_line(worst)], case="cap-at-stake")
        worst = max((r for r in runs if r.log.total.bytes > ARTIFACT_CAP_BYTES), key=lambda r: r.log.total.bytes)
        return self.finding(ctx, src, line, f"{what} is under the cap but seed {worst.seed}'s log prints "
                            f"{worst.log.total.bytes:,}; that log was produced by other code (not backed by a log "
                            "of the shipped code)", evidence=[_line(worst)], case="cap-at-stake",
                            strength=Evidence.INSUFFICIENT)
