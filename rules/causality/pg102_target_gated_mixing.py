"""The scored target decides which scorer, which weight or whether a hint is used.

What it detects
    Three shapes, all from data flow over the scored labels (see ``auditor/analysis/scoring.py``):
    an *oracle* — a per-token minimum of two scores of the same label (``np.minimum(nll_a, nll_b)``);
    a *target-weighted mix* — ``(1 - a) * p + a * q`` where ``a`` is computed from the label (e.g.
    from ``nll[y]``); a *target-gated hint* — in a per-position loop ``for i, tok in enumerate(toks)``,
    slot ``i`` receives a table prediction only when a test on ``tok`` (the token at ``i``, the one
    being predicted) allows it.
Why it breaks the metric
    C1-b: the ground truth then chooses the distribution, the weight, or whether a tilt applies, so
    q_t depends on x_t even when each candidate distribution is normalized.
Example
    for i, tok in enumerate(chunk):
        if starts_new_word[tok]:
            hint[i] = best_next[ctx_key]
Legal alternative
    Gate on ``tok[i-1]`` or earlier, or on state built from it, and write slot i before updating
    the tables with token i. Weights may come from the model's own full distribution (entropy,
    max probability).
How it is confirmed
    flip-test; the tilt gate counters in the logs (``within_gate``, ``word_gate``, ``agree2plus``).
Ruling
    Maintainer rulings on PR #659 (oracle choice) and PR #1185 (blend using the eval token);
    cocohearts 2026-05-02 (ruling on PR #2041) on target-gated tilt channels.
Known gaps
    Gates inside C/C++ kernels and helper files are seen only when those files are analysed; the
    effective configuration (boost values set to 0 by the run command) is resolved by the package
    stage, not here. Vectorized gates (``mask & lut[targets]``) are not matched.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.analysis import Analysis, scoring
from auditor.analysis.channels import base_name, channel_state
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid
from rules.causality import channel_level


class TargetGatedMixing(Rule):
    code = "PG102"
    name = "target-gated-mixing"
    rule_id = "C1-b"
    family = "C1-CAUSAL"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #659", "ruling on PR #1185", "ruling on PR #2041 (cocohearts, 2026-05-02)")
    ruling_url = "https://github.com/openai/parameter-golf/pull/659"
    probes = ("oracle-selection", "flip-test")
    hint = "Decide scorers, weights and hints from the prefix x[<t] (or the model's full distribution) only."

    VALID = [
        Valid(
            """
            import torch
            import torch.nn.functional as F
            def score(logits, y, q_cache):
                lp = F.log_softmax(logits, -1)
                ent = -(lp.exp() * lp).sum(-1)
                a = 0.05 + 0.5 * torch.sigmoid(ent - 4.0)
                p = (1 - a) * lp.exp() + a * q_cache
                return -torch.log(p.gather(-1, y[:, None]))
            """,
            note="legal look-alike: entropy-adaptive alpha from the model's own distribution",
        ),
        Valid(
            """
            def hints(tokens, lut, table):
                out = [0] * len(tokens)
                prev = 0
                for i, tok in enumerate(tokens):
                    if lut[prev]:
                        out[i] = table.get(prev, 0)
                    table[prev] = tok
                    prev = tok
                return out
            """,
            note="gate reads the previous token; the slot is written before the update",
        ),
        Valid(
            """
            WORD_TAU = 99.0
            def hints(tokens, starts_word, table, ctx, top_prob, tau):
                out = [0] * len(tokens)
                for i, tok in enumerate(tokens):
                    if top_prob[i] > tau and starts_word[tok]:
                        out[i] = table.get(ctx, 0)
                    table[ctx] = tok
                return out
            def run(tokens, starts_word, table, top_prob):
                return hints(tokens, starts_word, table, 0, top_prob, WORD_TAU)
            """,
            note="legal look-alike: the branch needs a probability above a threshold of 99",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import torch.nn.functional as F
            def score(logits, y, nll_cache):
                nll = F.cross_entropy(logits, y, reduction="none")
                return np.minimum(nll, nll_cache[y]).sum()
            """,
            lines=5,
            note="oracle: per-token minimum over two scorers of the label",
        ),
        Invalid(
            """
            import torch
            import torch.nn.functional as F
            def score(logits, y, q):
                p = F.log_softmax(logits, -1).gather(-1, y[:, None])[:, 0].exp()
                a = torch.sigmoid(-torch.log(p))
                return -torch.log((1 - a) * p + a * q)
            """,
            lines=6,
            note="mixing weight from the model's probability of the target",
        ),
        Invalid(
            """
            def hints(tokens, starts_word, table, ctx):
                out = [0] * len(tokens)
                for i, tok in enumerate(tokens):
                    if starts_word[tok]:
                        out[i] = table.get(ctx, 0)
                    table[ctx] = tok
                return out
            """,
            lines=5,
            note="hint slot i written only when the token at i starts a word",
        ),
        Invalid(
            """
            import os
            WORD_TAU = float(os.environ.get("WORD_TAU", "0.65"))
            def hints(tokens, starts_word, table, ctx, top_prob, tau):
                out = [0] * len(tokens)
                for i, tok in enumerate(tokens):
                    if top_prob[i] > tau and starts_word[tok]:
                        out[i] = table.get(ctx, 0)
                    table[ctx] = tok
                return out
            def run(tokens, starts_word, table, top_prob):
                return hints(tokens, starts_word, table, 0, top_prob, WORD_TAU)
            """,
            lines=7,
            note="live twin: the threshold is 0.65",
        ),
        Invalid(
            """
            import os
            WORD_TAU = float(os.environ.get("WORD_TAU", "99.0"))
            def hints(tokens, starts_word, table, ctx, top_prob, tau):
                out = [0] * len(tokens)
                for i, tok in enumerate(tokens):
                    if top_prob[i] > tau and starts_word[tok]:
                        out[i] = table.get(ctx, 0)
                    table[ctx] = tok
                return out
            def run(tokens, starts_word, table, top_prob):
                return hints(tokens, starts_word, table, 0, top_prob, WORD_TAU)
            """,
            lines=7,
            level=Level.REVIEW,
            note="threshold 99 only by the code's default: gated, as the run may set WORD_TAU",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        g = a.fact(scoring.build_gating)
        for site in [*g.oracles, *g.target_weights]:
            finding = scoring.report(self, a, site.node, site.what)
            if finding is not None:
                yield finding
        # a gated hint channel is judged under the configuration its consumer runs with: the arrays
        # one function fills under target gates form one channel (RULEBOOK C1-b legal look-alikes)
        channels: dict[object, set[str]] = {}
        for site in g.gated_hints:
            channels.setdefault(site.fn, set()).update(_written(site.node))
        for site in g.gated_hints:
            skip, level, notes, suffix = channel_level(channel_state(a, site.fn, channels[site.fn]))
            if skip:
                continue
            if notes:
                notes.append(a.source.excerpt(site.node.lineno).strip())
            finding = scoring.report(self, a, site.node, site.what + suffix, evidence=notes, level=level)
            if finding is not None:
                yield finding


def _written(node: ast.AST) -> set[str]:
    """Arrays a hint write stores into (``out[i] = ...`` → ``out``)."""
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", node)]
    return {n for t in targets if (n := base_name(t)) is not None}
