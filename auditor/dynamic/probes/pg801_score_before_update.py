"""Score-before-update: no val position feeds a parameter update or statistic before its score is committed.

What it measures
    Every optimizer step, manual parameter update (parameters changed with no optimizer step) and
    user forward hook that fires on val ids (calibration statistics) is recorded with the val
    positions that fed it. A position's score is *committed* by the cross-entropy / NLL computation
    whose value the submission reported in the headline (see ``scores``).
How it decides
    FAIL when an update or statistic used position p before p's committed score: pre-eval and
    pre-quantization TTT, training on val, calibration on val, and passes that report a score
    computed after adapting on the same positions (multi-epoch last-epoch scoring, scored-region SLOT).
    PASS when every update used only already-scored positions (score-first TTT) or no val at all. A
    position's score is committed by the computation that reached the reported total: the summed
    slices that cover the pass last, never a superseded diagnostic pass, and never a training forward
    where the position has another computation.
Why it matters
    C3-SCORE-FIRST (README FAQ; ruling on PR #152; Issue #402; ruling on PR #1972 for pre-quant TTT;
    ruling on PR #728 for calibration), NO-VAL-IN-TRAIN, and the SLOT rule.
Outcomes
    INCONCLUSIVE when the run reports no headline; when the captured scores do not reconcile with the
    reported total and any update used val positions (a kernel the tape misses may have scored them
    at any time); or when several computations reconcile with the report equally well and the verdict
    differs between them.
    A compile warm-up on val tokens (C3-f) is a WARN: the optimizer that stepped on them was thrown
    away — every parameter it updated was freed before the first reported score was computed.
    An optimizer step on a model copy is not evidence when the copy owns none of the headline scorer's
    weights and the scorer's weights are unchanged since the step (versions recorded on the tape).
Known gaps
    A warm-up whose adapter outlives the headline pass (kept but unused) is reported as FAIL; the flip
    test shows whether it influenced the scores. Updates through custom kernels or optimizers that
    bypass ``torch.optim`` and leave parameter version counters untouched are not seen.
"""

from __future__ import annotations

import numpy as np

from auditor.dynamic.context import Context
from auditor.dynamic.data import BOS_ID
from auditor.dynamic.probes.base import INCONCLUSIVE, Probe, fmt_positions
from auditor.dynamic.scores import Scores
from auditor.dynamic.tape import expand
from auditor.findings import Confidence, Finding, Level, Status


