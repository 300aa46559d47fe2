"""One parsed source file and the cheap facts every rule shares.

Built once per file, in a handful of linear passes over Python's ``ast`` (see ``analysis/__init__``
for why ``ast`` and not libcst metadata carries the per-node work):

- ``parents``: child → parent links, so a rule can ask what encloses a node;
- ``aliases``: import bindings, so ``F.cross_entropy`` and ``L.decompress`` resolve to
  ``torch.nn.functional.cross_entropy`` and ``lzma.decompress``;
- ``functions``: every ``def`` (methods as ``Class.method``), and the references between them;
- ``settings``: attributes and variables bound from environment variables, with folded defaults —
  or, when the run's configuration is known (``overrides``: env names from the run command, attribute
  names from a log's hyperparameter dump; RULEBOOK §8.3), the values that run used;
- reachability from the script's entry points, where each function is LIVE, GATED behind a
  non-default setting (the first such gate found on every path), or DEAD.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from auditor.analysis import config
from auditor.analysis.config import EnvSetting
from auditor.analysis.nodes import children, tree_nodes, walk
from auditor.source import SourceFile

if TYPE_CHECKING:
    from auditor.analysis.program import HelperContext


T = TypeVar("T")

#: deepest syntax tree analysed: CPython's compiler itself gives up around here, so deeper source
#: cannot run either
MAX_NESTING = 1000


class NestingTooDeep(Exception):
    """The syntax tree is deeper than :data:`MAX_NESTING`."""


@dataclass(frozen=True)
class Gate:
    """A branch that does not run under the default configuration."""

    setting: EnvSetting
    line: int

    def describe(self) -> str:
        if self.setting.overridden:
            return f"{self.setting.env} is changed from {self.setting.default!r}, the run's configuration"
        return f"{self.setting.env} is changed from its default {self.setting.default!r}"


@dataclass(frozen=True)
class Liveness:
    dead: bool = False
    gate: Gate | None = None


LIVE = Liveness()
DEAD = Liveness(dead=True)


@dataclass(eq=False)
class Function:
    qualname: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    cls: str | None = None
    #: local functions this one references (calls, callbacks), each with the gate at that site
    refs: list[tuple["Function", Gate | None, ast.AST]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def params(self) -> list[str]:
        a = self.node.args
        return [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]


class Module:
    """The shared facts of one source file. Rules use it through :class:`auditor.analysis.Analysis`."""

    def __init__(
        self,
        source: SourceFile,
        tree: ast.Module,
        overrides: Mapping[str, str] | None = None,
        context: "HelperContext | None" = None,
    ) -> None:
        self.source = source
        self.tree = tree
        self.overrides: Mapping[str, str] = overrides or {}
        #: for a helper module: how the main script calls it (``analysis/program.py``)
        self.context = context
        self.parents: dict[ast.AST, ast.AST] = {}
        self.aliases: dict[str, str] = {}
        self.functions: dict[str, Function] = {}
        self.by_name: dict[str, list[Function]] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        self.settings: dict[str, EnvSetting] = {}
        self._owner: dict[ast.AST, Function] = {}
        self._aliases: dict[tuple[str, str], EnvSetting | None] = {}
        self._assigned: dict[str, dict[str, list[ast.expr]]] = {}
        self._state: dict[Function, Liveness] = {}
        self._walks: dict[ast.AST, list[ast.AST]] = {}
        self._bodies: dict[ast.AST, list[ast.AST]] = {}
        self._scope_memo: dict[tuple[str, ast.AST], object] = {}
        self._resolved: dict[tuple[ast.expr, Function | None], list[Function]] = {}
        #: references to local functions from module-level code: the script's entry points
        self._module_refs: list[tuple[Function, Gate | None, ast.AST]] = []
        tree_nodes(tree)  # index the tree's child lists (the loader's scans usually did already)
        self._index()
        # what a call may resolve to, grouped once (``resolve_call`` is asked about every loaded name)
        self._of_class: dict[str | None, list[Function]] = {}
        for fn in self.functions.values():
            self._of_class.setdefault(fn.cls, []).append(fn)
        self._plain = {name: [f for f in fns if f.cls is None] for name, fns in self.by_name.items()}
        self._methods = {name: methods for name, fns in self.by_name.items()
                         if (methods := [f for f in fns if f.cls is not None])}
        self._collect_settings()
        self._link()
        self._reach()

    # ---- indexing -------------------------------------------------------------------------------

    def _index(self) -> None:
        """One walk over the tree: parents, owners, definitions, imports, and the nodes the later
        passes need (assignments for settings, loaded names for references)."""
        self._assigns: list[ast.Assign | ast.AnnAssign] = []
        self._loads: list[ast.Name | ast.Attribute] = []
        defined: list[Function] = []
        stack: list[tuple[ast.AST, str | None, str, Function | None, int]] = [(self.tree, None, "", None, 0)]
        while stack:
            node, cls, prefix, owner, depth = stack.pop()
            if depth > MAX_NESTING:
                # ``ast.parse`` accepts e.g. a 2,000-deep ``----1`` that CPython's compiler rejects
                raise NestingTooDeep(f"source nests more than {MAX_NESTING} levels deep (line {node.lineno})")
            depth += 1
            for child in children(node):
                self.parents[child] = node
                if owner is not None:
                    self._owner[child] = owner
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    fn = Function(f"{prefix}{child.name}", child, cls)
                    defined.append(fn)
                    self.by_name.setdefault(child.name, []).append(fn)
                    stack.append((child, None, f"{fn.qualname}.", fn, depth))
                    continue
                if isinstance(child, ast.ClassDef):
                    self.classes.setdefault(child.name, child)
                    stack.append((child, child.name, f"{prefix}{child.name}.", owner, depth))
                    continue
                if isinstance(child, (ast.Name, ast.Attribute)):
                    if isinstance(child.ctx, ast.Load):
                        self._loads.append(child)
                elif isinstance(child, ast.Assign):
                    if len(child.targets) == 1:
                        self._assigns.append(child)
                elif isinstance(child, ast.AnnAssign):
                    if child.value is not None:
                        self._assigns.append(child)
                elif isinstance(child, ast.Import):
                    for a in child.names:
                        local = a.asname or a.name.split(".")[0]
                        self.aliases[local] = a.name if a.asname else local
                elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                    for a in child.names:
                        self.aliases[a.asname or a.name] = f"{child.module}.{a.name}"
                stack.append((child, cls, prefix, owner, depth))
        if len({fn.qualname for fn in defined}) < len(defined):
            self._tell_redefinitions_apart(defined)
        self.functions = {fn.qualname: fn for fn in defined}

    def _tell_redefinitions_apart(self, defined: list[Function]) -> None:
        """A name defined twice in one scope (a script pasted twice; ``if ...: def f`` / ``else: def f``):
        every body is analysed, so each definition needs its own key. The last one in file order binds
        the name and keeps its qualname; an earlier one is told apart by its line (``f (line 12)``), and
        so are the functions nested in it. Calls by name still reach every definition (``by_name``)."""
        provisional: dict[Function, str] = {fn: fn.qualname for fn in defined}
        inner: dict[Function | None, list[Function]] = {}
        for fn in defined:
            inner.setdefault(self._owner.get(fn.node), []).append(fn)
        todo: list[Function | None] = [None]
        while todo:
            owner = todo.pop()
            scope = sorted(inner.get(owner, ()), key=lambda f: (f.node.lineno, f.node.col_offset))
            old_prefix = f"{provisional[owner]}." if owner is not None else ""
            new_prefix = f"{owner.qualname}." if owner is not None else ""
            tails = [provisional[fn][len(old_prefix):] for fn in scope]
            binding = {tail: fn for tail, fn in zip(tails, scope)}  # the later definition wins
            for tail, fn in zip(tails, scope):
                shown = tail if binding[tail] is fn else f"{tail} (line {fn.node.lineno})"
                fn.qualname = new_prefix + shown
                todo.append(fn)

    def _collect_settings(self) -> None:
        # source order, so that the first binding of a name wins as it did with a plain walk
        for node in sorted(self._assigns, key=lambda n: (n.lineno, n.col_offset)):
            if isinstance(node, ast.Assign):
                target, value = node.targets[0], node.value
            else:
                target, value = node.target, node.value
            folded = config.fold_setting(value, self.qualname)
            if folded is None:
                continue
            env, default, known = folded
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
            if not name or name in self.settings:
                continue
            setting = EnvSetting(name, env, default, node.lineno, known)
            effective = self._effective(value, name, env)
            if effective is not None and (not known or effective != default):
                setting = EnvSetting(name, env, effective, node.lineno, True, code_default=default, overridden=True)
            elif effective is not None:
                setting = EnvSetting(name, env, default, node.lineno, known, confirmed=True)
            self.settings[name] = setting

    def _effective(self, value: ast.expr, name: str, env: str) -> object | None:
        """The value the run used: its log dump (what the script computed), else its env assignment
        (cast as the code casts it)."""
        if name in self.overrides and name != env:
            return config.parse_logged_value(self.overrides[name])
        if env in self.overrides:
            folded = config.fold_setting(value, self.qualname, self.overrides)
            return None if folded is None or not folded[2] else folded[1]
        return None

    # ---- names ----------------------------------------------------------------------------------

    def qualname(self, expr: ast.AST) -> str | None:
        """Dotted name of ``expr`` with import aliases resolved (``F.softmax`` → ``torch.nn.functional.softmax``)."""
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if isinstance(expr, ast.Call):  # torch.no_grad().__enter__ style chains: name the callee
            return None
        if not isinstance(expr, ast.Name):
            return None
        head = self.aliases.get(expr.id, expr.id)
        return ".".join([head, *reversed(parts)])

    def setting_of(self, expr: ast.AST) -> EnvSetting | None:
        """The env setting an expression reads: ``args.flag``, ``Hyperparameters.flag``, ``FLAG``,
        ``getattr(args, "flag", ...)`` or a direct ``os.environ.get``."""
        if isinstance(expr, ast.Attribute):
            return self.settings.get(expr.attr)
        if isinstance(expr, ast.Name):
            return (self.settings.get(expr.id) or self._local_alias(expr) or self._helper_param(expr)
                    or self._env_default_param(expr))
        if isinstance(expr, ast.Call):
            if isinstance(expr.func, ast.Name) and expr.func.id == "getattr" and len(expr.args) >= 2:
                key = expr.args[1]
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    return self.settings.get(key.value)
            folded = config.fold_setting(expr, self.qualname)
            if folded is not None:
                env, default, known = folded
                # an env read anywhere (a default argument, a call argument) runs under the run's
                # configuration too (RULEBOOK §11.5)
                run = config.fold_setting(expr, self.qualname, self.overrides) if env in self.overrides else None
                if run is not None and run[2] and (not known or run[1] != default):
                    return EnvSetting(env, env, run[1], expr.lineno, True, code_default=default, overridden=True)
                return EnvSetting(env, env, default, expr.lineno, known, confirmed=run is not None and run[2])
        return None

    def _local_alias(self, name: ast.Name) -> EnvSetting | None:
        """A local variable bound once, in its function, to a setting read: ``use = getattr(args, "x", 0)``
        makes ``if use:`` a gate on that setting."""
        fn = self.owner(name)
        if fn is None:
            return None
        key = (fn.qualname, name.id)
        if key not in self._aliases:
            self._aliases[key] = None  # breaks alias cycles
            values = self._assignments(fn).get(name.id, [])
            if len(values) == 1 and not isinstance(values[0], ast.Name):
                self._aliases[key] = self.setting_of(values[0]) or self._derived(name.id, values[0])
        return self._aliases[key]

    def _derived(self, name: str, value: ast.expr) -> EnvSetting | None:
        """``enabled = boost > 0.0``: a local decided by settings, named after the first one it reads."""
        decided = config.evaluate(value, self.setting_of)
        if config.is_unknown(decided):
            return None
        source = self._first_setting(value)
        if source is None:
            return None
        return EnvSetting(name, source.env, decided, value.lineno, True, source.code_default, source.overridden,
                          source.confirmed)

    def _helper_param(self, name: ast.Name) -> EnvSetting | None:
        """In a helper module, a parameter of the function main calls: the value every call site in the
        main script passes, else the parameter's default (RULEBOOK §8: the executed configuration)."""
        fn = self.owner(name)
        if self.context is None or fn is None or name.id not in fn.params:
            return None
        if self._assignments(fn).get(name.id):
            return None  # rebound inside the function: no longer the argument
        params = fn.params
        where = (fn.qualname, name.id)
        positional = (fn.qualname, params.index(name.id) - (1 if fn.cls is not None else 0))
        for key in (where, positional):
            if key in self.context.params:
                return EnvSetting(name.id, f"{fn.qualname}({name.id}=...)", self.context.params[key], fn.node.lineno,
                                  confirmed=key in self.context.established)
        found, default = _param_default(fn.node, name.id)
        if not found:
            # ``def f(k=int(os.environ.get("K", 0)))``: the env read, under the run's configuration
            expr = _param_default_expr(fn.node, name.id)
            return self.setting_of(expr) if isinstance(expr, ast.Call) else None
        return EnvSetting(name.id, f"{fn.qualname}({name.id}=...)", default, fn.node.lineno)

    def _env_default_param(self, name: ast.Name) -> EnvSetting | None:
        """``def f(enabled=bool(int(os.environ.get("X", "0")))):`` with no call site in this file
        passing ``enabled``: the parameter is that env read, under the run's configuration."""
        fn = self.owner(name)
        if fn is None or name.id not in fn.params or self._assignments(fn).get(name.id):
            return None
        default = _param_default_expr(fn.node, name.id)
        if not isinstance(default, ast.Call):
            return None
        setting = self.setting_of(default)
        if setting is None:
            return None
        positional = [p.arg for p in (*fn.node.args.posonlyargs, *fn.node.args.args)]
        index = positional.index(name.id) - (1 if fn.cls is not None else 0) if name.id in positional else None
        for call in self._calls_named().get(fn.name, ()):
            if any(k.arg in (name.id, None) for k in call.keywords):
                return None
            if any(isinstance(x, ast.Starred) for x in call.args) or (index is not None and len(call.args) > index):
                return None
        return setting

    def _calls_named(self) -> dict[str, list[ast.Call]]:
        """Calls in this file by the called name (``f(...)``, ``obj.f(...)``), built once."""
        if not hasattr(self, "_calls_by_name"):
            self._calls_by_name: dict[str, list[ast.Call]] = {}
            for node in self.walk(self.tree):
                if isinstance(node, ast.Call):
                    f = node.func
                    called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                    if called:
                        self._calls_by_name.setdefault(called, []).append(node)
        return self._calls_by_name

    # ---- structure ------------------------------------------------------------------------------

    def walk(self, node: ast.AST) -> list[ast.AST]:
        """``ast.walk(node)`` as a list, computed once per node: the fact modules walk the same
        functions and the whole tree many times over."""
        found = self._walks.get(node)
        if found is None:
            found = self._walks[node] = tree_nodes(node) if node is self.tree else walk(node)
        return found

    def scope_memo(self, kind: str, fn: Function | None, build: Callable[[], T]) -> T:
        """A per-function fact named ``kind``, built once per file (module level when ``fn`` is None)."""
        key = (kind, self.tree if fn is None else fn.node)
        if key not in self._scope_memo:
            self._scope_memo[key] = build()
        return self._scope_memo[key]

    def body_nodes(self, fn: Function | None) -> list[ast.AST]:
        """Every node in ``fn``'s own body, nested ``def``/``class``/``lambda`` bodies excluded
        (module level when ``fn`` is None); computed once per function."""
        root = self.tree if fn is None else fn.node
        found = self._bodies.get(root)
        if found is None:
            found = []
            stack = list(children(root))
            while stack:
                node = stack.pop()
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    continue
                found.append(node)
                stack.extend(children(node))
            self._bodies[root] = found
        return found

    def owner(self, node: ast.AST) -> Function | None:
        """The innermost function whose body contains ``node`` (None at module level)."""
        return self._owner.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        while node in self.parents:
            node = self.parents[node]
            yield node

    def local_gate(self, node: ast.AST) -> Gate | None:
        """The innermost ``if`` around ``node`` (inside its function) that the defaults switch off."""
        child = node
        for anc in self.ancestors(node):
            if isinstance(anc, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                return None
            if isinstance(anc, (ast.If, ast.IfExp)) and child is not anc.test:
                in_body = child in anc.body if isinstance(anc, ast.If) else child is anc.body
                taken = config.evaluate(anc.test, self.setting_of)
                if not config.is_unknown(taken) and bool(taken) != in_body:
                    setting = self._first_setting(anc.test)
                    if setting is not None:
                        return Gate(setting, anc.lineno)
            child = anc
        return None

    def _first_setting(self, test: ast.expr) -> EnvSetting | None:
        for sub in walk(test):
            found = self.setting_of(sub)
            if found is not None:
                return found
        return None

    def resolve_call(self, func: ast.expr, within: Function | None) -> list[Function]:
        """Local functions a call/reference may reach: ``f``, ``self.m``, ``obj.m``, ``Class(...)``.

        Memoized per (expression, scope): the fact modules ask about the same call sites many times.
        The returned list is shared between callers, so it must not be modified."""
        # most loaded names are no local function at all (``torch``, ``x``): answered without the memo
        if isinstance(func, ast.Name):
            if func.id not in self.by_name and func.id not in self.classes:
                return []
        elif not (isinstance(func, ast.Attribute) and func.attr in self._methods):
            return []
        key = (func, within)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._resolve_call(func, within)
        return found

    def _resolve_call(self, func: ast.expr, within: Function | None) -> list[Function]:
        if isinstance(func, ast.Name):
            if within is not None:
                nested = self.functions.get(f"{within.qualname}.{func.id}")
                if nested is not None:
                    return [nested]
            if func.id in self.classes:
                return list(self._of_class.get(func.id, ()))
            return list(self._plain.get(func.id, ()))
        if isinstance(func, ast.Attribute):
            methods = self._methods[func.attr]
            receiver = self._constructed_class(func.value, within)
            if receiver is not None:  # ``state = WordState(...); state.step()``: that class's method only
                return [f for f in methods if f.cls == receiver]
            return list(methods)
        return []

    def _constructed_class(self, expr: ast.expr, within: Function | None) -> str | None:
        """The local class a variable holds when its function binds it once, to that class's constructor."""
        if within is None or not isinstance(expr, ast.Name):
            return None
        values = self._assignments(within).get(expr.id, [])
        if len(values) == 1 and isinstance(values[0], ast.Call) and isinstance(values[0].func, ast.Name):
            name = values[0].func.id
            return name if name in self.classes else None
        return None

    def _assignments(self, fn: Function) -> dict[str, list[ast.expr]]:
        """Values bound to plain names by ``name = value`` in ``fn`` (computed once per function)."""
        if fn.qualname not in self._assigned:
            assigned: dict[str, list[ast.expr]] = {}
            for n in self.walk(fn.node):
                if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
                    assigned.setdefault(n.targets[0].id, []).append(n.value)
            self._assigned[fn.qualname] = assigned
        return self._assigned[fn.qualname]

    def _link(self) -> None:
        for node in self._loads:
            within = self.owner(node)
            for target in self.resolve_call(node, within):
                if target is within or target.node is node:
                    continue
                gate = self.local_gate(node)
                if within is None:
                    self._module_refs.append((target, gate, node))
                else:
                    within.refs.append((target, gate, node))

    def _reach(self) -> None:
        roots = self._module_refs
        # A snippet or a helper module has no entry point of its own: every function counts as live.
        if not roots and self.source.role == "main" and not self._has_main_guard():
            roots = [(fn, None, fn.node) for fn in self.functions.values()]
        if self.source.role == "helper":
            entries = self.context.entries if self.context is not None else set()
            roots = [(fn, None, fn.node) for fn in self.functions.values()
                     if not entries or fn.qualname.split(".")[0] in entries]
        queue: deque[tuple[Function, Gate | None]] = deque((fn, gate) for fn, gate, _ in roots)
        while queue:
            fn, gate = queue.popleft()
            known = self._state.get(fn)
            if known is not None and (known.gate is None or gate is not None):
                continue  # already reached at least as live
            self._state[fn] = Liveness(gate=gate)
            for target, site_gate, _ in fn.refs:
                queue.append((target, gate or site_gate))

    def _has_main_guard(self) -> bool:
        return any(
            isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test) for stmt in self.tree.body
        )

    def function_liveness(self, fn: Function) -> Liveness:
        return self._state.get(fn, DEAD)

    def liveness(self, node: ast.AST) -> Liveness:
        fn = self.owner(node)
        base = LIVE if fn is None else self.function_liveness(fn)
        if base.dead:
            return base
        value = self.value_gate(node)
        if value is DEAD:
            return DEAD
        return Liveness(gate=base.gate or self.local_gate(node) or (value.gate if value is not None else None))

    def value_gate(self, node: ast.AST) -> Liveness | None:
        """An enclosing ``if`` (in ``node``'s function) that can never take ``node``'s branch because of
        the *values* its test computes — a probability above a threshold of 99, ``beta != 0`` with beta
        0 at every call site — rather than a flag it reads (flags are :meth:`local_gate`'s).

        DEAD when those values are constants or stated by the run's configuration; otherwise a gate on
        the first setting read (the code's defaults alone do not say what the run used)."""
        fact = getattr(self, "fact", None)
        if fact is None:
            return None
        from auditor.analysis.values import Values

        fn = self.owner(node)
        child = node
        for anc in self.ancestors(node):
            if isinstance(anc, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                return None
            if isinstance(anc, (ast.If, ast.IfExp)) and child is not anc.test and _computes(anc.test) \
                    and config.is_unknown(config.evaluate(anc.test, self.setting_of)):
                taken = fact(Values).of(anc.test, fn)
                in_body = child in anc.body if isinstance(anc, ast.If) else child is anc.body
                if taken.known and bool(taken.value) != in_body:
                    if taken.established:
                        return DEAD
                    return Liveness(gate=Gate(taken.settings[0], anc.lineno))
            child = anc
        return None


def _computes(test: ast.expr) -> bool:
    """A test that compares or computes values, not a bare flag (``x``, ``not x``, ``a and b``)."""
    return any(isinstance(n, (ast.Compare, ast.BinOp)) for n in walk(test))


def _param_default(node: ast.FunctionDef | ast.AsyncFunctionDef, param: str) -> tuple[bool, Any]:
    """``(True, value)`` when ``param`` has a literal default in ``node``'s signature."""
    a = node.args
    positional = [*a.posonlyargs, *a.args]
    pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
    pairs += [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    for p, d in pairs:
        if p.arg == param and isinstance(d, ast.Constant):
            return True, d.value
    return False, None


def _param_default_expr(node: ast.FunctionDef | ast.AsyncFunctionDef, param: str) -> ast.expr | None:
    """The default expression of ``param`` in ``node``'s signature, if any."""
    a = node.args
    positional = [*a.posonlyargs, *a.args]
    pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
    pairs += [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    return next((d for p, d in pairs if p.arg == param), None)
