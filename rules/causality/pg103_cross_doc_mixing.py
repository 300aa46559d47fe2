"""A previous-token mixer (SmearGate-like) blends across document boundaries.

What it detects
    A hidden-state blend with the previous position — ``x[:, 1:] + g * x[:, :-1]``, or a shifted
    copy ``cat([0, x[:, :-1]])`` added with a gate — in a function whose class never compares the
    input ids with anything (no ``ids == BOS`` / ``!= BOS`` mask), so the BOS position of document
    k+1 receives document k's last token.
Why it breaks the metric
    C1-d: information crosses the document boundary at BOS. Maintainers required BOS masking from
    2026-04-26 (ruling on PR #1797, fix #1851), but earlier merged records used an unmasked mixer and
    the rationale is disputed (Issue #1988), hence REVIEW — weigh the finding against the
    submission's date.
Example
    x = torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], dim=1)
Legal alternative
    Zero the gate where the input id is BOS, in every scoring forward (including TTT/LoRA paths):
    ``g = g * (ids[:, 1:] != BOS)``.
How it is confirmed
    static only.
Ruling
    Maintainer ruling by cocohearts on PR #1797 (2026-04-26); fix #1851; disputed in Issue #1988.
Known gaps
    A mask applied in another class than the mixer is not credited; a mask in one forward but not in
    a separate TTT forward is not distinguished.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.nodes import of_type, walk
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


def _prev_slice(node: ast.AST) -> bool:
    """``x[:, :-1]`` / ``x[:, :-1, :]``: the sequence axis shifted back by one."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) and len(node.slice.elts) >= 2):
        return False
    first, second = node.slice.elts[0], node.slice.elts[1]
    if not (isinstance(first, ast.Slice) and first.lower is None and first.upper is None):
        return False
    up = second.upper if isinstance(second, ast.Slice) else None
    return (isinstance(second, ast.Slice) and second.lower is None and isinstance(up, ast.UnaryOp)
            and isinstance(up.operand, ast.Constant) and up.operand.value == 1)


class CrossDocMixing(Rule):
    code = "PG103"
    name = "cross-doc-mixing"
    rule_id = "C1-d"
    family = "C1-CAUSAL"
    status = Status.PRACTICE
    level = Level.REVIEW
    rulings = ("ruling on PR #1797 (cocohearts, 2026-04-26)", "fix #1851", "Issue #1988 (dispute)")
    ruling_url = "https://github.com/openai/parameter-golf/pull/1797"
    hint = "Zero the previous-token gate where the input id is BOS, in every scoring forward."

    VALID = [
        Valid(
            """
            import torch
            class Smear(torch.nn.Module):
                def __init__(self, dim, bos):
                    super().__init__()
                    self.gate = torch.nn.Parameter(torch.zeros(dim))
                    self.bos = bos
                def forward(self, x, ids):
                    g = torch.sigmoid(self.gate) * (ids[:, 1:] != self.bos).unsqueeze(-1)
                    return torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], dim=1)
            """,
            note="legal: gate zeroed at BOS",
        ),
        Valid(
            """
            import torch
            def bigram_hash(t, mod):
                out = torch.zeros_like(t)
                out[..., 1:] = torch.bitwise_xor(36313 * t[..., 1:], 27191 * t[..., :-1]) % mod
                return out
            """,
            note="input-id hash (BigramHash), not a hidden-state blend",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            class Smear(torch.nn.Module):
                def __init__(self, dim):
                    super().__init__()
                    self.gate = torch.nn.Parameter(torch.zeros(dim))
                def forward(self, x):
                    g = torch.sigmoid(self.gate)
                    x_prev = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
                    return (1 - g) * x + g * x_prev
            """,
            lines=9,
            note="unmasked SmearGate through a shifted copy",
        ),
        Invalid(
            """
            import torch
            class Smear(torch.nn.Module):
                def __init__(self, dim):
                    super().__init__()
                    self.gate = torch.nn.Parameter(torch.zeros(dim))
                def forward(self, x):
                    g = torch.sigmoid(self.gate)
                    return torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], dim=1)
            """,
            lines=8,
            note="unmasked SmearGate",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        cache: dict[object, set[str]] = {}
        for node in of_type(a.tree, ast.BinOp):
            if not isinstance(node.op, ast.Add):  # type: ignore[attr-defined]
                continue
            fn = a.owner(node)
            if fn not in cache:
                cache[fn] = _shifted_names(a, node)
            shifted = cache[fn]
            gated = [s for s in (node.left, node.right) if isinstance(s, ast.BinOp) and isinstance(s.op, ast.Mult)
                     and any(_prev_slice(x) or (isinstance(x, ast.Name) and x.id in shifted) for x in (s.left, s.right))]
            if not gated or _masked(a, node):
                continue
            finding = self.report(a, node, "previous-token blend without a BOS mask: the first token of a "
                                           "document receives the previous document's last token "
                                           "(required by maintainers from 2026-04-26)")
            if finding is not None:
                yield finding


def _shifted_names(a: Analysis, node: ast.AST) -> set[str]:
    """Names bound (in the enclosing function) to a shifted copy: ``x_prev = cat([0, x[:, :-1]], 1)``."""
    fn = a.owner(node)
    if fn is None:
        return set()
    return {t.id for n in a.walk(fn.node) if isinstance(n, ast.Assign)
            and any(_prev_slice(x) for x in walk(n.value)) for t in n.targets if isinstance(t, ast.Name)}


def _masked(a: Analysis, node: ast.AST) -> bool:
    """Does the enclosing class (or function, outside a class) compare anything with ==/!=?"""
    scope = next((anc for anc in a.ancestors(node) if isinstance(anc, ast.ClassDef)), None)
    if scope is None:
        fn = a.owner(node)
        scope = fn.node if fn is not None else a.tree
    return any(isinstance(n, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in n.ops)
               for n in a.walk(scope))
