"""A record claim rests on fewer than three distinct seeds, or on repeated seeds.

What it detects
    On the record track: the number of distinct seeds among the logged runs that back the claim.
    One seed is FAIL (not record-ready); two is WARN (the README's "usually 3"). Repeated seeds are
    FAIL: a seed listed twice in submission.json, or logs presented as different seeds (by file name)
    that all ran the same seed. On the non-record track the count is reported as INFO.
Why it breaks the metric
    STAT-SIG: a record must show its improvement at p < 0.01 over runs; one run, or one seed run
    several times, is no evidence of that (MLPerf's seed checker: seeds logged, integer, unique).
Example
    train_seed42.log, train_seed1337.log and train_seed7.log all printing ``seed:1337``
Legal alternative
    Run the submitted configuration with three (or more) different seeds and ship every log.
How it is confirmed
    Package check (seed lines of the logs).
Ruling
    README rule (p < 0.01, a mean over 3 runs usually sufficient); STAT-SIG level FAIL for a single
    seed or mixed configurations.
Known gaps
    Whether all seeds used the same configuration is compared by the hyperparameter dump only where
    the static stage does so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck
from auditor.package.limits import RECORD_MIN_SEEDS


class SeedEvidence(PackageCheck):
    code = "PG731"; name = "seed-evidence"; rule_id = "STAT-SIG"; family = "PACKAGE"
    status = Status.README; level = Level.FAIL
    rulings = ("README",)
    hint = "Ship three or more logs of distinct seeds of the submitted configuration."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        runs = [r for r in f.distinct_runs if f.headline(r) is not None]
        if not runs:
            return
        seeds = sorted({r.seed for r in runs if r.seed is not None})
        anchor = f.claim_rel or runs[0].rel
        line = 1
        if f.claim and f.claim.seeds:
            line = min(sc.line for sc in f.claim.seeds.values())
        elif f.claim and f.claim.val_bpb:
            line = f.claim.val_bpb.line
        if not f.record_track:
            yield self.finding(ctx, anchor, line, f"non-record track: {len(seeds)} distinct logged seed(s)",
                               level=Level.INFO, evidence=[f"seeds: {seeds}"])
            return
        if len(seeds) < 2:
            yield self.finding(ctx, anchor, line, f"record claim backed by {len(seeds)} logged seed; the record bar "
                               "needs several runs (usually 3)", evidence=[f"logs: {', '.join(r.rel for r in runs)}"])
        elif len(seeds) < RECORD_MIN_SEEDS:
            yield self.finding(ctx, anchor, line, f"record claim backed by {len(seeds)} logged seeds (the README: a mean "
                               "over 3 runs is usually sufficient)", level=Level.WARN, evidence=[f"seeds: {seeds}"])
        by_seed = Counter(r.seed for r in runs if r.name_seed is not None and r.seed != r.name_seed)
        for seed, count in by_seed.items():
            named = sorted(r.rel for r in runs if r.seed == seed)
            if count >= 1 and len(named) >= 2:
                first = next(r for r in runs if r.seed == seed and r.seed_line)
                yield self.finding(ctx, first.rel, first.seed_line or 1, f"logs named as different seeds all ran seed "
                                   f"{seed}: {', '.join(named)}")
        if f.claim and isinstance(f.claim.data.get("seeds"), list):
            dupes = [s for s, c in Counter(f.claim.data["seeds"]).items() if c > 1]
            if dupes:
                yield self.finding(ctx, anchor, line, f"submission.json lists seed(s) {dupes} more than once")
