"""Count-table and cache facts for the C1 (causality) and C2 (normalization) rules.

The questions, all answered from data flow (never from identifiers):

- **Target-keyed lookups (C1-a).** A read ``table[key]`` (also ``.get``, ``np.take``,
  ``index_select``) whose key is *computed* from the scored target together with something else
  (``(ctx ^ y*P) & M``, ``prev*V + y``, ``(ctx, y)``), and whose value reaches a ``log`` — i.e. is
  used as a probability of the label — in this function or, through ``return``, in a caller.
  The target is either a label found by :mod:`auditor.analysis.scoring`, or the *current token* of a
  positional n-gram key: ``T[p]`` in a function that also reads ``T[p - k]`` (the key then spans
  ``x[p-k..p]``, the token at ``p`` included). Hash helpers that return ``(ctx_key, full_key)``
  are followed element by element, so only the full key counts.
  Input-keyed hash embeddings do not match: their table is an embedding module, not a subscript,
  and their value never reaches a ``log`` as a probability.
- **Ratios of such lookups (C2-a/C2-c).** ``full / ctx`` divisions fed by a target-keyed lookup;
  a Dirichlet/CTW posterior is the same division with the model's own target probability added to
  the numerator.
- **Update-before-lookup (C3-e).** A table updated (``np.add.at``, ``t[k] += 1``, ``index_add_``)
  earlier in the same loop iteration than a scoring read of that table.

Everything is computed once per file through ``a.fact(ngram.build)``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.analysis import scoring
from auditor.analysis.module import Function
from auditor.analysis.nodes import children, walk
from auditor.analysis.scoring import call_name, is_log_call
from auditor.analysis.taint import Taint, path_of
from auditor.analysis.taint import _bound_paths, _flows as taint_flows

if TYPE_CHECKING:
    from auditor.analysis import Analysis

#: operators that mix a token into a key (bit masks ``&``/``|`` are excluded: they only bucket)
KEY_OPS = (ast.BitXor, ast.Mult, ast.Add, ast.Sub, ast.Mod, ast.LShift, ast.RShift, ast.FloorDiv)
UPDATE_CALLS = frozenset({"index_add_", "scatter_add_", "put_", "index_put_"})
LOOKUP_CALLS = frozenset({"take", "index_select", "get"})


@dataclass
class Lookup:
    """A target-keyed read whose value is used as a probability of the label."""

    fn: Function | None
    node: ast.AST  # the Subscript or Call that reads the table
    table: str  # the table expression, as written
    key_line: int  # where the key mixes the target in


@dataclass
class Ratio:
    fn: Function | None
    node: ast.BinOp
    dirichlet: bool  # numerator adds the model's own target probability


@dataclass
class EarlyUpdate:
    fn: Function | None
    update: ast.AST
    lookup: ast.AST
    table: str


@dataclass
class NgramFacts:
    lookups: list[Lookup] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    early_updates: list[EarlyUpdate] = field(default_factory=list)


def table_path(expr: ast.AST) -> str | None:
    """``self.full[n]`` → ``self.full``; ``counts`` → ``counts``."""
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return path_of(expr)


def _is_const(expr: ast.AST) -> bool:
    return all(isinstance(n, (ast.Constant, ast.operator, ast.unaryop, ast.UnaryOp, ast.BinOp, ast.expr_context))
               for n in walk(expr))


class KeyTaint(Taint):
    """Taint without container writes (``lst.append(x)``): a list of per-order key tuples would
    otherwise taint every key unpacked from it, context keys included."""

    def _run(self) -> None:
        if self.depth == 0 and not self.names:
            return  # nothing seeds this function (see _FnFacts.seeded)
        flows = [f for n in self._body_nodes() if not isinstance(n, ast.Call) for f in taint_flows(n)]
        changed = True
        while changed:
            changed = False
            for targets, value in flows:
                if value is not None and self.is_tainted(value):
                    for t in targets:
                        for name in _bound_paths(t):
                            if name not in self.names:
                                self.names.add(name)
                                changed = True
        self._returns = any(isinstance(n, ast.Return) and self.is_tainted(n.value) for n in self._body_nodes())


class _FnFacts:
    """Per-function helpers, built lazily (most functions never need them)."""

    def __init__(self, owner: "_Builder", fn: Function | None) -> None:
        self.owner = owner
        self.fn = fn
        self.nodes = owner.a.body_nodes(fn)
        self.shifted = self._shifted_bases()
        self.unpacked = owner.keyed_unpacks(self)
        targets = owner.sc.targets_of(fn)
        #: False when nothing here can carry a target: every taint query is then skipped
        self.seeded = bool(targets or self.shifted or self.unpacked)
        self.key_taint = KeyTaint(owner.a, fn, self._is_current_token, targets | set(self.unpacked),
                                  depth=3 if self.seeded else 0)
        self._targets = targets
        self._model: Taint | None = None
        self.assigns: dict[str, list[ast.AST]] = {}
        for node in self.nodes:
            for targets_, value in _assignments(node):
                for t in targets_:
                    for p in _paths(t):
                        self.assigns.setdefault(p, []).append(value)

    @property
    def model_taint(self) -> Taint | None:
        """Names carrying the model's own scored labels (not positional n-gram tokens)."""
        if self._model is None and self._targets:
            self._model = self.owner.a.taint(self.fn, lambda n: False, self._targets)
        return self._model

    def _shifted_bases(self) -> set[str]:
        """Arrays read at a position minus an offset somewhere in this function (``T[p - k]``)."""
        out: set[str] = set()
        for node in self.nodes:
            if isinstance(node, ast.Subscript) and not isinstance(node.slice, (ast.Slice, ast.Tuple)):
                if any(isinstance(b, ast.BinOp) and isinstance(b.op, ast.Sub) and isinstance(b.left, ast.Name)
                       for b in walk(node.slice)):
                    base = path_of(node.value)
                    if base is not None:
                        out.add(base)
        return out

    def _is_current_token(self, node: ast.AST) -> bool:
        """``T[p]`` where ``T`` is also read at ``p - k``: the newest token of a positional n-gram."""
        if not (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)):
            return False
        base = path_of(node.value)
        if base is None or base not in self.shifted:
            return False
        idx = node.slice
        while isinstance(idx, ast.Subscript):
            idx = idx.value
        return path_of(idx) is not None

    def carries(self, expr: ast.AST) -> bool:
        """Does ``expr``'s value (not a mask or index it is filtered by) carry a target?"""
        taint = self.key_taint
        for node in _key_walk(expr):
            if taint.seed(node):
                return True
            path = path_of(node)
            if path is not None and taint._path_tainted(path):
                return True
            if isinstance(node, ast.Call) and taint._local_call_taints(node):
                return True
        return False

    def mixes_target(self, expr: ast.AST | None, tuples: bool = False, depth: int = 4,
                     seen: set | None = None) -> int | None:
        """Line where ``expr`` (or a definition it reads) combines a target with another non-constant
        value into a key; None when it does not. Tuples count as composite keys only for dict-like
        tables (``tuples``): on arrays ``t[i, y]`` is an index, not a key."""
        if expr is None or depth < 0:
            return None
        seen = set() if seen is None else seen
        taint = self.key_taint
        for node in _key_walk(expr):
            if isinstance(node, ast.BinOp) and isinstance(node.op, KEY_OPS):
                other = [s for s in (node.left, node.right) if not self.carries(s)]
                if len(other) == 1 and not _is_const(other[0]):
                    return node.lineno
            if tuples and isinstance(node, ast.Tuple) and len(node.elts) > 1:
                flags = [self.carries(e) for e in node.elts]
                if any(flags) and not all(flags):
                    return node.lineno
            path = path_of(node)
            if path is not None and path in self.unpacked:
                return self.unpacked[path]
            if path is not None and path not in seen and taint.is_tainted(node):
                seen.add(path)
                for value in self.assigns.get(path, ()):
                    line = self.mixes_target(value, tuples, depth - 1, seen)
                    if line is not None:
                        return line
        return None


