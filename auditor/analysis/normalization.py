"""Normalization facts for C2-b (wrong denominator) and C2-d (per-byte spreading of token probabilities).

All from structure and data flow (``a.fact(normalization.build)``):

- **Count rows.** A read ``T[k]`` (or ``T[k, :]``) of a table created with two dimensions
  (``np.zeros((n, V))``, ``torch.zeros(n, V)``) yields a row of counts over the candidates. A division
  whose numerator carries such a row and whose value reaches a ``log`` is a distribution; its
  denominator must be a ``sum`` over the same row (``row.sum(-1)``, ``(row + b).sum(-1)``), otherwise
  it is a *wrong denominator*.
- **Mixtures.** ``w1 * P + w2 * Q`` (or ``P + w * Q``) of two probability values (softmax results,
  ``exp`` of log-softmax, normalized rows) with constant weights whose sum is not 1, reaching a
  ``log`` with no renormalization by the mixture's own sum.
- **Spreading.** ``p ** (1 / n)``, ``pow(p, 1 / n)`` or ``exp(logp / n)`` where ``n`` is a byte count
  (a byte-table read, ``len`` of encoded text), reaching a ``log``: a token probability split over
  its bytes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.analysis import bpb, ngram, scoring
from auditor.analysis.module import Function
from auditor.analysis.nodes import walk
from auditor.analysis.scoring import Site, call_name, is_log_call
from auditor.analysis.taint import Taint, path_of

if TYPE_CHECKING:
    from auditor.analysis import Analysis

CREATORS_2D = frozenset({"zeros", "ones", "full", "empty"})
EXP_FNS = frozenset({"exp"})
POW_FNS = frozenset({"pow", "power", "float_power"})


@dataclass
class NormFacts:
    denominators: list[Site] = field(default_factory=list)
    mixtures: list[Site] = field(default_factory=list)
    spreads: list[Site] = field(default_factory=list)


def _count_tables(a: "Analysis") -> set[str]:
    """Count tables over (context, candidate): created with two dimensions (``np.zeros((n, V))``,
    ``torch.zeros(n, V)``) and incremented somewhere (``T[k, v] += 1``, ``np.add.at``, ``index_add_``)."""
    out: set[str] = set()
    for node in a.walk(a.tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if call_name(call) not in CREATORS_2D or not call.args:
            continue
        shape = call.args[0]
        dims = len(shape.elts) if isinstance(shape, (ast.Tuple, ast.List)) else len(
            [x for x in call.args if not isinstance(x, ast.Starred)])
        if dims == 2:
            out.update(p for t in node.targets if (p := path_of(t)) is not None)
    if not out:
        return out
    candidates = [n for n in a.walk(a.tree) if isinstance(n, (ast.AugAssign, ast.Call))]
    return out & {path for path, _ in ngram._updates(candidates)}


class _Fn:
    def __init__(self, a: "Analysis", fn: Function | None) -> None:
        self.a = a
        self.fn = fn
        self.nodes = a.fact(bpb.bodies)[fn]
        self.defs: dict[str, list[ast.AST]] = {}
        for n in self.nodes:
            if isinstance(n, ast.Assign):
                for t in n.targets:
                    if (p := path_of(t)) is not None:
                        self.defs.setdefault(p, []).append(n.value)

    def reaches_log(self, node: ast.AST, depth: int = 1) -> bool:
        taint = Taint(self.a, self.fn, lambda n: n is node)
        for n in self.nodes:
            if is_log_call(n):
                parts = [*n.args, n.func.value] if isinstance(n.func, ast.Attribute) else list(n.args)  # type: ignore[union-attr]
                if any(taint.is_tainted(p) for p in parts):
                    return True
        if depth > 0 and self.fn is not None and taint.returns_taint:
            for caller, call in self.a.fact(scoring.build).callers.get(self.fn, []):
                if _Fn(self.a, caller).reaches_log(call, depth - 1):
                    return True
        return False

    def expand(self, expr: ast.AST, depth: int = 3) -> ast.AST:
        """A local name bound once, replaced by its value."""
        path = path_of(expr)
        while depth > 0 and path is not None and len(self.defs.get(path, [])) == 1:
            expr = self.defs[path][0]
            path = path_of(expr)
            depth -= 1
        return expr

    def is_prob(self, expr: ast.AST, depth: int = 3) -> bool:
        """A probability value: softmax, exp of log-softmax, a row divided by its own sum (or a read of one)."""
        expr = self.expand(expr)
        while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in (
                scoring.VIEW_METHODS | {"gather"}) - {"exp"}:
            expr = expr.func.value
        while isinstance(expr, ast.Subscript):
            expr = expr.value
        expr = self.expand(expr)
        path = path_of(expr)
        if path is not None and depth > 0 and len(self.defs.get(path, [])) > 1:
            return any(self.is_prob(d, depth - 1) for d in self.defs[path])
        if isinstance(expr, ast.Call):
            name = call_name(expr)
            if name == "softmax":
                return True
            if name in EXP_FNS:
                inner = expr.func.value if isinstance(expr.func, ast.Attribute) and not expr.args else (
                    expr.args[0] if expr.args else None)
                inner = self.expand(inner) if inner is not None else None
                return inner is not None and any(isinstance(n, ast.Call) and call_name(n) == "log_softmax"
                                                 for n in walk(inner))
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            return _sums_over(expr.left, expr.right, self)
        return False


def _sums_over(num: ast.AST, den: ast.AST, ff: _Fn) -> bool:
    """Is ``den`` a ``sum`` over (a value built from) the numerator's own row?"""
    num_paths = {p for n in walk(num) if (p := path_of(n)) is not None}
    num_paths |= {p for n in walk(ff.expand(num)) if (p := path_of(n)) is not None}
    den = ff.expand(den)
    for n in walk(den):
        if isinstance(n, ast.Call) and call_name(n) in ("sum", "nansum", "logsumexp"):
            inner = [n.func.value] if isinstance(n.func, ast.Attribute) else list(n.args[:1])
            used = {p for x in inner for m in walk(x) if (p := path_of(m)) is not None}
            used |= {p for x in inner for m in walk(ff.expand(x)) if (p := path_of(m)) is not None}
            if used & num_paths or any(ast.dump(x) == ast.dump(num) for x in inner):
                return True
    return False