class ScoreBeforeUpdate(Probe):
    code = "PG801"
    name = "score-before-update"
    rule_id = "C3-SCORE-FIRST"
    family = "C3-SCORE-FIRST"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("README FAQ (2026-03-20)", "ruling on PR #152", "Issue #402", "ruling on PR #1972", "ruling on PR #728")
    ruling_url = "https://github.com/openai/parameter-golf/issues/402"
    probes = ("score-before-update",)
    hint = "Score each chunk under no_grad first, add it to the totals, then adapt on it."

    def run(self, ctx: Context) -> list[Finding]:
        if ctx.scores is None or ctx.headline is None:
            return self.inconclusive(ctx, ctx.blocked or "the run reported no headline val_bpb")
        judged = [self._judge(ctx, s) for s in (ctx.scores, *ctx.scores.alternates)]
        outcomes = {findings[0].data["outcome"] for findings in judged}
        if len(outcomes) == 1:
            return judged[0]
        names = ", ".join(f"'{s.selection}'" for s in (ctx.scores, *ctx.scores.alternates))
        first_fail = next(f for findings in judged for f in findings if f.data["outcome"] == "FAIL")
        return [self.result(ctx, INCONCLUSIVE, first_fail.line,
                            f"the reported total matches several computations ({names}) that disagree on whether "
                            f"updates came before the scores: {first_fail.message}", first_fail.evidence)]

    def _judge(self, ctx: Context, s: Scores) -> list[Finding]:
        n = ctx.stream.size
        never = np.iinfo(np.int64).max
        commit = np.full(n + 1, never, dtype=np.int64)
        first = commit.copy()
        commit[s.positions] = s.commit_event
        first[s.positions] = s.first_event
        steps = ctx.view.of("STEP", "UPDATE")
        train_steps = [e["i"] for e in steps if not e["pos"]]
        last_train = max(train_steps, default=-1)
        findings: list[Finding] = []
        unsure: list[dict] = []
        used_val = copies = 0
        targets = _loss_targets(ctx.view.of("SCORE", "STEP", "UPDATE"))
        scoring_starts = int(s.commit_event.min()) if s.commit_event.size else -1
        discarded = {e["oid"]: e["i"] for e in ctx.view.of("DISCARD") if e["i"] < scoring_starts}
        for e in ctx.view.of("STEP", "UPDATE", "CALIB"):
            pos = expand(e["pos"])
            if e["i"] in targets:
                pos = np.intersect1d(pos, targets[e["i"]])
            pos = pos[(pos >= 1) & (pos <= n)]
            # a document's BOS is the same id everywhere: learning it leaks nothing about val (phased
            # global SGD on scored documents also predicts the next document's BOS before it is scored)
            pos = pos[ctx.stream[pos] != BOS_ID]
            if pos.size == 0:
                continue
            if e["kind"] == "STEP" and e.get("oid") not in discarded and _never_reached(e, ctx.headline.kinds("FWD")):
                copies += 1
                continue
            used_val += 1
            if not s.reconciled:
                # which computation reached the report is unknown (a fused loss kernel the tape misses may
                # have scored these positions at any time): neither ordering is evidence
                unsure.append(e)
                continue
            before_any = pos[first[pos] > e["i"]]
            before_commit = pos[commit[pos] > e["i"]]
            if e.get("oid") in discarded and (before_any.size or before_commit.size):
                findings.append(self._discarded(ctx, e, before_any if before_any.size else before_commit,
                                                discarded[e["oid"]]))
            elif before_any.size:
                findings.append(self._fail(ctx, e, before_any, last_train, "before any score of them was computed"))
            elif before_commit.size:
                findings.append(self._fail(ctx, e, before_commit, last_train,
                                           f"and the reported score of them was computed afterwards (selection '{s.selection}')"))
        if findings:
            return _dedupe(findings)
        if unsure:
            e = unsure[0]
            return [self.result(ctx, INCONCLUSIVE, e["line"], f"{len(unsure)} update(s) used val positions, and the "
                                f"captured scores do not reconcile with the report, so their order cannot be judged: "
                                f"{s.reason}")]
        line = next((e["line"] for e in steps if e["pos"]), ctx.headline_line())
        aside = f"; {copies} step(s) on val updated model copies whose weights never reached the headline scorer" \
            if copies else ""
        return [self.result(ctx, "PASS", line, (f"{used_val} update(s) on val data, each only on positions already scored"
                            if used_val else "no parameter update, optimizer step or calibration hook used val data")
                            + aside)]

    def _fail(self, ctx: Context, e: dict, pos: np.ndarray, last_train: int, how: str) -> Finding:
        kind = {"STEP": f"optimizer step ({e.get('opt', '?')})", "UPDATE": "manual parameter update",
                "CALIB": "statistics hook (calibration)"}[e["kind"]]
        if e["kind"] == "CALIB":
            rule = "C3-d"
        elif e["i"] < last_train:
            rule = "NO-VAL-IN-TRAIN"
        elif _before_artifact(ctx, e):
            rule = "C3-b"  # adaptation on val baked into the exported artifact
        else:
            rule = "C3-SCORE-FIRST"
        evidence = [f"tape event #{e['i']} {kind} at line {e['line']} (called from lines {e.get('outer', [])}) used val "
                    f"positions {fmt_positions(pos)} {how}"]
        if ctx.reported:
            evidence.append(f"headline: {ctx.reported.line.strip()}")
        return self.result(ctx, "FAIL", e["line"], f"{kind} used val positions {how}", evidence, rule=rule,
                           data={"event": e["i"], "positions": pos[:64].tolist(), "count": int(pos.size)},
                           confidence=Confidence.HIGH)


    def _discarded(self, ctx: Context, e: dict, pos: np.ndarray, freed_at: int) -> Finding:
        """C3-f: steps of a throw-away optimizer (a compile warm-up) whose parameters all died before the
        first reported score: tolerated (RULEBOOK C3-f, WARN); synthetic tokens are the clean way."""
        return self.result(
            ctx, "FAIL", e["line"], f"a throw-away optimizer ({e.get('opt', '?')}) stepped on val positions before they "
            "were scored; all its parameters were freed before the first reported score (compile warm-up, state "
            "discarded)",
            [f"tape event #{e['i']} optimizer step at line {e['line']} used val positions {fmt_positions(pos)}",
             f"tape event #{freed_at}: the last of that optimizer's parameters was freed",
             "warm up on synthetic tokens instead"],
            rule="C3-f", level=Level.WARN, data={"event": e["i"], "positions": pos[:64].tolist(), "count": int(pos.size)})


def _never_reached(step: dict, headline_forwards: list[dict]) -> bool:
    """The step's optimizer owns none of the headline scorer's weights, and every module the headline
    pass runs already existed at the step with exactly the weights it scores with: the update went to a
    copy that cannot have flowed into the scores (no weights copied back, no shared parameters)."""
    mods = step.get("mods")
    later = [f for f in headline_forwards if f["i"] > step["i"]]
    if step.get("oid") is None or mods is None or not later:
        return False
    return all(step["oid"] not in f.get("oids", [step["oid"]]) and mods.get(str(f.get("mid"))) == f.get("ver")
               and f.get("ver") is not None for f in later)


def _loss_targets(events: list[dict]) -> dict[int, np.ndarray]:
    """Per update, the target positions of the gradient-carrying losses since the previous update.

    An update's tape positions also hold its inputs. An input whose own target is scored later is
    only ever a document's BOS in a legal per-document scheme (a constant id, no information); any
    scheme that learns from unscored tokens also has unscored *targets*, which is what is checked.
    Updates with no loss seen (a custom loss kernel) keep all their positions.
    """
    out: dict[int, np.ndarray] = {}
    pending: list[np.ndarray] = []
    for e in events:
        if e["kind"] == "SCORE":
            if e.get("grad"):
                pending.append(np.asarray(e["pos"], dtype=np.int64))
        elif pending:
            out[e["i"]] = np.concatenate(pending)
            pending = []
    return out


def _before_artifact(ctx: Context, e: dict) -> bool:
    writes = ctx.view.artifact_writes(ctx.base.written)
    return any(w["i"] > e["i"] for w in writes)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per rule; the first event is the evidence, the count says how many."""
    out: dict[str, Finding] = {}
    for f in findings:
        key = f.rule
        if key in out:
            out[key].data["events"] = out[key].data.get("events", 1) + 1
        else:
            out[key] = f
    return list(out.values())
