"""Seeds claimed in submission.json have no log, or a log's seed contradicts its file name.

What it detects
    Claimed seeds (``seeds``, ``seed_results``, ``seed``) without a train log of that seed; an
    ``n_seeds`` larger than the number of distinct logged seeds; a log named ``…seed42…`` whose
    own ``seed:`` line says another seed.
Why it breaks the metric
    CLAIM-CONSISTENCY and STAT-SIG: a mean over seeds whose runs are not shown is not evidence, and
    "three seeds" that are one seed run three times is not a significance test.
Example
    "seeds": [1337, 42, 123] with only train.log (seed 1337) in the folder
Legal alternative
    Ship one log per claimed seed, run with that seed.
How it is confirmed
    Package check (seed lines in the logs, the README-style file names).
Ruling
    Maintainer practice (cocohearts' audits of 2026-05-02): REVIEW when logs are missing; STAT-SIG
    (README) for the seed evidence.
Known gaps
    A log that never prints its seed is matched by its file name only.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck


class ClaimSeeds(PackageCheck):
    code = "PG713"; name = "claim-seeds"; rule_id = "CLAIM-CONSISTENCY"; family = "PACKAGE"
    status = Status.PRACTICE; level = Level.REVIEW
    rulings = ("cocohearts 2026-05-02 audits",)
    hint = "Ship one train log per claimed seed."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        for run in f.distinct_runs:
            if run.name_seed is not None and run.log.seed is not None and run.name_seed != int(run.log.seed.value):
                yield self.finding(ctx, run.rel, run.log.seed.line,
                                   f"{run.rel} is named for seed {run.name_seed} but the run logged seed "
                                   f"{int(run.log.seed.value)}")
        claim = f.claim
        if claim is None:
            return
        src = f.claim_rel or "submission.json"
        logged = {r.seed for r in f.distinct_runs if r.seed is not None}
        missing = [s for s in claim.seeds if s not in logged]
        if missing:
            line = min(claim.seeds[s].line for s in missing)
            yield self.finding(ctx, src, line, f"claimed seed(s) {', '.join(map(str, missing))} have no train log "
                               f"(logged seeds: {', '.join(map(str, sorted(logged))) or 'none'})",
                               data={"missing_seeds": missing})
        if claim.n_seeds is not None and int(claim.n_seeds.value) > len(logged):
            yield self.finding(ctx, src, claim.n_seeds.line, f"n_seeds is {int(claim.n_seeds.value)} but the folder "
                               f"logs {len(logged)} distinct seed(s)")