def _row_reads(ff: _Fn, tables: set[str]) -> list[ast.Subscript]:
    out = []
    for n in ff.nodes:
        if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Load) and path_of(n.value) in tables:
            idx = n.slice
            if isinstance(idx, ast.Slice):
                continue
            if not isinstance(idx, ast.Tuple) or (len(idx.elts) == 2 and isinstance(idx.elts[1], ast.Slice)
                                                  and idx.elts[1].lower is None and idx.elts[1].upper is None):
                out.append(n)
    return out


def _candidate_reads(ff: _Fn) -> list[ast.Subscript]:
    """Table reads ``T[K]`` whose key has a candidate axis: ``K`` is built from ``arange(V)``
    broadcast against the context (``ctx[:, None] * m + arange(V)[None, :]``), locally or in the
    local function that returned it. Reads that take one element per row (``T[rows, y]``) are not."""
    out = []
    for n in ff.nodes:
        if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Load) and not isinstance(n.slice, (ast.Tuple, ast.Slice)) \
                and path_of(n.value) is not None and _candidate_axis(ff, n.slice):
            out.append(n)
    return out


def _candidate_axis(ff: _Fn, key: ast.AST, depth: int = 2) -> bool:
    key = ff.expand(key)
    nodes = list(walk(key))
    has_range = any(isinstance(x, ast.Call) and call_name(x) == "arange" for x in nodes)
    broadcast = any(isinstance(x, ast.Subscript) and _adds_axis(x.slice) for x in nodes) or any(
        isinstance(x, ast.Call) and call_name(x) in ("unsqueeze", "expand", "broadcast_to") for x in nodes)
    if has_range and broadcast:
        return True
    if depth > 0 and isinstance(key, ast.Name) and ff.fn is not None:
        return any(_candidate_axis(sub_ff, elt, depth - 1) for sub_ff, elt in _returned_as(ff, key.id))
    return False


def _adds_axis(index: ast.AST) -> bool:
    elts = index.elts if isinstance(index, ast.Tuple) else [index]
    return any(isinstance(e, ast.Constant) and e.value is None for e in elts)


def _returned_as(ff: _Fn, name: str) -> list[tuple[_Fn, ast.AST]]:
    """``a, name = self.keys(x)``: the element of the local callee's returned tuple bound to ``name``."""
    out: list[tuple[_Fn, ast.AST]] = []
    for n in ff.nodes:
        if not (isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Tuple)
                and isinstance(n.value, ast.Call)):
            continue
        names = [e.id if isinstance(e, ast.Name) else None for e in n.targets[0].elts]
        if name not in names:
            continue
        j = names.index(name)
        for callee in ff.a.resolve_call(n.value.func, ff.fn):
            sub = _Fn(ff.a, callee)
            for r in sub.nodes:
                if isinstance(r, ast.Return) and isinstance(r.value, ast.Tuple) and j < len(r.value.elts):
                    out.append((sub, r.value.elts[j]))
    return out


