"""Values of simple expressions over settings, and masks and channels that those values switch off.

A path can be dead without any ``if`` on a flag: a hint channel whose threshold setting is 99 is
compared with a probability (never above 1), so its mask is all False; a channel scaled by a boost
whose effective value is 0 adds nothing; ``if beta != 0:`` with beta 0 never runs. This module
evaluates, under the run's configuration (RULEBOOK §8.3), the arithmetic, comparisons, casts and
conditional expressions that such code is built from, following local names bound once and
parameters through every call site in the file. Unknown stays unknown: nothing here guesses.

Facts only; the rules decide what a dead or live channel means.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.analysis import config
from auditor.analysis.config import EnvSetting

if TYPE_CHECKING:
    from auditor.analysis import Analysis, Function

UNKNOWN: Any = config.evaluate(ast.Name(id="_"), lambda e: None)
#: casts and scalar constructors that keep a number's value
_KEEP = frozenset({"float", "int", "numpy.float32", "numpy.float64", "numpy.int64", "numpy.int32",
                   "torch.tensor", "numpy.asarray", "numpy.array", "math.fabs"})
#: calls whose result is all zeros (as a mask: all False)
_ZEROS = frozenset({"numpy.zeros", "numpy.zeros_like", "torch.zeros", "torch.zeros_like", "numpy.full_like"})
#: calls whose result lies in [0, 1]
_PROB_CALLS = frozenset({"torch.softmax", "torch.sigmoid", "torch.nn.functional.softmax",
                         "torch.nn.functional.sigmoid", "scipy.special.softmax", "scipy.special.expit"})
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
MAX_DEPTH = 8


@dataclass
class Outcome:
    """A value and the settings it was computed from."""

    value: Any
    settings: list[EnvSetting] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return not config.is_unknown(self.value)

    @property
    def established(self) -> bool:
        """Every setting it read is stated by the run's configuration (constants read none)."""
        return all(s.established for s in self.settings)

    @property
    def from_run_configuration(self) -> bool:
        """Whether the run's configuration (not the code's defaults) decided it."""
        return any(s.overridden for s in self.settings)


