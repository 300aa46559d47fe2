"""Plan and read the counterfactual forks of the headline pass (flip test and vocabulary sweep).

The base run tells where the headline pass starts (its first forward on val ids, counted by the
metric log lines before it) and which positions it commits. A second run of the same script forks
there: flip variants change one token and run to the headline line; sweep variants set one position
to every id of the alphabet and stop right after that position's committing score. The swept position
is in the pass's first scores, or three quarters in when the scores are mixed after their lookup (a
cache is warm there), at a position whose score was changed after its lookup (a hint fired there).
"""

from __future__ import annotations

import numpy as np

from auditor.dynamic.context import ForkResult
from auditor.dynamic.sandbox import Sandbox
from auditor.dynamic.scores import Scores, collect
from auditor.dynamic.tape import Pass, Reported, TapeView

FLIPS = 2
SWEEP_SAMPLE = 16  # candidate ids per sweep unless the full alphabet is asked for
PARALLEL = 2  # children at a time (the machine has two cores; each child is single-threaded)


def plan(view: TapeView, headline: Pass, scores: Scores, reported: Reported, vocab: int, stream: np.ndarray,
         sandbox: Sandbox, sweep: bool | str) -> tuple[dict | None, str]:
    trigger = next((e for e in headline.events if e["kind"] == "FWD"), None)
    if trigger is None:
        return None, "the headline pass runs no module forward on val ids to fork at"
    report_log = next(e for e in view.logs if e["i"] == reported.event)
    after = view.metric_logs_before(trigger["i"])
    pos = scores.positions
    rng = np.random.default_rng(7)
    variants = []
    events = sorted(set(scores.commit_event.tolist()))
    for k in range(FLIPS):
        # the middle of a committing computation's positions, so earlier positions share its batch/window
        ev = events[min(len(events) - 1, (len(events) * (k + 2)) // (FLIPS + 2))]
        in_ev = pos[scores.commit_event == ev]
        t = int(in_ev[in_ev.size // 2])
        v = 4 + int((stream[t] - 4 + 1 + rng.integers(0, vocab - 5)) % (vocab - 4))
        variants.append({"id": f"flip{k}", "edits": [[t, v]], "until": {"metric_logs": report_log["metric"]},
                         "out": str(sandbox.ctl / f"tape-flip{k}.jsonl")})
    if sweep:
        # scores mixed after their lookup (a cache on top of the model) meet an empty cache at the pass's
        # first scores: sweep where the cache has seen three quarters of the pass
        sweep_ev = events[(len(events) * 3) // 4] if scores.derived.any() else events[0]
        in_ev = pos[scores.commit_event == sweep_ev]
        fired = pos[(scores.commit_event == sweep_ev) & scores.derived]
        # where a hint or cache changed the score after its lookup (it fired there), if it did in this batch
        in_ev = fired if fired.size else in_ev
        ts = int(in_ev[in_ev.size // 2])
        commit = int(scores.commit_event[np.searchsorted(pos, ts)])
        kind = "ACC" if scores.selection == "summed" else "SCORE"
        # the child stops right after the event that reports t's committed score (for sums: the sum after it)
        stop = next((e["i"] for e in headline.events if e["kind"] == kind and e["i"] >= commit and ts in e["pos"]), commit)
        n_scores = sum(1 for e in headline.events if e["kind"] == kind and trigger["i"] <= e["i"] <= stop)
        candidates = range(vocab) if sweep == "full" else sorted({int(stream[ts]), *rng.choice(vocab, SWEEP_SAMPLE, replace=False).tolist()})
        for v in candidates:
            variants.append({"id": f"sweep{v}", "edits": [[ts, v]], "until": {"score_events": n_scores, "kind": kind},
                             "out": str(sandbox.ctl / f"tape-sweep{v}.jsonl")})
    watch = [ts] if sweep else []
    return {"after_metric_logs": after, "variants": variants, "child_timeout": 60, "parallel": PARALLEL, "watch": watch}, ""


def _child_scores(tape: list[dict], selection: str) -> Scores | None:
    events = [e for e in tape if e["kind"] in ("SCORE", "ACC")]
    return collect(Pass(-1, 10**12, events), None, force=selection) if events else None


def run(sandbox: Sandbox, fork_plan: dict, selection: str, wall_s: float, base: Reported) -> ForkResult:
    """Run the forks. The parent of the forks is the control: it must finish with exit code 0 and print
    the base run's headline, or the re-run is not the run the probes compare against."""
    result = sandbox.run("probe", fork=fork_plan, wall_s=wall_s)
    view = TapeView(result.tape)
    forked = next((e for e in result.tape if e["kind"] == "FORKED"), None)
    if forked is None:
        reason = "the re-run never reached the fork point"
        if result.killed:
            reason += f" (killed: {result.killed})"
        return ForkResult(None, reason=reason)
    control_headline = view.reported()
    if result.killed or result.rc != 0 or control_headline is None or \
            (control_headline.val_loss, control_headline.val_bpb) != (base.val_loss, base.val_bpb):
        got = control_headline.line.strip() if control_headline else "no headline"
        return ForkResult(None, reason=f"the control re-run did not reproduce the base run (exit {result.rc}, "
                                       f"{result.killed or got!r} vs {base.line.strip()!r})")
    headline = view.headline_pass()
    control = collect(headline, None, force=selection) if headline else None
    out = ForkResult(control, problems=list(forked["problems"]), cover=view.coverage(headline))
    # the row of the committing computation (later ones may come from an adapted model)
    commits = {int(p): int(ev) for p, ev in zip(control.positions, control.commit_event)} if control else {}
    out.rows = {int(t): row for e in (headline.events if headline else []) for t, row in e.get("rows", {}).items()
                if commits.get(int(t)) == e["i"]}
    status = {c["id"]: c["status"] for c in forked["children"]}
    if forked["holders"] == 0:
        out.reason = "no live tensor or array holding val tokens was found at the fork point"
    for variant in fork_plan["variants"]:
        tape = sandbox.fork_tape(variant["id"])
        scores = _child_scores(tape, selection) if status.get(variant["id"]) == "ok" else None
        out.variants[variant["id"]] = (variant["edits"], scores)
    return out
