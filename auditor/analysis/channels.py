"""Whether a per-position hint channel can fire under the run's configuration.

A channel is the set of arrays one producer fills per position (a C kernel's output slots, a Python
loop's ``top_token[i]``/``top_prob[i]``). The producer can be target-gated (C1-b) and still harmless:
RULEBOOK C1-b lists channels "that exist in the code but are disabled in the effective
configuration: boosts or betas at 0, thresholds that can never be reached". The same helper file
is legal in one folder and illegal in another, so the decision needs the consumer's side.

:func:`channel_state` follows the channel's arrays out of the producer (returned tuples unpacked by
callers, arguments bound to parameters, plain re-bindings) and finds the *masks* built from them:
assignments whose value compares a channel array or combines it with ``&``. When such a mask is
False at every position under the configuration (:meth:`Values.never_true`), or every channel
array reaches the score only through a product with a zero boost, the channel is off.
"""

from __future__ import annotations

import ast
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.analysis.config import EnvSetting
from auditor.analysis.values import Values

if TYPE_CHECKING:
    from auditor.analysis import Analysis, Function

MAX_STEPS = 64
#: methods that keep an array's identity for this purpose
_SAME = frozenset({"astype", "copy", "clone", "float", "double", "to", "reshape", "view", "ravel", "flatten"})


@dataclass
class ChannelState:
    """``off`` when the configuration switches the channel off; ``because`` says how, ``line`` where."""

    off: bool
    because: str = ""
    line: int = 0
    #: the off-state depends on a value the run's configuration changed from the code's default
    by_run_configuration: bool = False
    settings: list[EnvSetting] = field(default_factory=list)
    #: where the channel's arrays went: (function or "<module>", name)
    reached: list[tuple[str, str]] = field(default_factory=list)
    #: every value the off-state rests on is a constant or stated by the run's configuration
    established: bool = True


def base_name(expr: ast.AST) -> str | None:
    """``x``, ``x[...]``, ``x.astype(..)``, ``x.ctypes.data_as(..)`` → ``x``."""
    while True:
        if isinstance(expr, ast.Name):
            return expr.id
        if isinstance(expr, ast.Subscript):
            expr = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            expr = expr.func.value
        elif isinstance(expr, ast.Attribute) and expr.attr in ("ctypes", "data", "T"):
            expr = expr.value
        else:
            return None


def channel_state(a: Analysis, fn: Function | None, names: set[str]) -> ChannelState:
    """Follow the channel arrays ``names`` of ``fn`` and decide whether a mask built from them is
    never true under the configuration."""
    values = a.fact(Values)
    from auditor.analysis import scoring

    callers = a.fact(scoring.build).callers
    seen: set[tuple[int, str]] = set()
    queue: deque[tuple[Function | None, str]] = deque((fn, n) for n in names)
    reached: list[tuple[str, str]] = []
    masks: list[tuple[Function | None, ast.Assign]] = []
    steps = 0
    while queue and steps < MAX_STEPS:
        scope, name = queue.popleft()
        key = (id(scope), name)
        if key in seen:
            continue
        seen.add(key)
        steps += 1
        reached.append((scope.qualname if scope is not None else "<module>", name))
        for node in a.body_nodes(scope):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and _reads(node.value, name):
                    if _is_mask(node.value, name):
                        masks.append((scope, node))
                    elif base_name(node.value) == name:
                        queue.append((scope, target.id))
            elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and scope is not None:
                for j, elt in enumerate(node.value.elts):
                    if base_name(elt) == name:
                        for caller, call in callers.get(scope, []):
                            parent = a.parents.get(call)
                            if isinstance(parent, ast.Assign) and isinstance(parent.targets[0], ast.Tuple):
                                elts = parent.targets[0].elts
                                item = elts[j] if j < len(elts) else None
                                if isinstance(item, ast.Name):
                                    queue.append((caller, item.id))
            elif isinstance(node, ast.Call):
                for callee in a.resolve_call(node.func, scope):
                    for param in _bound_params(callee, node, name):
                        queue.append((callee, param))
    used: list[EnvSetting] = []
    for scope, node in masks:
        target = node.targets[0]
        name = target.id if isinstance(target, ast.Name) else "mask"
        mark = len(used)
        never = values.never_true(node.value, scope, used)
        settings = used[mark:]
        logged = _logged_count(a, name)
        if logged is not None and logged[1] != 0:
            # a counter of this mask printed by the run that produced the score: it fired
            return ChannelState(False, f"the log shows {logged[0]}={logged[1]:g}", node.lineno, reached=reached)
        if logged is not None and not never:
            return ChannelState(True, f"the log shows {logged[0]}=0 for its mask `{name}` (line {node.lineno})",
                                node.lineno, True, settings, reached)
        if never:
            said = ", ".join(dict.fromkeys(f"{s.env}={s.default!r}" for s in settings)) or "constants"
            return ChannelState(True, f"its mask `{name}` (line {node.lineno}) is never true with {said}",
                                node.lineno, any(s.overridden for s in settings), settings, reached,
                                all(s.established for s in settings))
        del used[mark:]
    return ChannelState(False, reached=reached)


def _logged_count(a: Analysis, mask: str) -> tuple[str, float] | None:
    """The run's log counter for ``mask``: the script prints ``f"... key={mask.sum()}"`` and the
    run configuration holds ``counter:key`` from the logs that produced the headline."""
    for node in a.walk(a.tree):
        if not isinstance(node, ast.JoinedStr):
            continue
        parts = node.values
        for prev, part in itertools.pairwise(parts):
            if isinstance(part, ast.FormattedValue) and _reads(part.value, mask) \
                    and isinstance(prev, ast.Constant) and isinstance(prev.value, str) and prev.value.endswith("="):
                key = prev.value[:-1].split()[-1] if prev.value[:-1].split() else ""
                raw = a.overrides.get(f"counter:{key.lower()}")
                if key and raw is not None:
                    try:
                        return key, float(raw)
                    except ValueError:
                        return None
    return None


def _reads(expr: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(expr))


def _is_mask(expr: ast.AST, name: str) -> bool:
    """A boolean mask built from ``name``: a comparison or ``&`` that reads it (possibly under a
    conditional expression)."""
    if isinstance(expr, ast.IfExp):
        return _is_mask(expr.body, name) or _is_mask(expr.orelse, name)
    if isinstance(expr, ast.Compare):
        return _reads(expr, name)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.BitAnd, ast.BitOr)):
        return _reads(expr, name) and any(isinstance(n, ast.Compare) or (isinstance(n, ast.Name) and n.id == name)
                                          for n in ast.walk(expr))
    return False


def _bound_params(callee: Function, call: ast.Call, name: str) -> list[str]:
    params = callee.params
    offset = 1 if callee.cls is not None and params[:1] in (["self"], ["cls"]) else 0
    out = []
    for i, arg in enumerate(call.args):
        if base_name(arg) == name and i + offset < len(params) and not isinstance(arg, ast.Starred):
            out.append(params[i + offset])
    for kw in call.keywords:
        if kw.arg is not None and base_name(kw.value) == name and kw.arg in params:
            out.append(kw.arg)
    return out
