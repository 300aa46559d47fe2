"""Ordered data events per function: what is scored, trained, calibrated and exported, on which data.

The C3/C4/SLOT and data-access rules ask *order* questions ("is this validation chunk scored before
the optimizer steps on it?", "is training data read after the training loop?"). This module answers
them from structure and data flow only (RULEBOOK §9), once per file (``a.fact(build_events)``):

1. **Data identity.** Two taints, run across local calls by binding arguments to parameters
   (context-insensitive, to a fixpoint; closures inherit their enclosing function's free names):
   *val* seeded by string constants that select the validation shards (``fineweb_val_*.bin``, see
   :func:`roles.shard_split`), *train* by those selecting training shards. A local call carries the
   split only through what the callee returns (``train_model(h, val_data)`` returns a model, not
   data); constructing a local class through its arguments. Fields assigned the split without help
   from a caller (``self.val_tokens = load(h.val_files)``, a ``Hyperparameters`` attribute holding
   the glob) and functions/classes that produce it on their own become seeds wherever they are used,
   so ``h.val_files`` and ``val_data.val_tokens`` carry the split without consulting their names.
   :meth:`Events.val_by_default` re-checks one event under the default configuration (arms switched
   off by the defaults removed), to tell a default-off validation source from a live one.
2. **Events** (:class:`Event`), in source order per function, each with its enclosing loops and
   whether autograd is off there:

   - ``SCORE``: ``acc += v`` / ``acc.add_(v)`` (the loss/byte accumulators of an evaluator); it
     *commits a val score* when ``v`` is val-derived and the sum runs under no_grad, in a function
     that never backpropagates, or before the backward of its own loop iteration (see ``_is_score``);
   - ``BACKWARD``: ``loss.backward()``, ``torch.autograd.grad(loss, ...)``;
   - ``STEP``: ``opt.step()`` (not schedulers), or a manual update that reads ``.grad``;
   - ``CALIB``: ``register_forward_hook`` / ``register_forward_pre_hook``, or an ``X^T X``
     accumulation (GPTQ Hessians);
   - ``EXPORT``: serialization / compression (``torch.save``, ``lzma.compress``, ...);
   - ``READ``: a statement that names a data split directly (a shard glob or a split-holding field);
   - ``CALL``: a call into local functions (their :class:`Summary` says what happens inside).

3. **Summaries** (:class:`Summary`) per function, bottom-up through calls: does it score val data,
   export, calibrate, read a split, contain a training loop over training data.
4. **Validation training sites** (:class:`ValTraining`): every backward pass on val-derived data
   that an optimizer steps on, with the verdict of the score-first analysis:

   - a site is *covered* in the first function up its call chain where a val score precedes it
     in every repetition (all loops the score and the update share advance the data: a chunk loop,
     not an epoch loop) and no fresh val score follows it (no re-scoring of adapted state);
   - a site whose chain reaches an entry point uncovered is ``unscored``; ``rescored`` names the
     score that follows the update, ``export_after`` the export that follows it (pre-quant TTT),
     ``repeat_score`` a score inside a repeated (epoch) loop, ``restored`` a reload of a state
     snapshot taken before the update (a discarded compile warm-up);
   - sites whose optimizer holds fresh leaf tensors (``torch.zeros(..., requires_grad=True)``) are
     SLOT-style (``slot``); ``slot_region`` classifies their loss mask (``"scored"``/``"context"``).

5. **Phases**: the training loops (backward + step on training data), the events that run after
   the last one (:attr:`Events.after_training`), and whether the wall-clock cap is reduced by a
   setting before the loop stops (:attr:`Events.reserve`, the GPTQ reserve of RULEBOOK GPTQ-CALIB).

The dynamic probes can use ``Events.by_fn`` to locate scoring accumulators (``Kind.SCORE`` with
``val``) and training sites by line.
"""

from __future__ import annotations

import ast
import enum
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.analysis import config, roles
from auditor.analysis.module import Function
from auditor.analysis.nodes import children, walk
from auditor.analysis.taint import _COMPREHENSIONS, SHAPE_ATTRS, Taint, _bound_paths, _flows, path_of

if TYPE_CHECKING:
    from auditor.analysis import Analysis

Scope = Function | None  # None = module-level code
LOOPS = (ast.For, ast.AsyncFor, ast.While)
_SKIP = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
#: call depth bound for summaries (cycles are cut anyway)
MAX_DEPTH = 8
#: calls that only read out or reshape an existing value (summing a loss already computed is not a forward)
_VIEWS = frozenset({"item", "detach", "float", "double", "to", "cpu", "sum", "mean", "numel", "clone",
                    "reshape", "view", "int", "len", "size"})


class Kind(enum.Enum):
    SCORE = "score"
    BACKWARD = "backward"
    STEP = "step"
    CALIB = "calib"
    EXPORT = "export"
    READ = "read"
    CALL = "call"


@dataclass(eq=False)
class Event:
    kind: Kind
    node: ast.AST
    fn: Scope
    loops: tuple[ast.AST, ...]  # enclosing loops inside ``fn``, outermost first
    no_grad: bool
    data: tuple[ast.AST, ...] = ()  # the expressions whose data the event consumes
    callees: tuple[Function, ...] = ()
    val: bool = False
    train: bool = False

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def pos(self) -> tuple[int, int]:
        return (self.node.lineno, self.node.col_offset)


@dataclass
class Summary:
    """What a function does, including everything it calls."""

    score_val: bool = False
    export: bool = False
    calib: bool = False
    calib_val: bool = False
    calib_train: bool = False
    reads_val: bool = False
    reads_train: bool = False
    train_loop: bool = False
    #: validation-training sites not covered by a score-first loop inside this function
    unscored: list["ValTraining"] = field(default_factory=list)