def _key_walk(expr: ast.AST):
    """The nodes a key's value is built from: comparisons (masks) and subscript indices are skipped,
    since a key derived from a lookup *result* or filtered by a mask does not contain the target."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Compare, ast.Lambda)):
            continue
        yield node
        if isinstance(node, ast.Subscript):
            stack.append(node.value)
        else:
            stack.extend(children(node))


def _paths(target: ast.AST) -> list[str]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [p for e in target.elts for p in _paths(e)]
    if isinstance(target, ast.Starred):
        return _paths(target.value)
    path = path_of(target)
    return [path] if path is not None else []


def _assignments(node: ast.AST) -> list[tuple[list[ast.AST], ast.AST]]:
    if isinstance(node, ast.Assign):
        return [(list(node.targets), node.value)]
    if isinstance(node, ast.AugAssign):
        return [([node.target], ast.BinOp(left=node.target, op=node.op, right=node.value, lineno=node.lineno,
                                          col_offset=node.col_offset))]
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return [([node.target], node.value)]
    return []


def _read_key(node: ast.AST) -> tuple[ast.AST, ast.AST] | None:
    """(table, key) of a table read: ``t[k]`` (load), ``t.get(k)``, ``np.take(t, k)``, ``t.index_select(d, k)``."""
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        return node.value, node.slice
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        name = node.func.attr
        if name == "get" and node.args:
            return node.func.value, node.args[0]
        if name == "index_select" and len(node.args) > 1:
            return node.func.value, node.args[1]
        if name == "take" and len(node.args) > 1 and isinstance(node.func.value, ast.Name):
            return node.args[0], node.args[1]
    return None


class _Builder:
    def __init__(self, a: "Analysis") -> None:
        self.a = a
        self.sc = a.fact(scoring.build)
        self._fn: dict[Function | None, _FnFacts] = {}
        self._returns: dict[Function, list[int | None]] = {}
        self._sink: dict[tuple[Function | None, int], bool] = {}

    def facts(self, fn: Function | None) -> _FnFacts:
        if fn not in self._fn:
            self._fn[fn] = _FnFacts(self, fn)
        return self._fn[fn]

    # ---- hash helpers returning (ctx_key, full_key) --------------------------------------------

    def keyed_returns(self, fn: Function) -> list[int | None]:
        """Per returned element (one element for a plain return): the line where it mixes a target
        into a key, else None."""
        if fn in self._returns:
            return self._returns[fn]
        self._returns[fn] = []  # recursion guard
        ff = self.facts(fn)
        out: list[int | None] = []
        if not ff.seeded:
            return out
        for node in ff.nodes:
            if isinstance(node, ast.Return) and node.value is not None:
                elts = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                lines = [ff.mixes_target(e) for e in elts]
                out = [x if x is not None else (out[i] if i < len(out) else None) for i, x in enumerate(lines)]
        self._returns[fn] = out
        return out

    def keyed_unpacks(self, ff: _FnFacts) -> dict[str, int]:
        """Names bound from a local helper's keyed return element (``ck, fk = helper(...)``)."""
        out: dict[str, int] = {}
        for node in ff.nodes:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            callees = [c for c in self.a.resolve_call(node.value.func, ff.fn) if c is not ff.fn]
            if not callees:
                continue
            returns = self.keyed_returns(callees[0])
            for target in node.targets:
                elts = target.elts if isinstance(target, ast.Tuple) else [target]
                if len(elts) != len(returns) and not (len(returns) == 1 and len(elts) == 1):
                    continue
                for elt, line in zip(elts, returns):
                    path = path_of(elt)
                    if path is not None and line is not None:
                        out[path] = line
        return out

    # ---- sinks -----------------------------------------------------------------------------------

    def reaches_log(self, fn: Function | None, seeds: list[ast.AST], depth: int = 2) -> bool:
        """Does the value of any of ``seeds`` reach a ``log`` here, or through ``return`` in a caller?"""
        ids = {id(s) for s in seeds}
        taint = Taint(self.a, fn, lambda n: id(n) in ids)
        if _log_tainted(self.facts(fn).nodes, taint):
            return True
        if depth > 0 and fn is not None and taint.returns_taint:
            for caller, call in self.sc.callers.get(fn, []):
                if self.reaches_log(caller, [call], depth - 1):
                    return True
        return False


