"""Intra-procedural taint to a fixpoint, following calls into local functions by binding arguments.

A rule states what a *seed* is (for C1: the scored targets, ``y = tokens[1:]``-style slices or a
``target`` parameter; for C3: validation tokens) and asks which names carry it. Values flow through
assignments, tuple unpacking, augmented assignment, ``for`` targets, ``with ... as``, comprehensions,
walrus, subscripts and attribute access, and through calls: a call's result carries taint when an
argument does (or, for a local function, when its ``return`` does under the bound arguments).

Sanitizers stop the flow where a value's *shape*, not its content, is taken (``len(y)``, ``y.numel()``):
without them every loop bound derived from the targets would taint every index.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

from auditor.analysis.module import Function, Module
from auditor.analysis.nodes import children, walk

SeedFn = Callable[[ast.AST], bool]

SHAPE_CALLS = frozenset({"len", "range", "isinstance", "type", "id", "print", "hasattr"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
SHAPE_ATTRS = frozenset({"shape", "size", "numel", "dim", "ndim", "device", "dtype", "is_cuda", "nelement"})


def path_of(expr: ast.AST) -> str | None:
    """``x`` → ``"x"``, ``self.cache`` → ``"self.cache"``; anything else → None."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        return ".".join([expr.id, *reversed(parts)])
    return None


class Taint:
    """Which names in ``fn`` (module level when ``None``) carry a seed."""

    def __init__(
        self,
        module: Module,
        fn: Function | None,
        seed: SeedFn,
        initial: Iterable[str] = (),
        depth: int = 3,
        _memo: dict | None = None,
    ) -> None:
        self.module = module
        self.fn = fn
        self.seed = seed
        self.depth = depth
        self.names: set[str] = set(initial)
        self._memo: dict = {} if _memo is None else _memo
        self._returns = False
        self._run()

    @property
    def returns_taint(self) -> bool:
        return self._returns

    # ---- queries --------------------------------------------------------------------------------

    def is_tainted(self, expr: ast.AST | None) -> bool:
        """Does any part of ``expr`` carry the seed (not counting shape-only reads)?"""
        if expr is None:
            return False
        stack: list[ast.AST] = [expr]
        while stack:
            node = stack.pop()
            if self.seed(node):
                return True
            if isinstance(node, ast.Attribute) and node.attr in SHAPE_ATTRS:
                continue  # before the path test: ``y.shape`` is a shape read even when ``y`` is tainted
            path = path_of(node)
            if path is not None and self._path_tainted(path):
                return True
            if isinstance(node, ast.Call):
                if self._call_is_shape(node):
                    continue
                if self._local_call_taints(node):
                    return True
                stack.extend(node.args)
                stack.extend(k.value for k in node.keywords)
                stack.append(node.func)
                continue
            if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(node, _COMPREHENSIONS):
                if self._comprehension_tainted(node):
                    return True
                continue
            stack.extend(children(node))
        return False

    def _comprehension_tainted(self, node: ast.AST) -> bool:
        """A comprehension's loop variables are local to it: ``[f(p) for p in primes]`` does not read an
        outer tainted ``p``."""
        gens = node.generators  # type: ignore[attr-defined]
        if any(self.is_tainted(g.iter) for g in gens):
            return True
        local = {n.id for g in gens for n in walk(g.target) if isinstance(n, ast.Name)}
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]  # type: ignore[attr-defined]
        parts += [cond for g in gens for cond in g.ifs]
        saved = self.names
        self.names = {n for n in saved if n.split(".")[0] not in local}
        try:
            return any(self.is_tainted(p) for p in parts)
        finally:
            self.names = saved

    def _path_tainted(self, path: str) -> bool:
        # ``self.cache.x`` is tainted if ``self.cache.x``, ``self.cache`` or ``self`` was assigned taint:
        # the path itself or a prefix of it ending before a dot (set lookups, not a scan of the names)
        names = self.names
        if path in names:
            return True
        dot = path.find(".")
        while dot != -1:
            if path[:dot] in names:
                return True
            dot = path.find(".", dot + 1)
        return False

    def _call_is_shape(self, call: ast.Call) -> bool:
        func = call.func
        if isinstance(func, ast.Name) and func.id in SHAPE_CALLS:
            return True
        return isinstance(func, ast.Attribute) and func.attr in SHAPE_ATTRS

    def _local_call_taints(self, call: ast.Call) -> bool:
        """Follow a call into a local function: does its return carry taint from the bound args?"""
        if self.depth <= 0:
            return False
        for target in self.module.resolve_call(call.func, self.fn):
            params = target.params
            offset = 1 if target.cls is not None and params[:1] in (["self"], ["cls"]) else 0
            bound = {
                params[i + offset]
                for i, arg in enumerate(call.args)
                if i + offset < len(params) and self._arg_tainted(arg)
            }
            bound |= {k.arg for k in call.keywords if k.arg in params and self._arg_tainted(k.value)}
            if not bound:
                continue
            key = (target, frozenset(bound))
            if key not in self._memo:
                self._memo[key] = False  # breaks recursion cycles
                inner = Taint(self.module, target, self.seed, bound, self.depth - 1, self._memo)
                self._memo[key] = inner.returns_taint
            if self._memo[key]:
                return True
        return False

    def _arg_tainted(self, arg: ast.AST) -> bool:
        return self.is_tainted(arg.value if isinstance(arg, ast.Starred) else arg)

    # ---- propagation ----------------------------------------------------------------------------

    def _body_nodes(self) -> list[ast.AST]:
        return self.module.body_nodes(self.fn)

    def _flow_index(self) -> tuple[list, dict[str, list[int]], list[ast.AST]]:
        """The scope's flows, which names each flow's value mentions, and its returned values: they do
        not depend on the seed, so every taint of the same function in one file shares them."""
        body = self._body_nodes()
        flows = [f for n in body for f in _flows(n)]
        mentions: dict[str, list[int]] = {}
        for i, (_, value) in enumerate(flows):
            if value is not None:
                for name in {n.id for n in walk(value) if isinstance(n, ast.Name)}:
                    mentions.setdefault(name, []).append(i)
        rets = [n.value for n in body if isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)) and n.value]
        return flows, mentions, rets

    def _run(self) -> None:
        flows, mentions, rets = self.module.scope_memo("taint-flows", self.fn, self._flow_index)
        # Semi-naive fixpoint: a flow once tainted stays tainted, and an untainted flow is re-checked
        # only when a name it mentions became tainted (same result as re-checking every flow).
        done = [False] * len(flows)
        pending: Iterable[int] = range(len(flows))
        while pending:
            roots: set[str] = set()
            for i in sorted(pending):
                targets, value = flows[i]
                if done[i] or value is None or not self.is_tainted(value):
                    continue
                done[i] = True
                for t in targets:
                    for name in _bound_paths(t):
                        if name not in self.names:
                            self.names.add(name)
                            roots.add(name.split(".")[0])
            pending = {i for r in roots for i in mentions.get(r, ()) if not done[i]}
        self._returns = any(self.is_tainted(v) for v in rets)


