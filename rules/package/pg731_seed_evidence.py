"""A record claim rests on fewer than three runs of the submitted configuration.

What it detects
    On the record track: the number of runs behind the claim — distinct logs with a final evaluation,
    counted as runs, not as distinct seed values (four logs of four runs with one seed are four runs),
    plus the runs of companion folders that supply this record's extra seeds (a sibling that our
    README names, or that declares ``supports_pr`` / ``record_support``, and that ships a copy of one
    of our logs or the same script). One run is FAIL for submissions dated after the README's 3-run
    guidance (2026-03-19 22:03 UTC) and INFO before it; two runs are WARN, FAIL from 2026-05-02
    (PR #2124). The organisers' naive baseline (author "Baseline", GitHub id ``openai``) is not a
    record claim: INFO. A seed listed twice in submission.json is WARN. On the non-record track the
    count is reported as INFO. Every level names the rule version it applied and the date used.
Why it breaks the metric
    STAT-SIG: a record must show its improvement at p < 0.01 over runs; one run is no evidence of that.
Example
    a record dated 2026-03-20 shipping one train.log while submission.json lists three seeds
Legal alternative
    Run the submitted configuration three (or more) times and ship every log, or a support folder
    with the extra runs and a copy of the record's own log.
How it is confirmed
    Package check (headline lines and seed lines of the logs, companion folders).
Ruling
    README at launch (https://github.com/openai/parameter-golf/blob/main/README.md): enough run logs
    to show p < 0.01; single-log records were merged and stayed on the leaderboard. The 3-run guidance
    (https://github.com/openai/parameter-golf/commits/main/README.md, 2026-03-19 22:03 UTC).
    PR #2124 (https://github.com/openai/parameter-golf/pull/2124, 2026-05-02): a leaderboard row
    needs a 3-seed mean from the same submitted configuration.
Known gaps
    Whether all runs used the same configuration is not compared (runs from different configurations
    count as one); a companion folder is found only among the siblings on disk.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck
from auditor.package.folder import RecordFolder, Run

#: the organisers' naive baseline: not a record claim (RULEBOOK §11.2)
BASELINE_AUTHORS = ("baseline",)
BASELINE_GITHUB_IDS = ("openai",)


def claim_runs(folder: RecordFolder) -> list[tuple[str, Run]]:
    """The runs behind a claim, as (folder-relative label, run): distinct logs with a final
    evaluation, ours then the companions', one per (seed, headline) so a log copied into a support
    folder counts once."""
    out: list[tuple[str, Run]] = []
    seen: set[tuple[Any, float, float]] = set()
    sources = [(folder, "")] + [(c, f"../{c.path.name}/") for c, _ in folder.companions]
    for src, prefix in sources:
        for run in src.distinct_runs:
            head = src.headline(run)
            if head is None:
                continue
            key = (run.seed if run.seed is not None else prefix + run.rel, head.val_bpb, head.val_loss)
            if key in seen:
                continue
            seen.add(key)
            out.append((prefix + run.rel, run))
    return out


def _seed_key(item: object) -> object:
    """A hashable seed from a ``seeds`` list entry: a number, or an object's ``seed`` field."""
    if isinstance(item, dict):
        return item.get("seed", json.dumps(item, sort_keys=True, default=str))
    return item if isinstance(item, (int, float, str)) else json.dumps(item, default=str)


class SeedEvidence(PackageCheck):
    code = "PG731"; name = "seed-evidence"; rule_id = "STAT-SIG"; family = "PACKAGE"
    status = Status.README; level = Level.FAIL
    rulings = ("README at launch", "README 3-run guidance (2026-03-19 22:03 UTC)", "PR #2124")
    ruling_url = "https://github.com/openai/parameter-golf/commits/main/README.md"
    hint = "Ship three or more logs of runs of the submitted configuration."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        runs = claim_runs(f)
        if not runs:
            return
        anchor = f.claim_rel or runs[0][1].rel
        line = 1
        if f.claim and f.claim.seeds:
            line = min(sc.line for sc in f.claim.seeds.values())
        elif f.claim and f.claim.val_bpb:
            line = f.claim.val_bpb.line
        seeds = sorted({r.seed for _, r in runs if r.seed is not None})
        listing = ", ".join(label for label, _ in runs)
        evidence = [f"runs: {listing}"] + [f"companion {c.path.name}: {why}" for c, why in f.companions]
        if not f.record_track:
            yield self.finding(ctx, anchor, line, f"non-record track: {len(runs)} logged run(s), seeds {seeds}",
                               level=Level.INFO, evidence=evidence)
            return
        if self._baseline(f):
            yield self.finding(ctx, anchor, line, f"the organisers' naive baseline ({len(runs)} logged run(s)) is "
                               "not a record claim", level=Level.INFO, evidence=evidence)
        elif len(runs) < 3:
            case = "single-run" if len(runs) == 1 else "two-runs"
            yield self.finding(ctx, anchor, line, f"record claim backed by {len(runs)} logged run(s) of the "
                               "submitted configuration; the README asks for enough runs to show p < 0.01 "
                               "(usually 3)", evidence=evidence, case=case,
                               data={"runs": len(runs), "seeds": seeds})
        if f.claim and isinstance(f.claim.data.get("seeds"), list):
            dupes = [s for s, c in Counter(_seed_key(x) for x in f.claim.data["seeds"]).items() if c > 1]
            if dupes:
                yield self.finding(ctx, anchor, line, f"submission.json lists seed(s) {dupes} more than once",
                                   level=Level.WARN)

    @staticmethod
    def _baseline(f: RecordFolder) -> bool:
        data = f.claim.data if f.claim else {}
        author = str(data.get("author", "")).strip().lower()
        github = str(data.get("github_id", "")).strip().lower()
        return author in BASELINE_AUTHORS and github in BASELINE_GITHUB_IDS
