"""How a script turns its sums into val_bpb (RULEBOOK §5 BPB-FORMULA), and which values are byte counts.

Facts, all from data flow (``a.fact(bpb.build)``):

- **Byte tables.** The tables a LUT builder (:mod:`auditor.analysis.bytes_lut`) returns, followed from
  the call that unpacks them into names or attributes, through call arguments into parameters (to a
  fixpoint). An attribute that receives a table (``self.base_bytes_lut = ...``) is a table wherever
  that attribute is read. The table the builder fills with ``len(piece.encode())`` is the *base*
  table (bytes of the target itself).
- **Byte values** per function: a taint seeded by reads of those tables and by ``len(x.encode())``.
- **Formula terms.** A value that is returned, or logged as ``val_bpb:``, is flattened through
  ``*``/``/``, value-preserving wrappers (``float``, ``.item()``, ``.sum()``, ...) and local
  assignments into signed leaves: the ln 2 conversion, constants, byte values, token counts
  (``numel``/``len``/``size``/``shape`` sums), mean losses (``.mean()``, a default-reduction
  cross-entropy) and everything else. :func:`formula_defects` judges the leaves:
  bits per *token* reported while bytes are measured (all denominators are token counts),
  ln 2 applied twice (or to a ``log2`` loss), and a loss divided by bytes with no ln 2 at all.
- **Byte positions.** A base-table read indexed by something not derived from the scored labels of
  the same function (the bytes of other positions than the loss).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.analysis import bytes_lut, scoring
from auditor.analysis.module import Function
from auditor.analysis.nodes import of_type, walk
from auditor.analysis.scoring import LOSS_FNS, base_paths, call_name
from auditor.analysis.taint import Taint, path_of

if TYPE_CHECKING:
    from auditor.analysis import Analysis

LN2 = math.log(2)
#: calls that pass a value's kind through unchanged (a byte count stays a byte count)
PASS_METHODS = frozenset({"item", "float", "double", "to", "cpu", "detach", "sum", "clone", "long", "int",
                          "contiguous", "squeeze", "reshape", "view", "numpy", "tolist"})
PASS_FUNCS = frozenset({"float", "int", "double", "abs"})
#: calls that read a count of positions
COUNT_CALLS = frozenset({"numel", "nelement", "len", "size", "count_nonzero"})
LOG2_FNS = frozenset({"log2"})
INITIALIZERS = frozenset({"zeros", "tensor", "zeros_like", "empty", "full"})


def is_ln2(node: ast.AST, consts: dict[str, ast.AST] | None = None, depth: int = 2) -> bool:
    """``math.log(2)``, ``np.log(2.0)``, ``torch.log(torch.tensor(2.0))``, ``0.6931...`` or a module
    constant bound to one of them."""
    if isinstance(node, ast.Call) and call_name(node) == "log" and len(node.args) == 1:
        arg = node.args[0]
        while isinstance(arg, ast.Call) and arg.args:
            arg = arg.args[0]
        return isinstance(arg, ast.Constant) and arg.value in (2, 2.0)
    if isinstance(node, ast.Constant) and isinstance(node.value, float):
        return abs(node.value - LN2) < 1e-4
    if consts and depth > 0 and isinstance(node, ast.Name) and node.id in consts:
        return is_ln2(consts[node.id], consts, depth - 1)
    return False


def is_inv_ln2(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, float) and abs(node.value - 1 / LN2) < 1e-4


@dataclass
class Term:
    kind: str  # ln2 | invln2 | const | byte | token | mean | other
    sign: int  # +1 numerator, -1 denominator
    node: ast.AST
    log2: bool = False  # an accumulated loss computed with log2 (already in bits)


@dataclass
class Defect:
    fn: Function | None
    node: ast.AST
    what: str


@dataclass
class BpbFacts:
    #: scope → names holding byte tables, with role "base" or "other"
    tables: dict[Function | None, dict[str, str]] = field(default_factory=dict)
    #: attribute names that hold byte tables, with role
    table_attrs: dict[str, str] = field(default_factory=dict)
    measures_bytes: bool = False
    defects: list[Defect] = field(default_factory=list)
    positions: list[Defect] = field(default_factory=list)
    _byte_taint: dict[Function | None, object] = field(default_factory=dict)


def bodies(a: "Analysis") -> dict[Function | None, list[ast.AST]]:
    """Every scope's own nodes, walked once per file (``a.fact(bpb.bodies)``)."""
    return {fn: a.body_nodes(fn) for fn in [None, *a.functions.values()]}


