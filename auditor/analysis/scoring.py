"""Which names hold the *scored targets*, found by data flow (RULEBOOK §2 notation: ``y[t] = x[t]``).

A name holds scored targets in a function when the function uses it the way a scorer uses labels:

- the label argument of ``cross_entropy`` / ``nll_loss`` (2nd positional or ``target=``);
- the index of a ``gather`` / ``take_along_axis`` (the ``-log q[y]`` read);
- the class index of a subscript on a normalized distribution (``log_softmax(...)[..., y]``).

Targets then cross function boundaries through calls to local functions (a target passed as an
argument makes the callee's parameter a target). Names are never consulted: a label called ``foo``
is a target when it is used as one, and a variable called ``targets`` that is never scored is not.

The module also offers the few shared predicates the C1/C2 rules need: distribution-producing calls,
``log`` sinks, and the callers of each local function.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.analysis import config
from auditor.analysis.config import EnvSetting
from auditor.analysis.module import Function, Gate
from auditor.analysis.nodes import walk
from auditor.analysis.taint import path_of
from auditor import levels
from auditor.findings import Level

if TYPE_CHECKING:
    from auditor.analysis import Analysis

LOSS_FNS = frozenset({"cross_entropy", "nll_loss"})
DIST_FNS = frozenset({"log_softmax", "softmax"})
LOG_FNS = frozenset({"log", "log2", "log10", "log1p"})
#: calls that only reshape, cast or move a tensor: their receiver carries the value
VIEW_METHODS = frozenset({
    "reshape", "view", "flatten", "long", "int", "to", "unsqueeze", "squeeze", "contiguous", "cpu",
    "cuda", "numpy", "astype", "clone", "detach", "float", "double", "view_as", "reshape_as", "ravel",
    "tolist", "item", "type", "expand", "expand_as",
})


def call_name(call: ast.Call) -> str:
    """Last component of the callee: ``F.cross_entropy`` → ``cross_entropy``, ``x.log()`` → ``log``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def base_paths(expr: ast.AST) -> set[str]:
    """The variables an index/label expression reads through views, casts and slices:
    ``y.reshape(-1)`` → {y}; ``y_batch[i, s:w].long()`` → {y_batch}; ``tgt.unsqueeze(-1)`` → {tgt}."""
    out: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        path = path_of(node)
        if path is not None:
            out.add(path)
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in VIEW_METHODS:
            stack.append(node.func.value)
        elif isinstance(node, ast.Subscript):
            stack.append(node.value)
        elif isinstance(node, ast.Starred):
            stack.append(node.value)
    return out


def is_log_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and call_name(node) in LOG_FNS


@dataclass
class Scoring:
    """Targets per function, and the call graph edges the C1/C2 facts follow."""

    #: function (None = module level) → names holding scored targets
    targets: dict[Function | None, set[str]] = field(default_factory=dict)
    #: function → names holding normalized distributions (softmax / log_softmax results)
    dists: dict[Function | None, set[str]] = field(default_factory=dict)
    #: callee → [(caller or None, call node)]
    callers: dict[Function, list[tuple[Function | None, ast.Call]]] = field(default_factory=dict)

    def targets_of(self, fn: Function | None) -> set[str]:
        return self.targets.get(fn, set())


def _bound_param(callee: Function, call: ast.Call, index: int | None, keyword: str | None) -> str | None:
    params = callee.params
    offset = 1 if callee.cls is not None and params[:1] in (["self"], ["cls"]) else 0
    if keyword is not None:
        return keyword if keyword in params else None
    if index is not None and index + offset < len(params):
        return params[index + offset]
    return None


def _local_seeds(a: "Analysis", fn: Function | None, nodes: list[ast.AST], dists: set[str]) -> set[str]:
    seeds: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Call):
            name = call_name(node)
            if name in LOSS_FNS:
                label = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "target"), None)
                if label is not None:
                    seeds |= base_paths(label)
            elif name == "gather":
                # x.gather(dim, idx) / torch.gather(x, dim, idx), on a (log-)probability tensor only
                is_method = isinstance(node.func, ast.Attribute) and a.qualname(node.func) != "torch.gather"
                source = node.func.value if is_method else (node.args[0] if node.args else None)  # type: ignore[union-attr]
                if source is None or not _is_distribution(source, dists):
                    continue
                idx = node.args[1] if is_method and len(node.args) > 1 else (
                    node.args[2] if len(node.args) > 2 else next(
                        (k.value for k in node.keywords if k.arg == "index"), None))
                if idx is not None:
                    seeds |= base_paths(idx)
            elif name == "take_along_axis" and len(node.args) > 1:
                seeds |= base_paths(node.args[1])
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            # log_probs[..., y] / probs[arange(n), y]: the last index of a distribution
            base = path_of(node.value)
            if base is not None and base in dists and isinstance(node.slice, ast.Tuple) and node.slice.elts:
                last = node.slice.elts[-1]
                if not isinstance(last, ast.Slice):
                    seeds |= base_paths(last)
    return seeds


