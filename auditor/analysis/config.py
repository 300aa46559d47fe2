"""Environment-flag defaults: which settings a script reads from the environment and their defaults.

Submissions read their configuration as ``NAME = int(os.environ.get("NAME", "0"))`` at module level or
as class attributes of a ``Hyperparameters`` class. We record, for every such binding, the env name
and the default *as the script would compute it* (folding ``int``/``float``/``bool``/``str`` wrappers
over a literal default), so that a branch like ``if args.ttt_enabled:`` can be evaluated under the
defaults: a violating path that only runs when a flag is switched on is reported as such.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_UNKNOWN = object()
_CASTS = {"int": int, "float": float, "str": str, "bool": bool}
_ENV_GETTERS = {"os.environ.get", "os.getenv", "environ.get", "getenv"}


@dataclass(frozen=True)
class EnvSetting:
    """One attribute or variable bound from the environment."""

    attr: str  # the Python name it is bound to (attribute or variable)
    env: str  # the environment variable name
    default: Any  # the folded default value, or ``None`` when it cannot be folded
    line: int
    known: bool = True
    #: the default written in the code, when the run's configuration (RULEBOOK §8.3) changed it
    code_default: Any = None
    overridden: bool = False
    #: the run's configuration states this value (equal to the code's default, or ``overridden``)
    confirmed: bool = False

    @property
    def established(self) -> bool:
        """Known to be the value of the run that produced the score, not only the code's default."""
        return self.confirmed or self.overridden

    def describe(self) -> str:
        if self.overridden:
            return f"{self.env}={self.default!r} in the run's configuration (code default {self.code_default!r})"
        return f"{self.env}={self.default!r}" if self.known else self.env


def env_call(node: ast.AST, resolve) -> tuple[str, ast.expr | None] | None:
    """If ``node`` reads an env var (``os.environ.get(N, d)``, ``os.getenv``, ``os.environ[N]``),
    return ``(N, default_expr)``."""
    if isinstance(node, ast.Call) and resolve(node.func) in _ENV_GETTERS and node.args:
        name = node.args[0]
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            default = node.args[1] if len(node.args) > 1 else None
            return name.value, default
    if isinstance(node, ast.Subscript) and resolve(node.value) in {"os.environ", "environ"}:
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value, None
    return None


def fold_setting(value: ast.expr, resolve, env_values: Mapping[str, str] = {}) -> tuple[str, Any, bool] | None:
    """Fold ``cast(os.environ.get(N, d))`` chains to ``(N, default, known)``.

    ``env_values`` are environment values the run is known to have set: they replace the code's
    default and go through the same casts, as the script itself would compute them.
    """
    found = env_call(value, resolve)
    if found is not None:
        env, default = found
        if env in env_values:
            return env, env_values[env], True
        return env, _literal(default), default is not None and _literal(default) is not _UNKNOWN
    if isinstance(value, ast.Call) and len(value.args) == 1 and isinstance(value.func, ast.Name):
        cast = _CASTS.get(value.func.id)
        inner = fold_setting(value.args[0], resolve, env_values)
        if cast is None or inner is None:
            return None
        env, default, known = inner
        if not known:
            return env, None, False
        try:
            # bool("0") is True in Python: the scripts write bool(int(...)), folded inside out
            return env, cast(default), True
        except (TypeError, ValueError):
            return env, None, False
    if isinstance(value, ast.Compare) and len(value.ops) == 1:
        # ``os.environ.get("X", "0") == "1"`` style flags
        inner = fold_setting(value.left, resolve, env_values)
        right = _literal(value.comparators[0])
        if inner is not None and inner[2] and right is not _UNKNOWN:
            return inner[0], _compare(value.ops[0], inner[1], right), True
    return None


def parse_logged_value(text: str) -> Any:
    """A value as a log's hyperparameter dump prints it (``True``, ``0.5``, ``'sp1024'``, ``foo``)."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text.strip()


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN


def _compare(op: ast.cmpop, left: Any, right: Any) -> Any:
    ops = {
        ast.Eq: lambda a, b: a == b,
        ast.NotEq: lambda a, b: a != b,
        ast.Gt: lambda a, b: a > b,
        ast.GtE: lambda a, b: a >= b,
        ast.Lt: lambda a, b: a < b,
        ast.LtE: lambda a, b: a <= b,
        ast.In: lambda a, b: a in b,
        ast.NotIn: lambda a, b: a not in b,
    }
    fn = ops.get(type(op))
    if fn is None:
        return _UNKNOWN
    try:
        return fn(left, right)
    except TypeError:
        return _UNKNOWN


def evaluate(test: ast.expr, lookup) -> Any:
    """Evaluate a branch condition under the defaults; ``lookup(expr)`` returns an EnvSetting or None.

    Returns ``_UNKNOWN`` (compare with :func:`is_unknown`) when any part cannot be decided.
    """
    setting = lookup(test)
    if setting is not None:
        return setting.default if setting.known else _UNKNOWN
    if isinstance(test, ast.Constant):
        return test.value
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = evaluate(test.operand, lookup)
        return _UNKNOWN if inner is _UNKNOWN else not inner
    if isinstance(test, ast.BoolOp):
        values = [evaluate(v, lookup) for v in test.values]
        if isinstance(test.op, ast.And):
            if any(v is not _UNKNOWN and not v for v in values):
                return False
            return _UNKNOWN if any(v is _UNKNOWN for v in values) else True
        if any(v is not _UNKNOWN and v for v in values):
            return True
        return _UNKNOWN if any(v is _UNKNOWN for v in values) else False
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, right = evaluate(test.left, lookup), evaluate(test.comparators[0], lookup)
        if left is _UNKNOWN or right is _UNKNOWN:
            return _UNKNOWN
        return _compare(test.ops[0], left, right)
    return _UNKNOWN


def is_unknown(value: Any) -> bool:
    return value is _UNKNOWN