class _NoBytes:
    """The byte taint of a scope that reads no byte table and encodes no text."""

    @staticmethod
    def is_tainted(expr: ast.AST | None) -> bool:
        return False


class ByteFlow:
    """Per-file byte identity and formula flattening, shared by PG503 (here) and PG204 (normalization)."""

    def __init__(self, a: "Analysis", res: BpbFacts) -> None:
        self.a = a
        self.res = res
        self.consts = {t.id: n.value for n in a.tree.body if isinstance(n, ast.Assign)
                       for t in n.targets if isinstance(t, ast.Name)}
        self._defs: dict[Function | None, tuple[dict[str, list[ast.AST]], dict[str, list[ast.AST]]]] = {}

    def defs(self, fn: Function | None) -> tuple[dict[str, list[ast.AST]], dict[str, list[ast.AST]]]:
        """(plain assignments, augmented assignments) per local name."""
        if fn not in self._defs:
            plain: dict[str, list[ast.AST]] = {}
            aug: dict[str, list[ast.AST]] = {}
            for n in self.a.fact(bodies)[fn]:
                if isinstance(n, ast.Assign):
                    for t in n.targets:
                        if (p := path_of(t)) is not None:
                            plain.setdefault(p, []).append(n.value)
                        elif isinstance(t, (ast.Tuple, ast.List)):
                            for e in t.elts:
                                if (p := path_of(e)) is not None:
                                    plain.setdefault(p, []).append(ast.Tuple(elts=[], ctx=ast.Load()))
                elif isinstance(n, ast.AnnAssign) and n.value is not None and (p := path_of(n.target)):
                    plain.setdefault(p, []).append(n.value)
                elif isinstance(n, ast.AugAssign) and (p := path_of(n.target)) is not None:
                    aug.setdefault(p, []).append(n.value)
                elif isinstance(n, ast.Call) and call_name(n) == "add_" and n.args and (
                        p := path_of(n.func.value)) is not None:  # type: ignore[union-attr]
                    aug.setdefault(p, []).append(n.args[0])
            self._defs[fn] = (plain, aug)
        return self._defs[fn]

    def byte_taint(self, fn: Function | None) -> Taint | _NoBytes:
        if fn not in self.res._byte_taint:
            names = self.res.tables.get(fn, {})
            attrs = self.res.table_attrs

            def seed(node: ast.AST) -> bool:
                if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                    base = node.value
                    if path_of(base) in names or (isinstance(base, ast.Attribute) and base.attr in attrs):
                        return True
                return _is_len_encode(node)

            nodes = self.a.fact(bodies)[fn]
            self.res._byte_taint[fn] = Taint(self.a, fn, seed) if any(seed(n) for n in nodes) else _NoBytes()
        return self.res._byte_taint[fn]

    # ---- flattening -----------------------------------------------------------------------------

    def terms(self, fn: Function | None, expr: ast.AST, sign: int = 1, depth: int = 6) -> list[Term]:
        expr = _unwrap(expr)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Mult, ast.Div)):
            right = -sign if isinstance(expr.op, ast.Div) else sign
            return self.terms(fn, expr.left, sign, depth) + self.terms(fn, expr.right, right, depth)
        if is_ln2(expr, self.consts):
            return [Term("ln2", sign, expr)]
        if is_inv_ln2(expr):
            return [Term("invln2", sign, expr)]
        if isinstance(expr, ast.Constant):
            return [Term("const", sign, expr)]
        if isinstance(expr, ast.Call) and call_name(expr) == "max" and len(expr.args) == 2 and any(
                isinstance(x, ast.Constant) for x in expr.args):  # max(bytes, 1)
            return self.terms(fn, next(x for x in expr.args if not isinstance(x, ast.Constant)), sign, depth)
        path = path_of(expr)
        plain, aug = self.defs(fn)
        if path is not None and depth > 0 and path not in aug and len(plain.get(path, [])) == 1:
            value = plain[path][0]
            if not (isinstance(value, ast.Tuple) and not value.elts):
                return self.terms(fn, value, sign, depth - 1)
        return [Term(self.kind(fn, expr), sign, expr, self.uses_log2(fn, expr))]

    def kind(self, fn: Function | None, expr: ast.AST) -> str:
        if self.byte_taint(fn).is_tainted(expr):
            return "byte"
        if self.is_token(fn, expr):
            return "token"
        if isinstance(expr, ast.Call) and (call_name(expr) == "mean" or (
                call_name(expr) in LOSS_FNS and not any(k.arg == "reduction" for k in expr.keywords))):
            return "mean"
        return "other"

    def is_token(self, fn: Function | None, expr: ast.AST, depth: int = 4) -> bool:
        expr = _unwrap(expr)
        if isinstance(expr, ast.Call) and call_name(expr) in COUNT_CALLS:
            return True
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Attribute) and expr.value.attr == "shape":
            return True
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
            parts = [p for p in (expr.left, expr.right) if not isinstance(p, ast.Constant)]
            return bool(parts) and all(self.is_token(fn, p, depth) for p in parts)
        path = path_of(expr)
        if path is None or depth <= 0:
            return False
        plain, aug = self.defs(fn)
        values = [*plain.get(path, []), *aug.get(path, [])]
        counted = [v for v in values if not _is_initializer(v)]
        return bool(counted) and all(self.is_token(fn, v, depth - 1) for v in counted)

    def uses_log2(self, fn: Function | None, expr: ast.AST) -> bool:
        path = path_of(expr)
        if path is None:
            return False
        _, aug = self.defs(fn)
        return any(isinstance(n, ast.Call) and call_name(n) in LOG2_FNS for v in aug.get(path, []) for n in walk(v))