def _is_distribution(expr: ast.AST, dists: set[str]) -> bool:
    """A softmax/log_softmax result: a name bound to one, or an inline call chain ending in one."""
    for node in walk(expr):
        if isinstance(node, ast.Call) and call_name(node) in DIST_FNS:
            return True
    return bool(base_paths(expr) & dists)


def _dist_names(nodes: list[ast.AST]) -> set[str]:
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            value = node.value
            while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in (
                    VIEW_METHODS | {"exp"}):
                value = value.func.value
            if isinstance(value, ast.Call) and call_name(value) in DIST_FNS:
                path = path_of(node.targets[0])
                if path is not None:
                    out.add(path)
    return out


def build(a: "Analysis") -> Scoring:
    """The :class:`Scoring` fact of one file (use through ``a.fact(scoring.build)``)."""
    res = Scoring()
    scopes: list[Function | None] = [None, *a.functions.values()]
    bodies = {fn: a.body_nodes(fn) for fn in scopes}
    calls: dict[Function | None, list[ast.Call]] = {}
    for fn in scopes:
        nodes = bodies[fn]
        res.dists[fn] = _dist_names(nodes)
        res.targets[fn] = _local_seeds(a, fn, nodes, res.dists[fn])
        calls[fn] = [n for n in nodes if isinstance(n, ast.Call)]
        for call in calls[fn]:
            for callee in a.resolve_call(call.func, fn):
                res.callers.setdefault(callee, []).append((fn, call))
    # Propagate targets into callees through argument binding, to a fixpoint.
    changed = True
    while changed:
        changed = False
        for fn in scopes:
            names = res.targets[fn]
            if not names:
                continue
            for call in calls[fn]:
                args = [(i, None, arg) for i, arg in enumerate(call.args)]
                args += [(None, k.arg, k.value) for k in call.keywords if k.arg]
                for callee in a.resolve_call(call.func, fn):
                    for index, keyword, arg in args:
                        if not base_paths(arg) & names:
                            continue
                        param = _bound_param(callee, call, index, keyword)
                        if param is not None and param not in res.targets[callee]:
                            res.targets[callee].add(param)
                            changed = True
    return res


# ---- C1-b / C2-e shapes over the scored labels --------------------------------------------------

MIN_FNS = frozenset({"minimum", "fmin", "min", "amin"})


@dataclass
class Site:
    """One place where a rule's shape matched, with the reason in words."""

    fn: Function | None
    node: ast.AST
    what: str


@dataclass
class Gating:
    oracles: list[Site] = field(default_factory=list)
    target_weights: list[Site] = field(default_factory=list)
    gated_hints: list[Site] = field(default_factory=list)
    unnormalized_boosts: list[Site] = field(default_factory=list)


def _nonconst(expr: ast.AST) -> bool:
    return not isinstance(expr, ast.Constant)