def _weighted(expr: ast.AST) -> tuple[float | None, ast.AST] | None:
    """``c * P`` → (c, P); ``P`` → (1.0, P); a non-constant weight → (None, P)."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
        for w, p in ((expr.left, expr.right), (expr.right, expr.left)):
            if isinstance(w, ast.Constant) and isinstance(w.value, (int, float)):
                return float(w.value), p
        return None, expr.right
    return 1.0, expr


def build(a: "Analysis") -> NormFacts:
    res = NormFacts()
    tables = _count_tables(a)
    facts = a.fact(bpb.build)
    ctx = bpb.ByteFlow(a, facts)
    for fn in [None, *a.functions.values()]:
        ff = _Fn(a, fn)
        rows = _row_reads(ff, tables) if tables else []
        # a 1-D (hashed) table read at a key with a candidate axis gathers every candidate too
        rows += [r for r in _candidate_reads(ff) if r not in rows]
        if rows:
            res.denominators.extend(_denominators(ff, rows))
        for n in ff.nodes:
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add):
                site = _mixture(ff, n)
                if site is not None:
                    res.mixtures.append(site)
            elif isinstance(n, (ast.BinOp, ast.Call)):
                what = _spread(ctx, ff, n)
                if what is not None and ff.reaches_log(n):
                    res.spreads.append(Site(fn, n, what))
    return res


def _denominators(ff: _Fn, rows: list[ast.Subscript]) -> list[Site]:
    ids = {id(r) for r in rows}
    carries = Taint(ff.a, ff.fn, lambda n: id(n) in ids)
    out: list[Site] = []
    for n in ff.nodes:
        if not (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div)) or not carries.is_tainted(n.left):
            continue
        if isinstance(n.right, ast.Constant) or _sums_over(n.left, n.right, ff):
            continue
        if ff.reaches_log(n):
            out.append(Site(ff.fn, n, f"counts gathered for every candidate are divided by "
                                      f"`{ast.unparse(n.right)}`, not by their sum over the vocabulary"))
    return out


def _mixture(ff: _Fn, node: ast.BinOp) -> Site | None:
    left, right = _weighted(node.left), _weighted(node.right)
    if left is None or right is None or left[0] is None or right[0] is None:
        return None
    if abs(left[0] + right[0] - 1.0) < 1e-6:
        return None
    if not (ff.is_prob(left[1]) and ff.is_prob(right[1])):
        return None
    parent = ff.a.parents.get(node)
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div):
        return None  # divided right away (by its sum or a weight total)
    taint = Taint(ff.a, ff.fn, lambda n: n is node)
    for n in ff.nodes:  # renormalized later: ``mix / mix.sum(-1)``
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) and taint.is_tainted(n.left) and \
                taint.is_tainted(n.right):
            return None
    if not ff.reaches_log(node):
        return None
    return Site(ff.fn, node, f"mixture weights {left[0]:g} + {right[0]:g} do not sum to 1 and the mixture is "
                             "not renormalized before the log")


def _spread(ctx: "bpb.ByteFlow", ff: _Fn, node: ast.AST) -> str | None:
    """``p ** (1/n)``, ``pow(p, 1/n)``, ``exp(lp / n)`` with ``n`` a byte count."""
    exponent: ast.AST | None = None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = node.right
    elif isinstance(node, ast.Call) and call_name(node) in POW_FNS:
        args = node.args
        exponent = args[0] if isinstance(node.func, ast.Attribute) and len(args) == 1 and not _is_module(
            ff, node.func.value) else (args[1] if len(args) > 1 else None)
    if exponent is not None:
        terms = ctx.terms(ff.fn, exponent)
        if any(t.sign < 0 and _bytes_count(ctx, ff, t.node) for t in terms) and all(
                t.kind == "const" for t in terms if t.sign > 0):
            return "the token's probability is split over its bytes as p ** (1 / n_bytes)"
        return None
    if isinstance(node, ast.Call) and call_name(node) in EXP_FNS:
        arg = node.args[0] if node.args else (node.func.value if isinstance(node.func, ast.Attribute) else None)
        if arg is None:
            return None
        terms = ctx.terms(ff.fn, arg)
        if any(t.sign < 0 and _bytes_count(ctx, ff, t.node) for t in terms) and any(
                t.sign > 0 and t.kind != "const" for t in terms):
            return "the token's log-probability is split over its bytes as exp(log p / n_bytes)"
    return None


def _is_module(ff: _Fn, expr: ast.AST) -> bool:
    q = ff.a.qualname(expr)
    return q is not None and q.split(".")[0] in ("torch", "numpy", "math", "np")


def _bytes_count(ctx: "bpb.ByteFlow", ff: _Fn, expr: ast.AST) -> bool:
    """A byte count: a byte-table read, ``len`` of encoded text, or ``len`` of a value built from it."""
    if ctx.byte_taint(ff.fn).is_tainted(expr):
        return True
    encoded = Taint(ff.a, ff.fn, lambda n: isinstance(n, ast.Call) and call_name(n) == "encode")
    for n in walk(ff.expand(expr)):
        if isinstance(n, ast.Call) and call_name(n) == "len" and n.args and encoded.is_tainted(n.args[0]):
            return True
    return False