@dataclass(eq=False)
class ValTraining:
    """A backward pass on validation-derived data followed by an optimizer step."""

    backward: Event
    step: Event | None
    anchor: ast.AST  # outermost loop around the backward in its function (the backward if none)
    slot: bool = False  # the optimizer holds fresh leaf tensors (delta / logit bias), not weights
    slot_region: str = ""  # "scored" | "context" for SLOT sites
    unscored: bool = False
    rescored: Event | None = None
    rescored_in_loop: bool = False  # the re-score shares a loop with the update (per-chunk adapt, then score)
    repeat_score: Event | None = None
    export_after: Event | None = None
    restored: ast.AST | None = None  # the state is discarded afterwards (snapshot reload / ``del``)
    in_training_loop: bool = False  # the same backward also consumes training data

    @property
    def verdict(self) -> str | None:
        """Which rule family the site falls in (``None``: a covered, score-first update).

        ``slot-scored`` / ``slot-context`` (SLOT), ``val-in-train`` (the training loop itself),
        ``warmup`` (state discarded afterwards, C3-f), ``prequant`` (an export follows, C3-b),
        ``chunk`` (scored after adapting inside the same loop or a repeated epoch loop, C3-c),
        ``train-then-score`` (C3-a)."""
        if self.slot:
            return f"slot-{self.slot_region}"
        if self.in_training_loop:
            return "val-in-train"
        if not self.unscored:
            return None
        if self.restored is not None:
            return "warmup"
        if self.export_after is not None:
            return "prequant"
        if self.rescored_in_loop or self.repeat_score is not None:
            return "chunk"
        return "train-then-score"

    def evidence(self) -> list[str]:
        out = [f"backward on validation-derived data at line {self.backward.line}"]
        if self.step is not None:
            out.append(f"optimizer step at line {self.step.line}")
        if self.repeat_score is not None:
            out.append(f"score inside the repeated loop at line {self.repeat_score.line}")
        if self.rescored is not None:
            out.append(f"validation scored after the update at line {self.rescored.line}")
        if self.export_after is not None:
            out.append(f"export/quantization after the update at line {self.export_after.line}")
        if self.restored is not None:
            out.append(f"adapted state discarded at line {self.restored.lineno}")
        return out


@dataclass
class Events:
    """The event fact of one file (see the module docstring)."""

    by_fn: dict[Scope, list[Event]]
    summaries: dict[Scope, Summary]
    trainings: list[ValTraining]
    train_sites: list[Event]  # backward passes on training data (the training loops)
    after_training: list[Event]  # events that run after the last training loop, in its function or callers
    reserve: ast.AST | None  # the subtraction that shortens the wall-clock cap, if any
    val: dict[Scope, Taint]
    train: dict[Scope, Taint]

    callers: dict[int, list[Scope]] = field(default_factory=dict)
    val_seed: "_Seeds | None" = None
    analysis: "Analysis | None" = None

    def events(self, fn: Scope) -> list[Event]:
        return self.by_fn.get(fn, [])

    def summary(self, fn: Scope) -> Summary:
        return self.summaries.get(fn) or Summary()

    def val_by_default(self, e: Event) -> bool:
        """Is ``e``'s data validation-derived under the default configuration (branches and
        conditional expressions switched off by the defaults removed)? A ``False`` here for an event
        with ``e.val`` means the validation source is selected only by a non-default setting."""
        if self.val_seed is None or self.analysis is None:
            return e.val
        initial = self.val_seed.initial.get(e.fn, set())
        t = _DefaultTaint(self.analysis, e.fn, self.val_seed, initial, 3, {})
        return any(t.is_tainted(d) for d in e.data)

    def callers_of(self, fn: Scope) -> list[Scope]:
        """Scopes that call ``fn`` (empty for entry points and uncalled functions)."""
        return self.callers.get(id(fn), [])


# ---------------------------------------------------------------------------------------------------
# data identity


class _SplitTaint(Taint):
    """Taint with precise local calls: a call into a local function carries the split only through
    what that function returns (``train_model(h, val_data)`` returns a model, not validation data);
    a method call also through its receiver; constructing a local class through its arguments (the
    object holds them). Library calls keep the base rule (any tainted argument taints the result).
    Past the depth bound, local calls fall back to the base rule."""

    #: (names set, its size, the set of their first components): see :meth:`_roots`
    _roots_memo: tuple[set[str], int, set[str]] | None = None

    def is_tainted(self, expr: ast.AST | None) -> bool:
        if expr is None or not self._may_carry(expr):
            return False
        stack: list[ast.AST] = [expr]
        while stack:
            node = stack.pop()
            if self.seed(node):
                return True
            if isinstance(node, ast.Attribute) and node.attr in SHAPE_ATTRS:
                continue
            path = path_of(node)
            if path is not None and self._path_tainted(path):
                return True
            if isinstance(node, ast.Call):
                if self._call_is_shape(node):
                    continue
                func = node.func
                constructs = isinstance(func, ast.Name) and func.id in self.module.classes
                if self.depth > 0 and not constructs and self.module.resolve_call(func, self.fn):
                    if self._local_call_taints(node):
                        return True
                    if isinstance(func, ast.Attribute):
                        stack.append(func.value)
                    continue
                stack.extend(node.args)
                stack.extend(k.value for k in node.keywords)
                stack.append(func)
                continue
            if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(node, _COMPREHENSIONS):
                if self._comprehension_tainted(node):
                    return True
                continue
            stack.extend(children(node))
        return False

    def _run(self) -> None:
        # with no tainted name to start from, a scope whose flows and returns hold nothing the seed
        # matches and no local call ends with no tainted name and no tainted return: skip the fixpoint
        if self.names or self._can_seed(self.module.scope_memo("split-scope", self.fn, self._scope_subtree)):
            super()._run()

    def _scope_subtree(self) -> "_Subtree":
        flows, _, rets = self.module.scope_memo("taint-flows", self.fn, self._flow_index)
        return _Subtree(*(value for _, value in flows if value is not None), *rets)

    def _may_carry(self, expr: ast.AST) -> bool:
        """A necessary condition for :meth:`is_tainted`, from what ``expr``'s subtree contains: a node
        the seed matches, a name whose root carries taint, or a local call (which may return the split
        without a tainted argument). Most expressions a propagation asks about have none of these."""
        memo = self.module.fact(_subtree_memo)
        r = memo.get(expr)
        if r is None:
            r = memo[expr] = _Subtree(expr)
        if self.names and not r.names.isdisjoint(self._roots()):
            return True
        return self._can_seed(r)

    def _can_seed(self, r: "_Subtree") -> bool:
        """Does ``r`` hold a node the seed matches, or (within the depth bound) a local call?"""
        seed = self.seed
        assert isinstance(seed, _Seeds)
        if r.split[seed.index] or not (r.attrs.isdisjoint(seed.fields) and r.names.isdisjoint(seed.globals)
                                       and r.called.isdisjoint(seed.sources)):
            return True
        return self.depth > 0 and r.local_call(self.module, self.fn)

    def _roots(self) -> set[str]:
        """First components of the tainted names. ``names`` only grows in place or is replaced by
        another set, so the same object at the same size has the same content (holding the object
        here keeps its identity from being reused)."""
        memo, names = self._roots_memo, self.names
        if memo is None or memo[0] is not names or memo[1] != len(names):
            memo = self._roots_memo = (names, len(names), {n.split(".")[0] for n in names})
        return memo[2]

    def _local_call_taints(self, call: ast.Call) -> bool:
        for target in self.module.resolve_call(call.func, self.fn):
            params = target.params
            offset = 1 if target.cls is not None and params[:1] in (["self"], ["cls"]) else 0
            bound = {
                params[i + offset]
                for i, arg in enumerate(call.args)
                if i + offset < len(params) and self._arg_tainted(arg)
            }
            bound |= {k.arg for k in call.keywords if k.arg in params and self._arg_tainted(k.value)}
            key = (target, frozenset(bound))
            if key not in self._memo:
                self._memo[key] = False  # breaks recursion cycles
                inner = type(self)(self.module, target, self.seed, bound, self.depth - 1, self._memo)
                self._memo[key] = inner.returns_taint
            if self._memo[key]:
                return True
        return False


