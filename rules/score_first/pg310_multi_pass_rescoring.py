"""The headline takes the better of several scores of the same validation tokens.

What it detects
    A ``min``/``max`` selection (``min``, ``torch.minimum``, ``np.minimum``, ...) or an ``if a < b``
    comparison between two or more values that come from scoring validation data: results of
    evaluator calls (functions that commit validation scores) made on validation-derived arguments.
Why it breaks the metric
    C4-SINGLE-PASS: each token must contribute one score from one left-to-right pass; choosing the
    lower of several passes (or several scorers per token) uses the outcome on the graded tokens.
Example
    loss_a, bpb_a = eval_val(model, val_tokens)
    loss_b, bpb_b = eval_val_sliding(model, val_tokens)
    log(f"final val_bpb:{min(bpb_a, bpb_b)}")
Legal alternative
    Designate one evaluator as the headline; other evaluations may be logged as diagnostics.
How it is confirmed
    coverage (each position scored once in the headline pass).
Ruling
    Maintainer ruling: valerio-oai's closures (#677 wave), e.g. the rulings on PR #959 and PR #573.
Known gaps
    Two-pass cache rescoring (pass 1 fills a cache over all of validation, pass 2 rescores) is reported by
    the cache rules (PG305), not here; a selection made in a log-parsing script outside the submission is
    not visible.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.analysis import Analysis, roles
from auditor.analysis.events import Kind, build_events
from auditor.analysis.nodes import walk
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class MultiPassRescoring(Rule):
    code = "PG310"
    name = "multi-pass-rescoring"
    rule_id = "C4-SINGLE-PASS"
    family = "C4-SINGLE-PASS"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("ruling on PR #959", "ruling on PR #573")
    ruling_url = "https://github.com/openai/parameter-golf/pull/959"
    probes = ("coverage",)
    hint = "Report one designated pass; never select the best of several scores of the same tokens."

    VALID = [
        Valid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def measure(model, tokens, stride):
                total = 0.0
                with torch.inference_mode():
                    for i in range(0, tokens.numel() - 1025, stride):
                        total += F.cross_entropy(model(tokens[i:i + 1024]), tokens[i + 1:i + 1025]).item()
                return total

            def main(model):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                plain = measure(model, tokens, 1024)
                sliding = measure(model, tokens, 64)
                print(f"diagnostic:{plain} final:{sliding} steps:{min(10, tokens.numel())}")
                return sliding
            """,
            note="legal look-alike: several diagnostic evaluations, one designated headline",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def measure(model, tokens, stride):
                total = 0.0
                with torch.inference_mode():
                    for i in range(0, tokens.numel() - 1025, stride):
                        total += F.cross_entropy(model(tokens[i:i + 1024]), tokens[i + 1:i + 1025]).item()
                return total

            def main(model):
                tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16))
                plain = measure(model, tokens, 1024)
                sliding = measure(model, tokens, 64)
                return min(plain, sliding)
            """,
            lines=16,
            note="best of two passes over the same tokens",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        ev = a.fact(build_events)
        for fn, events in ev.by_fn.items():
            score_calls = {
                id(e.node)
                for e in events
                if e.kind is Kind.CALL and e.val and any(ev.summary(c).score_val for c in e.callees)
            }
            if not score_calls:
                continue
            scored = a.taint(fn, lambda n, ids=score_calls: id(n) in ids)
            for site in _selections(a, fn):
                operands = _operands(site)
                hits = [o for o in operands if scored.is_tainted(o)]
                if len(hits) >= 2 or (len(operands) == 1 and hits and _collects_several(a, fn, operands[0], score_calls)):
                    message = "the reported score is the better of several scores of the same validation tokens"
                    finding = self.report(a, site, message, evidence=[a.source.excerpt(site.lineno).strip()])
                    if finding is not None:
                        yield finding


def _selections(a: Analysis, fn) -> list[ast.AST]:
    root = a.tree if fn is None else fn.node
    out: list[ast.AST] = []
    for node in a.walk(root):
        if isinstance(node, ast.Call) and a.qualname(node.func) in roles.SELECT_CALLS:
            out.append(node)
        elif isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1:
            if isinstance(node.test.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                out.append(node.test)
    return [n for n in out if a.owner(n) is fn]


def _operands(site: ast.AST) -> list[ast.AST]:
    if isinstance(site, ast.Compare):
        return [site.left, *site.comparators]
    assert isinstance(site, ast.Call)
    return [*site.args]


def _collects_several(a: Analysis, fn, operand: ast.AST, score_calls: set[int]) -> bool:
    """``min(results)`` where ``results`` collects evaluator outputs in a loop or from several calls."""
    root = a.tree if fn is None else fn.node
    name = ast.unparse(operand)
    appends = [
        n for n in a.walk(root)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "append"
        and ast.unparse(n.func.value) == name and any(id(c) in score_calls for c in walk(n))
    ]
    in_loop = any(isinstance(p, (ast.For, ast.While)) for n in appends for p in a.ancestors(n))
    return len(appends) >= 2 or in_loop