def _unwrap(expr: ast.AST) -> ast.AST:
    while True:
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in PASS_METHODS \
                and not expr.args:
            expr = expr.func.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "to":
            expr = expr.func.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in PASS_FUNCS \
                and len(expr.args) == 1:
            expr = expr.args[0]
        else:
            return expr


def _is_initializer(value: ast.AST) -> bool:
    if isinstance(value, ast.Constant):
        return value.value in (0, 0.0)
    return isinstance(value, ast.Call) and call_name(value) in INITIALIZERS


def _is_len_encode(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and call_name(node) == "len" and len(node.args) == 1
            and isinstance(node.args[0], ast.Call) and call_name(node.args[0]) == "encode")


# ---- byte tables ------------------------------------------------------------------------------------


def _base_indices(builder: Function) -> tuple[int, ...] | None:
    """Which elements of the builder's returned tuple hold the ``len(piece.encode())`` table."""
    filled = {path_of(n.targets[0].value) for n in walk(builder.node)
              if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Subscript)
              and any(_is_len_encode(c) for c in walk(n.value))}
    for node in walk(builder.node):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            return tuple(i for i, e in enumerate(node.value.elts)
                         if {path_of(n) for n in walk(e)} & (filled - {None}))
    return None


def _tables(a: "Analysis", res: BpbFacts) -> None:
    sc = a.fact(scoring.build)
    luts = a.fact(bytes_lut.build)
    for builder in luts.builders:
        base = _base_indices(builder) or ()
        for caller, call in sc.callers.get(builder, []):
            parent = a.parents.get(call)
            if not isinstance(parent, ast.Assign):
                continue
            for target in parent.targets:
                elts = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
                for i, elt in enumerate(elts):
                    role = "base" if i in base else "other"
                    if isinstance(elt, ast.Attribute):
                        res.table_attrs[elt.attr] = role
                    if (p := path_of(elt)) is not None:
                        res.tables.setdefault(caller, {})[p] = role
    # into callees through arguments, to a fixpoint
    changed = True
    while changed:
        changed = False
        for fn, names in list(res.tables.items()):
            for node in a.fact(bodies)[fn]:
                if not isinstance(node, ast.Call):
                    continue
                args = [(i, None, x) for i, x in enumerate(node.args)] + [(None, k.arg, k.value) for k in node.keywords]
                for callee in a.resolve_call(node.func, fn):
                    params = callee.params
                    offset = 1 if callee.cls is not None and params[:1] in (["self"], ["cls"]) else 0
                    for i, kw, x in args:
                        path = path_of(x)
                        if path not in names:
                            continue
                        param = kw if kw in params else (params[i + offset] if i is not None and i + offset < len(params) else None)
                        if param is not None and param not in res.tables.setdefault(callee, {}):
                            res.tables[callee][param] = names[path]
                            changed = True