def _flows(node: ast.AST) -> list[tuple[list[ast.AST], ast.AST | None]]:
    """(targets, value) pairs through which a value moves at ``node``."""
    if isinstance(node, ast.Assign):
        return [(list(node.targets), node.value)]
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [([node.target], node.value)]
    if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        return [([node.target], node.iter)]
    if isinstance(node, ast.NamedExpr):
        return [([node.target], node.value)]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [([i.optional_vars], i.context_expr) for i in node.items if i.optional_vars is not None]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        # in-place container writes: ``buf.append(y)``, ``t.copy_(y)``, ``d.update(...)``, ``x.index_add_(…, y)``
        if node.func.attr in {"append", "extend", "add", "update", "insert", "copy_", "index_add_",
                              "index_put_", "scatter_add_", "scatter_", "put_", "fill_", "add_"}:
            return [([node.func.value], ast.Tuple(elts=[*node.args, *(k.value for k in node.keywords)]))]
    return []


def _bound_paths(target: ast.AST) -> list[str]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [p for elt in target.elts for p in _bound_paths(elt)]
    if isinstance(target, ast.Starred):
        return _bound_paths(target.value)
    if isinstance(target, ast.Subscript):
        return _bound_paths(target.value)  # ``cache[k] = v`` taints the container
    path = path_of(target)
    return [path] if path is not None else []