class _Subtree:
    """What the subtrees of some expressions hold that a split seed or a taint could match."""

    __slots__ = ("names", "attrs", "called", "split", "calls", "_local")

    def __init__(self, *exprs: ast.AST) -> None:
        names: set[str] = set()
        attrs: set[str] = set()
        called: set[str] = set()
        split = [False, False]
        calls: list[ast.Call] = []
        stack = list(exprs)
        while stack:
            node = stack.pop()
            stack.extend(children(node))
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                attrs.add(node.attr)
            elif isinstance(node, ast.Call):
                calls.append(node)
                if isinstance(node.func, ast.Name):
                    called.add(node.func.id)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                val, train = roles.shard_split(node.value)
                split[0] |= val
                split[1] |= train
        self.names, self.attrs, self.called, self.split, self.calls = names, attrs, called, split, calls
        self._local: dict[Scope, bool] = {}

    def local_call(self, a: "Analysis", fn: Scope) -> bool:
        """Does the subtree call a local function (not a class constructor) from ``fn``?"""
        found = self._local.get(fn)
        if found is None:
            found = self._local[fn] = any(
                not (isinstance(c.func, ast.Name) and c.func.id in a.classes) and a.resolve_call(c.func, fn)
                for c in self.calls
            )
        return found


def _subtree_memo(a: "Analysis") -> dict[ast.AST, _Subtree]:
    """Per file: :class:`_Subtree` of each expression a split taint was asked about."""
    return {}


class _DefaultTaint(_SplitTaint):
    """The same taint under the default configuration: ``if``/``else`` arms and conditional expressions
    that the defaults switch off carry nothing (``val_files if CALIB_SOURCE == "val" else train_files``
    with the default ``"train"``)."""

    def _taken(self, test: ast.expr) -> bool | None:
        value = config.evaluate(test, self.module.setting_of)
        return None if config.is_unknown(value) else bool(value)

    def _body_nodes(self) -> list[ast.AST]:
        root = self.fn.node if self.fn is not None else self.module.tree
        out: list[ast.AST] = []
        stack = list(children(root))
        while stack:
            node = stack.pop()
            if isinstance(node, _SKIP):
                continue
            out.append(node)
            if isinstance(node, ast.If) and (taken := self._taken(node.test)) is not None:
                stack.append(node.test)
                stack.extend(node.body if taken else node.orelse)
                continue
            stack.extend(children(node))
        return out

    def is_tainted(self, expr: ast.AST | None) -> bool:
        if expr is None or not any(isinstance(n, ast.IfExp) for n in walk(expr)):
            return super().is_tainted(expr)
        if isinstance(expr, ast.IfExp) and (taken := self._taken(expr.test)) is not None:
            return self.is_tainted(expr.body if taken else expr.orelse)
        path = path_of(expr)
        if self.seed(expr) or (path is not None and self._path_tainted(path)):
            return True
        # an expression holding a conditional: any child (the base rule for calls, coarser but safe)
        return any(self.is_tainted(c) for c in children(expr))


class _Seeds:
    """Seed predicate of one split: shard-selecting constants, split-holding fields and globals, and
    calls of local functions/classes that produce the split without being handed it."""

    def __init__(self, index: int) -> None:
        self.index = index  # 0 = val, 1 = train
        self.fields: set[str] = set()
        self.globals: set[str] = set()
        self.sources: set[str] = set()
        #: tainted parameters per scope after propagation
        self.initial: dict[Scope, set[str]] = {}

    def __call__(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str) and roles.shard_split(node.value)[self.index]
        if isinstance(node, ast.Attribute):
            return node.attr in self.fields
        if isinstance(node, ast.Name):
            return node.id in self.globals
        if isinstance(node, ast.Call):
            return isinstance(node.func, ast.Name) and node.func.id in self.sources
        return False

    def hits(self, idx: "_Index") -> bool:
        """Can this scope contain a seed at all (a cheap pre-check before running a taint)?"""
        return bool(
            idx.split[self.index] or idx.attrs & self.fields or idx.names & self.globals or idx.called & self.sources
        )


@dataclass
class _Index:
    """One walk over a scope (nested defs excluded): its calls and the names a seed could match."""

    calls: list[ast.Call] = field(default_factory=list)
    attrs: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    called: set[str] = field(default_factory=set)
    split: list[bool] = field(default_factory=lambda: [False, False])


def _index(a: "Analysis", fn: Scope) -> _Index:
    idx = _Index()
    for node in a.body_nodes(fn):
        if isinstance(node, ast.Call):
            idx.calls.append(node)
            if isinstance(node.func, ast.Name):
                idx.called.add(node.func.id)
        elif isinstance(node, ast.Attribute):
            idx.attrs.add(node.attr)
        elif isinstance(node, ast.Name):
            idx.names.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            val, train = roles.shard_split(node.value)
            idx.split[0] |= val
            idx.split[1] |= train
    return idx


def _scopes(a: "Analysis") -> list[Scope]:
    return [None, *a.functions.values()]