# ---- formula judgement ------------------------------------------------------------------------------


def formula_defects(ctx: ByteFlow, fn: Function | None, expr: ast.AST) -> str | None:
    """What is wrong with the val_bpb value ``expr`` (None: nothing seen)."""
    terms = ctx.terms(fn, expr)
    conv = sum(1 for t in terms if (t.kind == "ln2" and t.sign < 0) or (t.kind == "invln2" and t.sign > 0)) - sum(
        1 for t in terms if (t.kind == "ln2" and t.sign > 0) or (t.kind == "invln2" and t.sign < 0))
    losses = [t for t in terms if t.kind in ("other", "mean") and t.sign > 0]
    if any(t.kind == "const" and isinstance(t.node.value, float) and t.node.value not in (1.0, 2.0)  # type: ignore[attr-defined]
           for t in terms):
        return None  # a fixed ratio: PG502
    if conv >= 2 or (conv >= 1 and any(t.log2 for t in losses)):
        return "ln 2 is applied twice: the loss is already in bits when it is divided by ln 2 again"
    has_bytes = any(t.kind == "byte" for t in terms)
    below = [t for t in terms if t.sign < 0 and t.kind not in ("ln2", "const")]
    if conv == 1 and losses and not has_bytes and ctx.res.measures_bytes:
        tokens = [t for t in below if t.kind == "token"] + [t for t in losses if t.kind == "mean"]
        if tokens and all(t.kind == "token" for t in below):
            return ("val_bpb is bits per token: the loss is divided by the token count (and ln 2) but never "
                    "by the bytes this script measures")
    if conv == 0 and has_bytes and any(t.kind == "other" and not t.log2 for t in losses) and all(
            t.kind == "byte" for t in below) and below and not any(t.kind in ("token", "byte") for t in terms if t.sign > 0):
        return "the loss in nats is divided by bytes without the ln 2 conversion to bits"
    return None


def _headline_values(a: "Analysis", fn: Function | None) -> list[ast.AST]:
    """Returned values (tuple elements apart) and values logged under the ``val_bpb:`` key."""
    out: list[ast.AST] = []
    for node in a.fact(bodies)[fn]:
        if isinstance(node, ast.Return) and node.value is not None and fn is not None:
            out.extend(node.value.elts if isinstance(node.value, ast.Tuple) else [node.value])
        elif isinstance(node, ast.JoinedStr):
            for prev, part in zip(node.values, node.values[1:]):
                if isinstance(part, ast.FormattedValue) and isinstance(prev, ast.Constant) and \
                        str(prev.value).endswith("val_bpb:"):
                    out.append(part.value)
    return out


def _rescaled_by_caller(a: "Analysis", fn: Function) -> bool:
    """A caller multiplies or divides the returned value by something: it is not the final number."""
    for caller, call in a.fact(scoring.build).callers.get(fn, []):
        parent = a.parents.get(call)
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, (ast.Mult, ast.Div)):
            return True
        if isinstance(parent, ast.Assign):
            names = {p for t in parent.targets for n in walk(t) if (p := path_of(n)) is not None}
            for node in a.fact(bodies)[caller]:
                if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)) and any(
                        path_of(s) in names for side in (node.left, node.right) for s in walk(side)):
                    return True
    return False


def build(a: "Analysis") -> BpbFacts:
    res = BpbFacts()
    _tables(a, res)
    ctx = ByteFlow(a, res)
    scopes: list[Function | None] = [None, *a.functions.values()]
    res.measures_bytes = bool(res.tables)
    sc = a.fact(scoring.build)
    # scopes holding an ln 2 conversion, found once over the node index instead of per scope
    with_ln2: set[Function | None] = set()
    own: dict[Function | None, set[int]] = {}
    for n in of_type(a.tree, ast.Call, ast.Constant, ast.Name):
        if is_ln2(n, ctx.consts) or is_inv_ln2(n):
            scope = a.owner(n)
            if scope not in own:  # the scope's own nodes (not a nested lambda's or class's)
                own[scope] = {id(x) for x in a.fact(bodies)[scope]}
            if id(n) in own[scope]:
                with_ln2.add(scope)
    for fn in scopes:
        nodes = a.fact(bodies)[fn]
        if fn not in with_ln2 and not res.tables.get(fn) and not res.table_attrs:
            continue
        for value in _headline_values(a, fn):
            what = formula_defects(ctx, fn, value)
            if what is not None and not (fn is not None and _rescaled_by_caller(a, fn)):
                res.defects.append(Defect(fn, value, what))
        res.positions.extend(_misplaced_bytes(a, ctx, fn, nodes, sc.targets_of(fn)))
    return res