class Values:
    """Evaluate expressions of one analysed file under its effective configuration."""

    def __init__(self, a: Analysis) -> None:
        self.a = a
        from auditor.analysis import scoring

        self._callers = a.fact(scoring.build).callers

    # ---- numbers and booleans -------------------------------------------------------------------

    def of(self, expr: ast.AST, fn: Function | None) -> Outcome:
        used: list[EnvSetting] = []
        value = self._eval(expr, fn, used, MAX_DEPTH)
        return Outcome(value, used)

    def _eval(self, expr: ast.AST, fn: Function | None, used: list[EnvSetting], depth: int) -> Any:
        if depth <= 0:
            return UNKNOWN
        setting = self.a.setting_of(expr)
        if setting is not None:
            if not setting.known:
                return UNKNOWN
            used.append(setting)
            return setting.default
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.Name):
            return self._name(expr.id, fn, used, depth)
        if isinstance(expr, ast.Call):
            name = self.a.qualname(expr.func)
            if name in _KEEP and len(expr.args) == 1:
                value = self._eval(expr.args[0], fn, used, depth - 1)
                if name == "int" and isinstance(value, (int, float, str)):
                    try:
                        return int(value)
                    except ValueError:
                        return UNKNOWN
                if name == "float" and isinstance(value, (int, float, str)):
                    try:
                        return float(value)
                    except ValueError:
                        return UNKNOWN
                return value
            if name == "bool" and len(expr.args) == 1:
                value = self._eval(expr.args[0], fn, used, depth - 1)
                return UNKNOWN if config.is_unknown(value) else bool(value)
            if name in ("math.exp", "numpy.exp") and len(expr.args) == 1:
                value = self._eval(expr.args[0], fn, used, depth - 1)
                return math.exp(value) if isinstance(value, (int, float)) else UNKNOWN
            return UNKNOWN
        if isinstance(expr, ast.UnaryOp):
            value = self._eval(expr.operand, fn, used, depth - 1)
            if config.is_unknown(value):
                return UNKNOWN
            if isinstance(expr.op, ast.Not):
                return not value
            if isinstance(expr.op, ast.USub) and isinstance(value, (int, float)):
                return -value
            if isinstance(expr.op, ast.UAdd):
                return value
            return UNKNOWN
        if isinstance(expr, ast.BinOp):
            left = self._eval(expr.left, fn, used, depth - 1)
            right = self._eval(expr.right, fn, used, depth - 1)
            op = _ARITH.get(type(expr.op))
            # x * 0 is 0 whatever x is: a channel scaled by a zero boost
            if isinstance(expr.op, ast.Mult) and (_is_zero(left) or _is_zero(right)):
                return 0
            if op is None or config.is_unknown(left) or config.is_unknown(right):
                return UNKNOWN
            try:
                return op(left, right)
            except (TypeError, ValueError, ZeroDivisionError, OverflowError):
                return UNKNOWN
        if isinstance(expr, ast.IfExp):
            test = self._eval(expr.test, fn, used, depth - 1)
            if config.is_unknown(test):
                return UNKNOWN
            return self._eval(expr.body if test else expr.orelse, fn, used, depth - 1)
        if isinstance(expr, ast.BoolOp):
            values = [self._eval(v, fn, used, depth - 1) for v in expr.values]
            is_and = isinstance(expr.op, ast.And)
            for v in values:
                if not config.is_unknown(v) and bool(v) != is_and:
                    return v
            return UNKNOWN if any(config.is_unknown(v) for v in values) else values[-1]
        if isinstance(expr, ast.Compare) and len(expr.ops) == 1:
            bound = self._probability_bound(expr, fn, used, depth)
            if bound is not None:
                return bound
            left = self._eval(expr.left, fn, used, depth - 1)
            right = self._eval(expr.comparators[0], fn, used, depth - 1)
            if config.is_unknown(left) or config.is_unknown(right):
                return UNKNOWN
            return config._compare(expr.ops[0], left, right)
        return UNKNOWN

    def _name(self, name: str, fn: Function | None, used: list[EnvSetting], depth: int) -> Any:
        a = self.a
        scope = fn
        if scope is not None:
            values = [n.value for n in a.body_nodes(scope) if isinstance(n, ast.Assign) and len(n.targets) == 1
                      and isinstance(n.targets[0], ast.Name) and n.targets[0].id == name]
            rebound = any(isinstance(n, (ast.AugAssign, ast.AnnAssign, ast.For)) and _binds(n, name)
                          for n in a.body_nodes(scope))
            if len(values) == 1 and not rebound and name not in scope.params:
                return self._eval(values[0], scope, used, depth - 1)
            if not values and not rebound and name in scope.params:
                return self._param(scope, name, used, depth)
            if values or rebound or name in scope.params:
                return UNKNOWN
            # not bound in the function: the module's binding
        values = [n.value for n in a.tree.body if isinstance(n, ast.Assign) and len(n.targets) == 1
                  and isinstance(n.targets[0], ast.Name) and n.targets[0].id == name]
        return self._eval(values[0], None, used, depth - 1) if len(values) == 1 else UNKNOWN

    def _param(self, fn: Function, name: str, used: list[EnvSetting], depth: int) -> Any:
        """The value every call site in this file passes for ``name``, else the signature default."""
        args = fn.node.args
        positional = [p.arg for p in (*args.posonlyargs, *args.args)]
        defaults: dict[str, ast.expr] = dict(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        defaults.update({p.arg: d for p, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        offset = 1 if fn.cls is not None and positional[:1] in (["self"], ["cls"]) else 0
        sites = self._callers.get(fn, [])
        values = []
        for caller, call in sites:
            bound: ast.expr | None = next((k.value for k in call.keywords if k.arg == name), None)
            if bound is None and name in positional:
                i = positional.index(name) - offset
                if 0 <= i < len(call.args) and not any(isinstance(x, ast.Starred) for x in call.args[: i + 1]):
                    bound = call.args[i]
            if bound is None:
                if any(k.arg is None for k in call.keywords):
                    return UNKNOWN  # **kwargs may pass it
                bound = defaults.get(name)
                value = UNKNOWN if bound is None else self._eval(bound, None, used, depth - 1)
            else:
                value = self._eval(bound, caller, used, depth - 1)
            if config.is_unknown(value):
                return UNKNOWN
            values.append(value)
        if values:
            return values[0] if all(v == values[0] for v in values) else UNKNOWN
        default = defaults.get(name)
        return UNKNOWN if default is None else self._eval(default, None, used, depth - 1)

    def scaled_by_zero(self, node: ast.AST, fn: Function | None) -> Outcome | None:
        """The zero factor when ``node`` reaches its arithmetic only through a product with a value
        that is 0 under the configuration (``boost * (y == h)`` with boost 0): the term adds nothing."""
        child = node
        for parent in self.a.ancestors(node):
            if isinstance(parent, ast.Attribute) and parent.value is child and \
                    parent.attr in ("float", "double", "to", "astype", "half"):
                child = parent
                continue
            if isinstance(parent, ast.Call) and parent.func is child:
                child = parent
                continue
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mult):
                other = parent.right if parent.left is child else parent.left
                found = self.of(other, fn)
                if _is_zero(found.value):
                    return found
                child = parent
                continue
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div) and parent.left is child:
                child = parent
                continue
            return None
        return None

    # ---- probabilities --------------------------------------------------------------------------

    def _probability_bound(self, cmp: ast.Compare, fn: Function | None, used: list[EnvSetting],
                           depth: int) -> bool | None:
        """``p >= t`` / ``p > t`` with ``p`` a probability and ``t`` above 1 (or equal, for ``>``) is
        False at every position, whatever ``p`` holds; likewise ``t <= p`` / ``t < p``."""
        op, left, right = cmp.ops[0], cmp.left, cmp.comparators[0]
        if isinstance(op, (ast.Lt, ast.LtE)):
            left, right = right, left
            op = ast.Gt() if isinstance(op, ast.Lt) else ast.GtE()
        if not isinstance(op, (ast.Gt, ast.GtE)) or not self.is_probability(left, fn):
            return None
        mark = len(used)
        threshold = self._eval(right, fn, used, depth - 1)
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
            del used[mark:]
            return None
        if threshold > 1 or (threshold == 1 and isinstance(op, ast.Gt)):
            return False
        del used[mark:]
        return None

    def is_probability(self, expr: ast.AST, fn: Function | None, depth: int = 4) -> bool:
        """Whether ``expr`` holds values in [0, 1]: a softmax or sigmoid, a value the file documents as
        one by name (``*prob*``), or a name bound once to one of those."""
        # casts, copies and reductions of probabilities are probabilities
        while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in (
                "astype", "float", "double", "to", "clone", "copy", "max", "min", "mean", "item"):
            expr = expr.func.value
        if isinstance(expr, ast.Subscript):
            expr = expr.value
        if isinstance(expr, ast.Call):
            name = self.a.qualname(expr.func) or ""
            if name in _KEEP and expr.args:
                return self.is_probability(expr.args[0], fn, depth - 1)
            return name in _PROB_CALLS or name.endswith((".softmax", ".sigmoid"))
        if isinstance(expr, (ast.Name, ast.Attribute)):
            ident = expr.id if isinstance(expr, ast.Name) else expr.attr
            # a name is the only statement of range the code makes for an array filled elsewhere
            # (a C kernel's output, a table lookup): ``top_prob``, ``p_hint``
            if "prob" in ident.lower():
                return True
            if isinstance(expr, ast.Name) and fn is not None and depth > 0:
                values = [n.value for n in self.a.body_nodes(fn) if isinstance(n, ast.Assign)
                          and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and n.targets[0].id == ident]
                return len(values) == 1 and self.is_probability(values[0], fn, depth - 1)
        return False

    # ---- masks ----------------------------------------------------------------------------------

    def never_true(self, expr: ast.AST, fn: Function | None, used: list[EnvSetting] | None = None,
                   depth: int = MAX_DEPTH) -> bool:
        """Whether a mask (a boolean array or scalar) is False at every position under the
        configuration: a zeros array, a comparison that cannot hold, ``x & never``, ``never | never``,
        a conditional expression whose configuration picks such a branch, a name bound once to one."""
        used = [] if used is None else used
        if depth <= 0:
            return False
        while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in (
                "astype", "copy", "clone", "bool"):
            expr = expr.func.value
        if isinstance(expr, ast.Call):
            name = self.a.qualname(expr.func) or ""
            if name in _ZEROS:
                if name == "numpy.full_like":
                    return len(expr.args) >= 2 and self._eval(expr.args[1], fn, used, depth - 1) in (0, False)
                return True
            if name in ("numpy.logical_and",) and expr.args:
                return any(self.never_true(x, fn, used, depth - 1) for x in expr.args)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitAnd):
            return self.never_true(expr.left, fn, used, depth - 1) or self.never_true(expr.right, fn, used, depth - 1)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            return self.never_true(expr.left, fn, used, depth - 1) and self.never_true(expr.right, fn, used, depth - 1)
        if isinstance(expr, ast.IfExp):
            test = self._eval(expr.test, fn, used, depth - 1)
            if config.is_unknown(test):
                return (self.never_true(expr.body, fn, used, depth - 1)
                        and self.never_true(expr.orelse, fn, used, depth - 1))
            return self.never_true(expr.body if test else expr.orelse, fn, used, depth - 1)
        if isinstance(expr, ast.Name) and fn is not None:
            values = [n.value for n in self.a.body_nodes(fn) if isinstance(n, ast.Assign) and len(n.targets) == 1
                      and isinstance(n.targets[0], ast.Name) and n.targets[0].id == expr.id]
            return len(values) == 1 and self.never_true(values[0], fn, used, depth - 1)
        value = self._eval(expr, fn, used, depth)
        return not config.is_unknown(value) and isinstance(value, (bool, int, float)) and not value


def _is_zero(value: Any) -> bool:
    return not config.is_unknown(value) and isinstance(value, (int, float)) and not isinstance(value, bool) \
        and value == 0


def _binds(node: ast.AST, name: str) -> bool:
    target = node.target if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)) else None
    return any(isinstance(t, ast.Name) and t.id == name for t in ast.walk(target)) if target is not None else False