def _log_tainted(nodes: list[ast.AST], taint: Taint) -> bool:
    for node in nodes:
        if is_log_call(node):
            call = node  # type: ignore[assignment]
            parts = [*call.args, call.func.value] if isinstance(call.func, ast.Attribute) else list(call.args)
            if any(taint.is_tainted(p) for p in parts):
                return True
    return False


def _loop_body_index(a: "Analysis", node: ast.AST) -> tuple[ast.AST, int] | None:
    """(innermost enclosing loop, index of the loop-body statement holding ``node``)."""
    child = node
    for anc in a.ancestors(node):
        if isinstance(anc, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return None
        if isinstance(anc, (ast.For, ast.While, ast.AsyncFor)) and child in anc.body:
            return anc, anc.body.index(child)
        child = anc
    return None


def _updates(nodes: list[ast.AST]) -> list[tuple[str, ast.AST]]:
    out: list[tuple[str, ast.AST]] = []
    for node in nodes:
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            path = table_path(node.target)
            if path is not None:
                out.append((path, node))
        elif isinstance(node, ast.Call):
            name = call_name(node)
            if name == "at" and node.args:  # np.add.at(table, keys, 1)
                path = table_path(node.args[0])
                if path is not None:
                    out.append((path, node))
            elif name in UPDATE_CALLS and isinstance(node.func, ast.Attribute):
                path = table_path(node.func.value)
                if path is not None:
                    out.append((path, node))
    return out


def build(a: "Analysis") -> NgramFacts:
    """The :class:`NgramFacts` of one file."""
    b = _Builder(a)
    res = NgramFacts()
    for fn in [None, *a.functions.values()]:
        raw = a.body_nodes(fn)
        reads = [(n, rk) for n in raw if (rk := _read_key(n)) is not None]
        if not reads:
            continue
        ff = b.facts(fn)
        keyed: list[Lookup] = []
        if ff.seeded:
            for node, (table, key) in reads:
                if not ff.key_taint.is_tainted(key) or ff.key_taint.is_tainted(_table_expr(node)):
                    continue
                line = ff.mixes_target(key, tuples=_dict_like(a, node))
                if line is not None:
                    keyed.append(Lookup(fn, node, ast.unparse(table), line))
        if keyed and not b.reaches_log(fn, [k.node for k in keyed]):
            keyed = []
        res.lookups.extend(keyed)
        if keyed:
            res.ratios.extend(_ratios(b, ff, keyed))
        res.early_updates.extend(_early_updates(b, ff, reads, raw))
    return res


DICT_CTORS = frozenset({"dict", "defaultdict", "Counter", "OrderedDict"})


def _dict_like(a: "Analysis", read: ast.AST) -> bool:
    """Is the table of ``read`` a dict (``.get`` read, or bound to ``{}`` / ``dict()`` somewhere)?"""
    if isinstance(read, ast.Call):
        return call_name(read) == "get"
    path = table_path(read)
    return path is not None and path in a.fact(_dict_paths)


def _dict_paths(a: "Analysis") -> frozenset[str]:
    out: set[str] = set()
    for node in a.walk(a.tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            value = node.value
            if isinstance(value, (ast.Dict, ast.DictComp)) or (
                    isinstance(value, ast.Call) and call_name(value) in DICT_CTORS):
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    out.update(_paths(t))
    return frozenset(out)


def _table_expr(node: ast.AST) -> ast.AST:
    if isinstance(node, ast.Subscript):
        return node.value
    assert isinstance(node, ast.Call)
    return node.args[0] if call_name(node) == "take" else node.func.value  # type: ignore[union-attr]


def _ratios(b: _Builder, ff: _FnFacts, keyed: list[Lookup]) -> list[Ratio]:
    """Divisions whose numerator reads a target-keyed lookup value directly (or one assignment away)."""
    seeds = {id(k.node) for k in keyed}
    direct = {p for path, values in ff.assigns.items() for v in values
              if any(id(n) in seeds for n in _key_walk(v)) for p in [path]}
    def reads_lookup(expr: ast.AST) -> bool:
        return any(id(n) in seeds or path_of(n) in direct for n in _key_walk(expr))

    out: list[Ratio] = []
    for node in ff.nodes:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and reads_lookup(node.left):
            if _is_const(node.right):
                continue
            model = ff.model_taint
            dirichlet = model is not None and any(
                isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add) and any(
                    model.is_tainted(s) and not reads_lookup(s) for s in (n.left, n.right))
                for n in walk(node.left))
            out.append(Ratio(ff.fn, node, dirichlet))
    return out


def _early_updates(b: _Builder, ff: _FnFacts, reads: list[tuple[ast.AST, tuple[str, ast.AST]]],
                   nodes: list[ast.AST]) -> list[EarlyUpdate]:
    updates = _updates(nodes)
    if not updates:
        return []
    out: list[EarlyUpdate] = []
    by_table: dict[str, list[ast.AST]] = {}
    for path, node in updates:
        by_table.setdefault(path, []).append(node)
    pairs: list[tuple[ast.AST, ast.AST, str]] = []
    seen: set[int] = set()
    for node, _ in reads:
        path = table_path(_table_expr(node))
        if path is None or path not in by_table:
            continue
        where = _loop_body_index(b.a, node)
        if where is None:
            continue
        loop, read_idx = where
        for upd in by_table[path]:
            uw = _loop_body_index(b.a, upd)
            if uw is not None and uw[0] is loop and uw[1] < read_idx and id(upd) not in seen:
                seen.add(id(upd))
                pairs.append((upd, node, path))
    if pairs and b.reaches_log(ff.fn, [read for _, read, _ in pairs]):
        out = [EarlyUpdate(ff.fn, upd, read, path) for upd, read, path in pairs]
    return out