def _one_minus(expr: ast.AST) -> ast.AST | None:
    """``(1 - a)`` → ``a``."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Sub) and isinstance(expr.left, ast.Constant):
        if expr.left.value == 1:
            return expr.right
    return None


def _factors(expr: ast.AST) -> list[ast.AST]:
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
        return [*_factors(expr.left), *_factors(expr.right)]
    return [expr]


def _has_partition(nodes: list[ast.AST]) -> bool:
    """A log-partition term: ``log(... exp(...) ...)``, ``log1p(p_h * expm1(b))`` or ``logsumexp``."""
    for node in nodes:
        if isinstance(node, ast.Call):
            name = call_name(node)
            if name == "logsumexp":
                return True
            if name in LOG_FNS and any(
                    isinstance(n, ast.Call) and call_name(n) in {"exp", "expm1"} for a in node.args for n in walk(a)):
                return True
    return False


def build_gating(a: "Analysis") -> Gating:
    """C1-b (oracle choice, target-weighted mixing, target-gated hint writes) and C2-e (one-token
    boost without a partition function) sites of one file (``a.fact(scoring.build_gating)``)."""
    sc = a.fact(build)
    res = Gating()
    for fn in [None, *a.functions.values()]:
        nodes = a.body_nodes(fn)
        res.gated_hints.extend(_gated_hint_writes(a, fn, nodes))
        targets = sc.targets_of(fn)
        if not targets:
            continue
        taint = a.taint(fn, lambda n: False, targets)
        tainted = taint.is_tainted
        partition = None
        for node in nodes:
            if isinstance(node, ast.Call) and call_name(node) in MIN_FNS and len(node.args) == 2 and not node.keywords:
                if all(_nonconst(x) and tainted(x) for x in node.args):
                    res.oracles.append(Site(fn, node, "per-token minimum of two scores of the same label"))
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                left, right = _factors(node.left), _factors(node.right)
                for one, other in ((left, right), (right, left)):
                    weights = [w for f in one if (w := _one_minus(f)) is not None]
                    if any(tainted(w) and any(ast.dump(w) == ast.dump(g) for g in other) for w in weights):
                        res.target_weights.append(Site(fn, node, "mixing weight computed from the scored label"))
                        break
            elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
                sides = (node.left, node.comparators[0])
                if all(_nonconst(s) for s in sides) and any(tainted(s) for s in sides) and _in_score_arith(a, node):
                    if partition is None:
                        partition = _has_partition(nodes)
                    if not partition:
                        res.unnormalized_boosts.append(Site(fn, node, "bonus for label == hint without log Z"))
    return res


def _in_score_arith(a: "Analysis", node: ast.AST) -> bool:
    """Is a comparison used as a number (``b * (y == h)``) inside arithmetic, not as a branch test?"""
    parent = a.parents.get(node)
    while isinstance(parent, ast.Attribute) and parent.attr in VIEW_METHODS or (
            isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr in VIEW_METHODS):
        parent = a.parents.get(parent)
    return isinstance(parent, ast.BinOp) and isinstance(parent.op, (ast.Mult, ast.Sub, ast.Add))


def _gated_hint_writes(a: "Analysis", fn: Function | None, nodes: list[ast.AST]) -> list[Site]:
    """``for i, tok in enumerate(toks): ... if lut[tok]: out[i] = <prediction>``: whether slot i gets
    a hint depends on the token at i (the one being predicted)."""
    out: list[Site] = []
    for loop in nodes:
        if not isinstance(loop, ast.For):
            continue
        index, token = _index_and_token(loop)
        if index is None or token is None:
            continue
        direct = _plain_derived(loop, token)
        if not _updates_state_with(loop, direct, index):
            continue  # not an online predictor learning from the token stream
        for node in walk(loop):
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
                continue
            slot = node.targets[0]
            if not (isinstance(slot, ast.Subscript) and path_of(slot.slice) == index):
                continue
            before = _plain_derived(loop, token, node.lineno)
            if any(isinstance(x, ast.Name) and x.id in before for x in walk(node.value)) or not any(
                    isinstance(x, ast.Subscript) or (isinstance(x, ast.Call) and call_name(x) == "get")
                    for x in walk(node.value)):
                continue  # not a prediction read from a table
            gate = next((anc for anc in a.ancestors(node) if isinstance(anc, ast.If) and any(
                isinstance(x, ast.Name) and x.id in _plain_derived(loop, token, anc.lineno + 1)
                for x in walk(anc.test))), None)
            if gate is None or not _within(a, gate, loop):
                continue
            out.append(Site(fn, node, f"slot {index} is written only when a table indexed by the token at "
                                      f"{index} allows it (gate at line {gate.lineno})"))
    return out


def _plain_derived(loop: ast.For, token: str, before: int | None = None) -> set[str]:
    """Names computed from ``token`` by plain assignments in the loop (table state excluded); with
    ``before``, only assignments above that line (``prev = tok`` at the end of the body still holds
    the previous token when the slot is written)."""
    names = {token}
    assigns = [n for n in walk(loop) if isinstance(n, ast.Assign) and (before is None or n.lineno < before)]
    changed = True
    while changed:
        changed = False
        for n in assigns:
            if any(isinstance(x, ast.Name) and x.id in names for x in walk(n.value)):
                for t in n.targets:
                    if isinstance(t, ast.Name) and t.id not in names:
                        names.add(t.id)
                        changed = True
    return names


def _updates_state_with(loop: ast.For, direct: set[str], index: str) -> bool:
    """Does the loop store a token-derived value into a table or object state (other than the
    per-position output slot ``out[index]``)?"""
    for node in walk(loop):
        value = None
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) or (isinstance(t, ast.Subscript) and path_of(t.slice) != index)
                for t in node.targets):
            value = node.value
        elif isinstance(node, ast.Call) and call_name(node) in {"append", "add"}:
            value = ast.Tuple(elts=list(node.args))
        if value is not None and any(isinstance(x, ast.Name) and x.id in direct for x in walk(value)):
            return True
    return False


def _within(a: "Analysis", node: ast.AST, loop: ast.AST) -> bool:
    return any(anc is loop for anc in a.ancestors(node))


def _index_and_token(loop: ast.For) -> tuple[str | None, str | None]:
    """``for i, tok in enumerate(xs)`` → (i, tok); ``for i in range(n): tok = xs[i]`` → (i, tok)."""
    if (isinstance(loop.iter, ast.Call) and call_name(loop.iter) == "enumerate"
            and isinstance(loop.target, ast.Tuple) and len(loop.target.elts) == 2):
        i, t = (path_of(e) for e in loop.target.elts)
        return i, t
    if isinstance(loop.target, ast.Name):
        for stmt in loop.body:
            if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                value = stmt.value
                while isinstance(value, ast.Call) and value.args and call_name(value) in {"int", "bool"}:
                    value = value.args[0]
                if isinstance(value, ast.Subscript) and path_of(value.slice) == loop.target.id:
                    return loop.target.id, stmt.targets[0].id
    return None, None


# ---- gates through parameters (``def f(alpha=0.0): use = alpha > 0; if use: ...``) --------------


def param_gate(a: "Analysis", node: ast.AST) -> Gate | None:
    """The innermost ``if`` around ``node`` that is off under the defaults *through a parameter*:
    its test reads a parameter (or a local computed from one) that every call site leaves at a
    falsy default or binds to an env setting whose default turns the branch off. The core
    :meth:`Analysis.liveness` sees env settings read directly; this follows them across one call."""
    fn = a.owner(node)
    if fn is None:
        return None
    child = node
    for anc in a.ancestors(node):
        if anc is fn.node:
            break
        if isinstance(anc, ast.If) and child is not anc.test:
            used: list[EnvSetting] = []
            value = config.evaluate(anc.test, lambda e: _resolve(a, fn, e, used, 3))
            if not config.is_unknown(value) and bool(value) != (child in anc.body) and used:
                return Gate(used[0], anc.lineno)
        child = anc
    return None


def _resolve(a: "Analysis", fn: Function, expr: ast.AST, used: list[EnvSetting], depth: int) -> EnvSetting | None:
    setting = a.setting_of(expr)
    if setting is not None:
        used.append(setting)
        return setting
    if depth <= 0 or not isinstance(expr, ast.Name):
        return None
    name = expr.id
    if name in fn.params:
        value = _param_value(a, fn, name, used)
        return None if config.is_unknown(value) else EnvSetting(name, name, value, fn.node.lineno)
    defs = [n for n in a.walk(fn.node) if isinstance(n, ast.Assign) and len(n.targets) == 1
            and isinstance(n.targets[0], ast.Name) and n.targets[0].id == name]
    if len(defs) != 1:
        return None
    value = config.evaluate(defs[0].value, lambda e: _resolve(a, fn, e, used, depth - 1))
    return None if config.is_unknown(value) else EnvSetting(name, name, value, defs[0].lineno)


def _param_value(a: "Analysis", fn: Function, name: str, used: list[EnvSetting]):
    """The value ``name`` has at every call site under the defaults (unknown if they differ)."""
    args = fn.node.args
    positional = [*args.posonlyargs, *args.args]
    defaults = dict(zip([p.arg for p in positional[len(positional) - len(args.defaults):]], args.defaults))
    defaults.update({p.arg: d for p, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    sites = a.fact(build).callers.get(fn, [])
    if not sites:
        return _UNKNOWN_VALUE
    values = []
    index = [p.arg for p in positional].index(name) if name in [p.arg for p in positional] else None
    offset = 1 if fn.cls is not None and [p.arg for p in positional][:1] in (["self"], ["cls"]) else 0
    for _, call in sites:
        bound = next((k.value for k in call.keywords if k.arg == name), None)
        if bound is None and index is not None and index - offset < len(call.args) and index - offset >= 0:
            bound = call.args[index - offset]
        if bound is None:
            bound = defaults.get(name)
        if bound is None:
            return _UNKNOWN_VALUE
        setting = a.setting_of(bound)
        if setting is not None:
            if not setting.known:
                return _UNKNOWN_VALUE
            used.append(setting)
            values.append(setting.default)
            continue
        value = config.evaluate(bound, lambda e: None)
        if config.is_unknown(value):
            return _UNKNOWN_VALUE
        values.append(value)
    return values[0] if all(v == values[0] for v in values) else _UNKNOWN_VALUE


_UNKNOWN_VALUE = config.evaluate(ast.Name(id="_"), lambda e: None)


def report(rule, a: "Analysis", node: ast.AST, message: str, **kw):
    """``rule.report`` plus :func:`param_gate`: a FAIL reachable only through a default-off parameter
    becomes REVIEW naming the env setting (RULEBOOK §8.4)."""
    finding = rule.report(a, node, message, **kw)
    if finding is None or finding.level <= Level.REVIEW:
        return finding
    gate = param_gate(a, node)
    if gate is not None:
        decided = levels.decide(finding.level, gate=levels.Gate.OFF_BY_DEFAULT).level
        assert decided is not None
        finding.level = decided
        finding.message += f" (live only when {gate.describe()})"
        finding.evidence.append(f"gated by {gate.describe()} at line {gate.line}")
    return finding