def _propagate(a: "Analysis", seed: _Seeds, index: dict[Scope, _Index]) -> dict[Scope, Taint]:
    """Taint every scope, binding tainted call arguments to callee parameters until nothing changes.

    Scopes with no seed and no tainted parameter are skipped (their taint is empty), which keeps the
    pass near-linear."""
    taints: dict[Scope, Taint] = {}
    nested: dict[Scope, list[Function]] = defaultdict(list)
    own: dict[Function, set[str]] = {}  # names a nested function binds itself (not free variables)
    for fn in a.functions.values():
        parent = a.functions.get(fn.qualname.rsplit(".", 1)[0]) if "." in fn.qualname else None
        if parent is not None and fn.cls is None:
            nested[parent].append(fn)
            own[fn] = set(fn.params) | {
                n.id for n in walk(fn.node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
    for _round in range(4):
        initial: dict[Scope, set[str]] = defaultdict(set)
        taints = {}
        memo: dict = {}  # callee returns per (function, tainted params), valid for this round's seeds
        work = [fn for fn in reversed(_scopes(a)) if seed.hits(index[fn])]
        queued = set(map(id, work))
        budget = 20 * len(index) + 50
        while work and budget:
            budget -= 1
            fn = work.pop()
            queued.discard(id(fn))
            t = _SplitTaint(a, fn, seed, initial[fn], 3, memo)
            taints[fn] = t
            if not t.names and not initial[fn]:
                continue
            # closures read the enclosing function's variables (``step_fn`` using ``train_loader``)
            for child in nested.get(fn, ()):
                free = {n for n in t.names if n.split(".")[0] not in own[child]}
                if free - initial[child]:
                    initial[child] |= free
                    if id(child) not in queued:
                        work.append(child)
                        queued.add(id(child))
            for call in index[fn].calls:
                targets = a.resolve_call(call.func, fn)
                if not targets:
                    continue
                tainted_pos = [i for i, arg in enumerate(call.args) if t.is_tainted(arg)]
                tainted_kw = {k.arg for k in call.keywords if k.arg and t.is_tainted(k.value)}
                if not tainted_pos and not tainted_kw:
                    continue
                for target in targets:
                    params = target.params
                    offset = 1 if target.cls is not None and params[:1] in (["self"], ["cls"]) else 0
                    bound = {params[i + offset] for i in tainted_pos if i + offset < len(params)}
                    bound |= tainted_kw & set(params)
                    if bound - initial[target]:
                        initial[target] |= bound
                        if id(target) not in queued:
                            work.append(target)
                            queued.add(id(target))
        # fields, globals and producers that now hold the split become seeds; repeat until stable
        fields, globals_, sources = set(seed.fields), set(seed.globals), set(seed.sources)
        for fn, t in taints.items():
            if initial[fn]:
                continue  # taint bound from a caller is context-specific: it must not become a global seed
            for name in t.names:
                if fn is None and "." not in name:
                    globals_.add(name)
                elif name.startswith("self.") and name.count(".") == 1:
                    fields.add(name.split(".", 1)[1])
                    if fn is not None and fn.cls is not None:
                        sources.add(fn.cls)  # constructing the class yields an object holding the split
            if fn is not None and fn.cls is None and t.returns_taint:
                sources.add(fn.name)
        for cls in a.classes.values():
            for stmt in cls.body:
                value = getattr(stmt, "value", None)
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
                if value is not None and any(seed(n) for n in walk(value)):
                    fields.update(t.id for t in targets if isinstance(t, ast.Name))
        if (fields, globals_, sources) == (seed.fields, seed.globals, seed.sources):
            seed.initial = initial
            return taints
        seed.fields, seed.globals, seed.sources = fields, globals_, sources
    seed.initial = initial
    return taints


# ---------------------------------------------------------------------------------------------------
# event extraction


class _Walker:
    def __init__(self, a: "Analysis", fn: Scope, seeds: tuple["_Seeds", ...], index: _Index) -> None:
        self.a = a
        self.fn = fn
        # only the seeds whose constants, fields or globals occur in this scope can name a split here
        self.seeds = tuple(s for s in seeds if index.split[s.index] or not (
            index.attrs.isdisjoint(s.fields) and index.names.isdisjoint(s.globals)))
        self.events: list[Event] = []
        self._binding_map: dict[str, list[ast.AST]] | None = None

    def run(self) -> list[Event]:
        root = self.a.tree if self.fn is None else self.fn.node
        no_grad = self.fn is not None and any(
            roles.is_no_grad(d, self.a.qualname) for d in self.fn.node.decorator_list
        )
        self._block(root.body, (), no_grad)
        self.events.sort(key=lambda e: e.pos)
        return self.events

    def _block(self, stmts: list[ast.stmt], loops: tuple[ast.AST, ...], no_grad: bool) -> None:
        for stmt in stmts:
            if isinstance(stmt, _SKIP):
                continue
            if isinstance(stmt, LOOPS):
                header = stmt.iter if isinstance(stmt, (ast.For, ast.AsyncFor)) else stmt.test
                self._expr(header, stmt, loops, no_grad)
                self._block(stmt.body, (*loops, stmt), no_grad)
                self._block(stmt.orelse, loops, no_grad)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                inner = no_grad or any(roles.is_no_grad(i.context_expr, self.a.qualname) for i in stmt.items)
                for item in stmt.items:
                    self._expr(item.context_expr, stmt, loops, no_grad)
                self._block(stmt.body, loops, inner)
            elif isinstance(stmt, ast.If):
                self._expr(stmt.test, stmt, loops, no_grad)
                self._block(stmt.body, loops, no_grad)
                self._block(stmt.orelse, loops, no_grad)
            elif isinstance(stmt, ast.Try):
                self._block(stmt.body, loops, no_grad)
                for h in stmt.handlers:
                    self._block(h.body, loops, no_grad)
                self._block(stmt.orelse, loops, no_grad)
                self._block(stmt.finalbody, loops, no_grad)
            else:
                self._simple(stmt, loops, no_grad)

    def _add(self, kind: Kind, node: ast.AST, loops, no_grad, data=(), callees=()) -> None:
        self.events.append(Event(kind, node, self.fn, loops, no_grad, tuple(data), tuple(callees)))

    def _simple(self, stmt: ast.stmt, loops, no_grad) -> None:
        if isinstance(stmt, (ast.Assign, ast.AugAssign)) and any(_is_gram(n) for n in walk(stmt.value)):
            self._add(Kind.CALIB, stmt, loops, no_grad, [stmt.value])
        elif isinstance(stmt, ast.AugAssign):
            if isinstance(stmt.op, ast.Sub) and _reads_grad(stmt.value):
                self._add(Kind.STEP, stmt, loops, no_grad, [stmt.target])
            elif isinstance(stmt.op, ast.Add):
                self._add(Kind.SCORE, stmt, loops, no_grad, [stmt.value])
        if self._expr(stmt, stmt, loops, no_grad):
            self._add(Kind.READ, stmt, loops, no_grad, [stmt])

    def _expr(self, root: ast.AST, stmt: ast.AST, loops, no_grad) -> bool:
        """Record the calls under ``root``; return whether it names a data split directly."""
        names_split = False
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, _SKIP):
                continue
            stack.extend(children(node))
            if isinstance(node, ast.Call):
                self._call(node, loops, no_grad)
            elif not names_split and self.seeds and isinstance(node, (ast.Constant, ast.Attribute, ast.Name)):
                names_split = any(seed(node) for seed in self.seeds)
        return names_split

    def _call(self, call: ast.Call, loops, no_grad) -> None:
        a, func = self.a, call.func
        qual = a.qualname(func) or ""
        attr = func.attr if isinstance(func, ast.Attribute) else ""
        args = [*call.args, *(k.value for k in call.keywords)]
        if attr == "backward":
            self._add(Kind.BACKWARD, call, loops, no_grad, [func.value])
        elif qual == "torch.autograd.grad" and call.args:
            self._add(Kind.BACKWARD, call, loops, no_grad, [call.args[0]])
        elif attr == "step" and not self._is_scheduler(func.value):
            self._add(Kind.STEP, call, loops, no_grad, [func.value])
        elif attr in roles.INPLACE_UPDATES and any(_reads_grad(x) for x in [func.value, *args]):
            self._add(Kind.STEP, call, loops, no_grad, [func.value])
        elif attr == "add_" and args:
            self._add(Kind.SCORE, call, loops, no_grad, args)
        elif attr in ("register_forward_hook", "register_forward_pre_hook"):
            self._add(Kind.CALIB, call, loops, no_grad, args)
        elif qual in roles.EXPORT_CALLS or attr in roles.EXPORT_METHODS:
            self._add(Kind.EXPORT, call, loops, no_grad, args)
        elif qual in ("torch.addmm", "torch.matmul") and _is_gram(call):
            self._add(Kind.CALIB, call, loops, no_grad, args)
        targets = [t for t in a.resolve_call(func, self.fn) if t is not self.fn]
        if targets:
            self._add(Kind.CALL, call, loops, no_grad, args, targets)
        # callbacks: a local function passed as an argument runs here (``opt.step(closure)``)
        for arg in call.args:
            if isinstance(arg, ast.Name):
                cb = [t for t in a.resolve_call(arg, self.fn) if t is not self.fn and t.cls is None]
                if cb:
                    self._add(Kind.CALL, arg, loops, no_grad, (), cb)

    def _is_scheduler(self, receiver: ast.AST) -> bool:
        path = path_of(receiver)
        if self._binding_map is None:
            self._binding_map = _bindings(self.a, self.fn)
        for value in self._binding_map.get(path or "", []):
            if isinstance(value, ast.Call):
                qual = self.a.qualname(value.func) or ""
                if qual.startswith(roles.SCHED_PREFIX) or "lr_scheduler" in qual:
                    return True
        return False


def _reads_grad(expr: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "grad" for n in walk(expr))


def _is_gram(expr: ast.AST) -> bool:
    """``X.T @ X``, ``x.t() @ x``, ``torch.matmul(x.T, x)``, ``H.addmm_(x.T, x)``: a Gram accumulation."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.MatMult):
        left, right = expr.left, expr.right
    elif isinstance(expr, ast.Call) and len(expr.args) >= 2:
        left, right = expr.args[-2], expr.args[-1]
    else:
        return False
    transposed = (isinstance(left, ast.Attribute) and left.attr in ("T", "mT")) or (
        isinstance(left, ast.Call) and isinstance(left.func, ast.Attribute) and left.func.attr in ("t", "transpose")
    )
    base = left.value if isinstance(left, ast.Attribute) else getattr(left.func, "value", None) if isinstance(left, ast.Call) else None
    return transposed and base is not None and ast.dump(base) == ast.dump(right)


def _bindings(a: "Analysis", fn: Scope) -> dict[str, list[ast.AST]]:
    """``name → values`` assigned in the scope (flow-insensitive)."""
    out: dict[str, list[ast.AST]] = defaultdict(list)
    for node in a.body_nodes(fn):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                for elt in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
                    path = path_of(elt)
                    if path:
                        out[path].append(node.value)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            path = path_of(node.target)
            if path:
                out[path].append(node.value)
    return out


# ---------------------------------------------------------------------------------------------------
# the fact


class _Builder:
    def __init__(self, a: "Analysis") -> None:
        self.a = a
        self.index = {fn: _index(a, fn) for fn in _scopes(a)}
        self.constants = {
            t.id: stmt.value.value
            for stmt in a.tree.body
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
            for t in stmt.targets
            if isinstance(t, ast.Name)
        }
        self.val_seed, train_seed = _Seeds(0), _Seeds(1)
        self.val = _propagate(a, self.val_seed, self.index)
        self.train = _propagate(a, train_seed, self.index)
        self.by_fn: dict[Scope, list[Event]] = {}
        self._loop_names: dict[tuple[int, int], set[str]] = {}
        self._bindings_cache: dict[Scope, dict[str, list[ast.AST]]] = {}
        for fn in _scopes(a):
            events = _Walker(a, fn, (self.val_seed, train_seed), self.index[fn]).run()
            vt, tt = self.val.get(fn), self.train.get(fn)
            for e in events:
                if e.kind is Kind.READ:
                    e.val = any(_seeded(n, vt) for n in walk(e.node))
                    e.train = any(_seeded(n, tt) for n in walk(e.node))
                elif e.loops and e.kind in (Kind.BACKWARD, Kind.SCORE):
                    # the loop-local taint is a subset of the function's: only refine positives
                    e.val = vt is not None and any(vt.is_tainted(d) for d in e.data) and self._in_loop(vt, e)
                    e.train = tt is not None and any(tt.is_tainted(d) for d in e.data) and self._in_loop(tt, e)
                else:
                    e.val = vt is not None and any(vt.is_tainted(d) for d in e.data)
                    e.train = tt is not None and any(tt.is_tainted(d) for d in e.data)
            self.by_fn[fn] = events
        self.summaries: dict[Scope, Summary] = {}
        self._busy: set[int] = set()
        self.trainings: list[ValTraining] = []
        self.train_sites: list[Event] = []
        self._advancing: dict[tuple[int, int], bool] = {}
        self._assign_pos: dict[Scope, dict[str, list[tuple[int, int]]]] = {}
        self.callers: dict[int, list[Scope]] = defaultdict(list)
        for fn, events in self.by_fn.items():
            for e in events:
                if e.kind is Kind.CALL:
                    for t in e.callees:
                        self.callers[id(t)].append(fn)

    def bindings(self, fn: Scope) -> dict[str, list[ast.AST]]:
        if fn not in self._bindings_cache:
            self._bindings_cache[fn] = _bindings(self.a, fn)
        return self._bindings_cache[fn]

    def _in_loop(self, taint: Taint, e: Event) -> bool:
        """Taint of ``e.data`` with the flows of its outermost loop only: names the loop rebinds lose the
        taint they get elsewhere in the function (``x, y`` of the training loop reused by a TTT loop)."""
        loop = e.loops[0]
        key = (id(taint), id(loop))
        if key not in self._loop_names:
            flows = []
            stack = list(children(loop))
            while stack:
                node = stack.pop()
                if isinstance(node, _SKIP):
                    continue
                stack.extend(children(node))
                flows.extend(_flows(node))
            rebound = {p.split(".")[0] for targets, _ in flows for t in targets for p in _bound_paths(t)}
            saved = taint.names
            taint.names = {n for n in saved if n.split(".")[0] not in rebound}
            try:
                changed = True
                while changed:
                    changed = False
                    for targets, value in flows:
                        if value is not None and taint.is_tainted(value):
                            for t in targets:
                                for p in _bound_paths(t):
                                    if p not in taint.names:
                                        taint.names.add(p)
                                        changed = True
                self._loop_names[key] = taint.names
            finally:
                taint.names = saved
        saved = taint.names
        taint.names = self._loop_names[key]
        try:
            return any(taint.is_tainted(d) for d in e.data)
        finally:
            taint.names = saved

    # ---- summaries ---------------------------------------------------------------------------

    def summary(self, fn: Scope, depth: int = 0) -> Summary:
        if fn in self.summaries:
            return self.summaries[fn]
        if id(fn) in self._busy or depth > MAX_DEPTH:
            return Summary()
        self._busy.add(id(fn))
        s = Summary()
        events = self.by_fn.get(fn, [])
        sites: list[tuple[Event, list[ValTraining]]] = []
        for e in events:
            if e.kind is Kind.SCORE and self._is_score(events, e):
                s.score_val = True
            elif e.kind is Kind.EXPORT:
                s.export = True
            elif e.kind is Kind.CALIB:
                # hooks in a function that commits scores itself are evaluator plumbing, not calibration
                s.calib = s.calib or not any(x.kind is Kind.SCORE and self._is_score(events, x) for x in events)
            elif e.kind is Kind.READ:
                s.reads_val |= e.val
                s.reads_train |= e.train
            elif e.kind is Kind.BACKWARD and (e.val or e.train):
                step = self._step_after(events, e)
                if step is None:
                    continue
                if e.train and not e.val:
                    s.train_loop = True
                    self.train_sites.append(e)
                    continue
                vt = self._new_training(events, e, step)
                if vt.slot:
                    continue
                if e.train:
                    vt.in_training_loop = True
                    s.train_loop = True
                    continue
                sites.append((e, [vt]))
            elif e.kind is Kind.CALL:
                for callee in e.callees:
                    cs = self.summary(callee, depth + 1)
                    s.score_val |= cs.score_val
                    s.export |= cs.export
                    s.calib |= cs.calib
                    s.reads_val |= cs.reads_val
                    s.reads_train |= cs.reads_train
                    s.train_loop |= cs.train_loop
                    if cs.unscored:
                        sites.append((e, cs.unscored))
        if s.calib:
            fed = self._calib_feed(fn, events)
            s.calib_val, s.calib_train = fed
        for site, origins in sites:
            self._decide(fn, events, site, origins, s)
        self._busy.discard(id(fn))
        self.summaries[fn] = s
        return s

    def _calib_feed(self, fn: Scope, events: list[Event]) -> tuple[bool, bool]:
        """Does a calibrating function run on val / train data (any call fed by the split)?"""
        val = any(e.val for e in events if e.kind in (Kind.CALL, Kind.READ, Kind.CALIB))
        train = any(e.train for e in events if e.kind in (Kind.CALL, Kind.READ, Kind.CALIB))
        vt, tt = self.val.get(fn), self.train.get(fn)
        for call in self.index[fn].calls:
            val = val or (vt is not None and any(vt.is_tainted(x) for x in call.args))
            train = train or (tt is not None and any(tt.is_tainted(x) for x in call.args))
        return val, train

    def _step_after(self, events: list[Event], bwd: Event) -> Event | None:
        """The optimizer step that applies this backward: the next STEP in the same loop (or after)."""
        outer = bwd.loops[:-1]  # gradient-accumulation loops end before the step
        for e in events:
            if e.kind is Kind.STEP and e.pos > bwd.pos and e.loops[: len(outer)] == outer:
                return e
        for e in events:  # a step before the backward in the same loop body (zero_grad/step ordering)
            if e.kind is Kind.STEP and bwd.loops and bwd.loops[-1] in e.loops:
                return e
        return None

    def _new_training(self, events: list[Event], bwd: Event, step: Event) -> ValTraining:
        anchor = bwd.loops[0] if bwd.loops else bwd.node
        vt = ValTraining(bwd, step, anchor)
        fresh = self._fresh_params(bwd.fn, step)
        if fresh:
            vt.slot = True
            vt.anchor = bwd.loops[-1] if bwd.loops else bwd.node
            vt.slot_region = _slot_region(self.a, bwd, self.bindings(bwd.fn))
        self.trainings.append(vt)
        return vt

    def _fresh_params(self, fn: Scope, step: Event) -> bool:
        """Does the stepped optimizer (or the manual update) hold leaf tensors created in this function?"""
        bindings = self.bindings(fn)
        receiver = step.data[0] if step.data else None
        path = path_of(receiver) if receiver is not None else None
        candidates: list[ast.AST] = []
        for value in bindings.get(path or "", []):
            if isinstance(value, ast.Call) and value.args:
                candidates.append(value.args[0])
        if isinstance(step.node, ast.AugAssign):
            candidates.append(step.node.target)
        for cand in candidates:
            names = [path_of(n) for n in walk(cand) if isinstance(n, (ast.Name, ast.Attribute))]
            for name in filter(None, names):
                if any(roles.fresh_leaf(v, self.constants) for v in bindings.get(name, [])):
                    return True
        return False

    # ---- score-first ---------------------------------------------------------------------------

    @staticmethod
    def _is_score(events: list[Event], e: Event) -> bool:
        """A val accumulation that commits a score: under no_grad, in a function that never
        backpropagates, or before the backward of the same loop iteration (the LoRA-TTT pattern).
        A loss summed *after* the backward of its own iteration is training-progress logging."""
        if not e.val:
            return False
        if e.no_grad:
            return True
        backwards = [b for b in events if b.kind is Kind.BACKWARD]
        if not backwards:
            return True
        inner = e.loops[-1] if e.loops else None
        return any(b.pos > e.pos and (inner is None or inner in b.loops) for b in backwards)

    def _scores(self, events: list[Event]) -> list[Event]:
        out = []
        for e in events:
            if e.kind is Kind.SCORE and self._is_score(events, e):
                out.append(e)
            elif e.kind is Kind.CALL and any(self.summary(c).score_val for c in e.callees):
                out.append(e)
        return out

    def _decide(self, fn: Scope, events: list[Event], site: Event, origins: list[ValTraining], s: Summary) -> None:
        scores = self._scores(events)
        prior = None
        for e in scores:
            if e.pos >= site.pos or e is site:
                continue
            shared = [l for l in site.loops if l in e.loops]
            if all(self._advances(fn, l, site) for l in shared):
                prior = e
            else:
                for o in origins:
                    o.repeat_score = o.repeat_score or e
        later = next(
            (
                e for e in scores
                if e.pos > site.pos and e is not site and self._fresh_score(fn, e, site)
                and not self._exclusive(site.node, e.node)
            ),
            None,
        )
        export = next((e for e in events if e.pos > site.pos and self._exports(e)), None)
        restored = self._restore_after(fn, events, site) or self._deleted_after(fn, site)
        for o in origins:
            if export is not None and o.export_after is None:
                o.export_after = export
            if restored is not None and o.restored is None:
                o.restored = restored
        if later is not None:
            # adapted state is scored again: a violation whatever the callers do; keep propagating
            # so that callers can still attach the export that follows (pre-quant TTT)
            for o in origins:
                o.unscored = True
                if o.rescored is None:
                    o.rescored = later
                    o.rescored_in_loop = any(l in later.loops for l in site.loops)
        elif prior is not None:
            return
        s.unscored.extend(origins)

    def _exclusive(self, first: ast.AST, second: ast.AST) -> bool:
        """Do two nodes sit in branches that never both run: the two arms of one ``if``, or
        ``if X:`` and ``if not X:`` (a TTT path and the plain evaluator it replaces)?"""
        arms_a = self._arms(first)
        arms_b = self._arms(second)
        for test_a, pos_a, if_a in arms_a:
            for test_b, pos_b, if_b in arms_b:
                if if_a is if_b and pos_a != pos_b:
                    return True
                if test_a == test_b and pos_a != pos_b:
                    return True
        return False

    def _arms(self, node: ast.AST) -> list[tuple[str, bool, ast.If]]:
        """(condition, polarity, if-node) of every ``if`` arm around ``node`` within its function;
        ``not X`` is normalized to ``X`` with the polarity flipped."""
        out = []
        child = node
        for anc in self.a.ancestors(node):
            if isinstance(anc, _SKIP):
                break
            if isinstance(anc, ast.If) and child is not anc.test:
                positive = child in anc.body
                test = anc.test
                if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                    test, positive = test.operand, not positive
                out.append((ast.dump(test), positive, anc))
            child = anc
        return out

    def _exports(self, e: Event) -> bool:
        if e.kind is Kind.EXPORT:
            return True
        return e.kind is Kind.CALL and any(self.summary(c).export for c in e.callees)

    def _advances(self, fn: Scope, loop: ast.AST, site: Event) -> bool:
        """Does each iteration of ``loop`` feed ``site`` new data (a chunk loop, not an epoch loop)?"""
        if not isinstance(loop, (ast.For, ast.AsyncFor)):
            return True
        key = (id(loop), id(site))
        if key not in self._advancing:
            targets = {n.id for n in walk(loop.target) if isinstance(n, ast.Name)}
            t = Taint(self.a, fn, lambda n: isinstance(n, ast.Name) and n.id in targets, targets, depth=1)
            self._advancing[key] = any(t.is_tainted(d) for d in site.data) or self._iter_is_data(fn, loop)
        return self._advancing[key]

    def _iter_is_data(self, fn: Scope, loop: ast.For) -> bool:
        vt = self.val.get(fn)
        return vt is not None and vt.is_tainted(loop.iter)

    def _fresh_score(self, fn: Scope, score: Event, site: Event) -> bool:
        """A score after ``site`` that runs a new forward (not the logging of the loss that was stepped)."""
        if score.kind is Kind.CALL:
            return True
        for d in score.data:
            for n in walk(d):
                if isinstance(n, ast.Call):
                    name = n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
                    if name not in _VIEWS:
                        return True  # a forward/loss computed in the accumulation itself
        positions = self._assignments(fn)
        names = {p for d in score.data for n in walk(d) if (p := path_of(n))}
        return any(pos > site.pos for n in names for pos in positions.get(n, []))

    def _assignments(self, fn: Scope) -> dict[str, list[tuple[int, int]]]:
        if fn not in self._assign_pos:
            out: dict[str, list[tuple[int, int]]] = defaultdict(list)
            root = self.a.tree if fn is None else fn.node
            for node in walk(root):
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        for elt in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
                            if (p := path_of(elt)) is not None:
                                out[p].append((node.lineno, node.col_offset))
            self._assign_pos[fn] = out
        return self._assign_pos[fn]

    def _restore_after(self, fn: Scope, events: list[Event], site: Event) -> ast.AST | None:
        """``m.load_state_dict(snapshot)`` after the site, with ``snapshot`` taken before it."""
        positions = self._assignments(fn)
        for call in self.index[fn].calls:
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "load_state_dict" and call.args):
                continue
            if (call.lineno, call.col_offset) <= site.pos:
                continue
            snap = path_of(call.args[0])
            if snap and any(p < site.pos for p in positions.get(snap, [])) and not any(
                site.pos < p < (call.lineno, call.col_offset) for p in positions.get(snap, [])
            ):
                return call
        return None

    def _deleted_after(self, fn: Scope, site: Event) -> ast.AST | None:
        """``del owner`` after the site, where ``owner`` is a module built in this function whose
        parameters the stepped optimizer holds (a throw-away adapter)."""
        if site.kind is not Kind.BACKWARD:
            return None
        for vt in self.trainings:
            if vt.backward is site and vt.step is not None and vt.step.data:
                owners = self._param_owners(fn, vt.step.data[0])
                root = self.a.tree if fn is None else fn.node
                for node in walk(root):
                    if isinstance(node, ast.Delete) and (node.lineno, node.col_offset) > site.pos:
                        if {path_of(t) for t in node.targets} & owners:
                            return node
        return None

    def _param_owners(self, fn: Scope, receiver: ast.AST) -> set[str]:
        """Objects built by a call in this function whose ``.parameters()`` the optimizer holds."""
        bindings = self.bindings(fn)
        owners: set[str] = set()
        for value in bindings.get(path_of(receiver) or "", []):
            if isinstance(value, ast.Call) and value.args:
                for n in walk(value.args[0]):
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "parameters":
                        owner = path_of(n.func.value)
                        if owner and any(isinstance(v, ast.Call) for v in bindings.get(owner, [])):
                            owners.add(owner)
        return owners

    # ---- phases --------------------------------------------------------------------------------

    def after_training(self) -> list[Event]:
        out: list[Event] = []
        for fn, events in self.by_fn.items():
            last_end: tuple[int, int] | None = None
            for e in events:
                is_train = (e.kind is Kind.BACKWARD and e in self.train_sites) or (
                    e.kind is Kind.CALL and any(self.summary(c).train_loop for c in e.callees)
                )
                if is_train:
                    top = e.loops[0] if e.loops else e.node
                    end = (getattr(top, "end_lineno", top.lineno), getattr(top, "end_col_offset", 0))
                    last_end = end if last_end is None or end > last_end else last_end
            if last_end is not None:
                out.extend(e for e in events if e.pos > last_end)
        return out

    def reserve(self) -> ast.AST | None:
        """A subtraction of a setting from a value the training loop compares against (the GPTQ reserve),
        searched in every function that runs a training loop (directly or through calls)."""
        fns = {e.fn for e in self.train_sites}
        for fn, events in self.by_fn.items():
            if any(e.kind is Kind.CALL and any(self.summary(c).train_loop for c in e.callees) for e in events):
                fns.add(fn)
        fns.discard(None)  # module-level code only starts the script
        for fn in fns:
            root = self.a.tree if fn is None else fn.node
            compared: set[str] = set()
            for node in walk(root):
                if isinstance(node, ast.Compare):
                    for sub in walk(node):
                        if (p := path_of(sub)) is not None:
                            compared.add(p)
                        if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Sub) and self._reads_setting(sub.right):
                            return sub
            for node in walk(root):
                if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Sub):
                    if path_of(node.target) in compared and self._reads_setting(node.value):
                        return node
                elif isinstance(node, ast.Assign) and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.Sub):
                    names = {path_of(t) for t in node.targets}
                    if names & compared and self._reads_setting(node.value.right):
                        return node
        return None

    def _reads_setting(self, expr: ast.AST) -> bool:
        return any(self.a.setting_of(n) is not None for n in walk(expr) if isinstance(n, (ast.Attribute, ast.Name, ast.Call)))


def _seeded(node: ast.AST, taint: Taint | None) -> bool:
    return taint is not None and taint.seed(node)


def _slot_region(a: "Analysis", bwd: Event, bindings: dict[str, list[ast.AST]]) -> str:
    """Which positions the SLOT loss covers: ``"context"`` when every mask/slice on the loss keeps only a
    prefix (``m[i, :s] = True``, ``nll[:, :s]``), else ``"scored"`` (no mask = the whole window, which
    contains the scored slice)."""
    fn = bwd.fn
    slices: list[ast.Slice] = []
    seen: set[str] = set()
    stack = list(bwd.data)
    masks: set[str] = set()
    while stack:
        node = stack.pop()
        path = path_of(node)
        if path is not None:
            if path in seen:
                continue
            seen.add(path)
            stack.extend(bindings.get(path, []))
            masks.add(path)
            continue
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                stack.append(node.func.value)
            continue  # a loss call: the positions are chosen after it
        if isinstance(node, ast.Subscript):
            stack.append(node.value)
            stack.append(node.slice)
            slices.extend(s for s in walk(node.slice) if isinstance(s, ast.Slice))
            continue
        stack.extend(children(node))
    # mask tensors built by slice assignment: ``mask[i, s:w] = 1`` / ``ctx[i, :s] = True``
    root = a.tree if fn is None else fn.node
    for node in walk(root):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Subscript) and path_of(t.value) in masks:
                    slices.extend(s for s in walk(t.slice) if isinstance(s, ast.Slice))
    if not slices:
        return "scored"
    prefix = [s for s in slices if _is_prefix(s)]
    return "context" if len(prefix) == len(slices) else "scored"


def _is_prefix(s: ast.Slice) -> bool:
    low = s.lower
    return (low is None or (isinstance(low, ast.Constant) and low.value == 0)) and s.upper is not None


def build_events(a: "Analysis") -> Events:
    """The event fact of one file (use through ``a.fact(build_events)``)."""
    b = _Builder(a)
    for fn in _scopes(a):
        b.summary(fn)
    roots = [fn for fn in _scopes(a) if fn is None or not b.callers.get(id(fn))]
    for fn in roots:
        for o in b.summaries[fn].unscored:
            o.unscored = True
    return Events(
        by_fn=b.by_fn,
        summaries=b.summaries,
        trainings=b.trainings,
        train_sites=b.train_sites,
        after_training=b.after_training(),
        reserve=b.reserve(),
        val=b.val,
        train=b.train,
        callers=dict(b.callers),
        val_seed=b.val_seed,
        analysis=a,
    )