def _misplaced_bytes(a: "Analysis", ctx: ByteFlow, fn: Function | None, nodes: list[ast.AST],
                     targets: set[str]) -> list[Defect]:
    """Base-table reads indexed by the model's *input* tokens rather than the scored labels."""
    if not targets:
        return []
    names = {p for p, role in ctx.res.tables.get(fn, {}).items() if role == "base"}
    attrs = {n for n, role in ctx.res.table_attrs.items() if role == "base"}
    reads = [n for n in nodes if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Load) and (
        path_of(n.value) in names or (isinstance(n.value, ast.Attribute) and n.value.attr in attrs))]
    if not reads:
        return []
    inputs = _model_inputs(ctx, fn, nodes)
    if not inputs:
        return []
    label = Taint(a, fn, lambda n: False, targets)
    given = Taint(a, fn, lambda n: False, inputs)
    # what an index *is*, through aliases: ``tgt = y[:, s:].reshape(-1)`` beside ``targets = y[:, s:]...``
    # is the same slice of the labels whichever name reached the loss
    plain, _ = ctx.defs(fn)
    label_forms = {_form(ast.Name(id=t, ctx=ast.Load()), plain) for t in targets}
    return [Defect(fn, n, f"bytes are read at `{ast.unparse(n.slice)}`, the model's input tokens, not at the "
                          f"scored labels ({', '.join(sorted(targets))})")
            for n in reads if given.is_tainted(n.slice) and not label.is_tainted(n.slice)
            and _form(n.slice, plain) not in label_forms]


#: methods that give another view of the same values (same positions, other shape or dtype)
_VIEWS = frozenset({"reshape", "view", "flatten", "contiguous", "long", "int", "to", "cpu", "cuda", "squeeze",
                    "unsqueeze", "clone", "detach", "ravel"})


def _form(expr: ast.AST, plain: dict[str, list[ast.AST]], depth: int = 6) -> str:
    """The expression a value is, with local names bound once replaced by their values and views
    (``.reshape(-1)``, ``.long()``) dropped: equal forms are equal values at equal positions."""
    if depth <= 0:
        return ast.unparse(expr)
    if isinstance(expr, ast.Name) and len(plain.get(expr.id, [])) == 1:
        value = plain[expr.id][0]
        if not (isinstance(value, ast.Tuple) and not value.elts):  # tuple-unpacked: no single value
            return _form(value, plain, depth - 1)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _VIEWS:
        return _form(expr.func.value, plain, depth - 1)
    if isinstance(expr, ast.Subscript):
        return f"{_form(expr.value, plain, depth - 1)}[{ast.unparse(expr.slice)}]"
    return ast.unparse(expr)


def _model_inputs(ctx: ByteFlow, fn: Function | None, nodes: list[ast.AST]) -> set[str]:
    """Arguments of the calls that produce the logits scored by a cross-entropy in ``fn``."""
    plain, _ = ctx.defs(fn)
    out: set[str] = set()
    for node in nodes:
        if not (isinstance(node, ast.Call) and call_name(node) in LOSS_FNS and node.args):
            continue
        stack, seen = [node.args[0]], set()
        while stack:
            expr = stack.pop()
            for n in walk(expr):
                if isinstance(n, ast.Call) and call_name(n) not in PASS_METHODS | scoring.VIEW_METHODS:
                    for arg in n.args:
                        out |= base_paths(arg)
                elif (p := path_of(n)) is not None and p not in seen and len(plain.get(p, [])) == 1:
                    seen.add(p)
                    stack.append(plain[p][0])
    return out
