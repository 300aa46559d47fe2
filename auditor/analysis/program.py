"""How the main script uses a local helper module: which of its functions it calls, with what values.

A helper (``online_ngram_tilt.py``, say) has no entry point of its own, so on its own every function
in it would count as live with every parameter unknown. But a channel inside it may run only when a
parameter is on (``if word_boost > 0.0:``), and whether it is on is decided by the caller:
``build_hints(word_boost=h.word_boost)`` with ``WORD_BOOST`` defaulting to ``0.0``. This module reads
the main script's imports and calls of the helper and gives the helper's analysis

- ``entries``: the helper's top-level names the main script uses (its roots of reachability), and
- ``params``: ``(function, parameter) → value`` for arguments every call site passes with a value the
  analysis can decide under the run's configuration; a parameter no call site passes keeps its
  default, which the helper's analysis reads from the signature.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.analysis import config
from auditor.analysis.nodes import walk

if TYPE_CHECKING:
    from auditor.analysis import Analysis

_UNDECIDED = object()


@dataclass
class HelperContext:
    entries: set[str] = field(default_factory=set)
    #: (top-level function or ``Class.__init__``, parameter name or positional index) → value
    params: dict[tuple[str, str | int], Any] = field(default_factory=dict)
    #: params whose value every call site computes from settings the run's configuration states
    established: set[tuple[str, str | int]] = field(default_factory=set)


def helper_context(main: "Analysis", helper_path: str) -> HelperContext:
    """What ``main`` imports from, and passes to, the module stored at ``helper_path``."""
    module = Path(helper_path).stem
    context = HelperContext()
    seen: dict[tuple[str, str | int], list[Any]] = {}
    firm: dict[tuple[str, str | int], list[bool]] = {}
    for local, dotted in main.aliases.items():
        if dotted.startswith(f"{module}."):
            context.entries.add(dotted[len(module) + 1:].split(".")[0])
    for node in walk(main.tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = main.qualname(node.func) or ""
        if not dotted.startswith(f"{module}."):
            continue
        name = dotted[len(module) + 1:].split(".")[0]
        context.entries.add(name)
        target = f"{name}.__init__" if name[:1].isupper() else name
        bound: list[tuple[tuple[str, str | int], ast.expr]] = [((target, i), arg) for i, arg in enumerate(node.args)]
        bound += [((target, kw.arg), kw.value) for kw in node.keywords if kw.arg is not None]
        for key, arg in bound:
            value, established = _value(main, arg)
            seen.setdefault(key, []).append(value)
            firm.setdefault(key, []).append(established)
    for key, values in seen.items():
        if all(v is not _UNDECIDED for v in values) and len({repr(v) for v in values}) == 1:
            context.params[key] = values[0]
            if all(firm[key]):
                context.established.add(key)
    return context


def _value(main: "Analysis", expr: ast.expr) -> tuple[Any, bool]:
    """The value ``expr`` passes, and whether every setting it reads is stated by the run's
    configuration (a literal reads none)."""
    used: list[config.EnvSetting] = []

    def lookup(e: ast.AST) -> config.EnvSetting | None:
        found = main.setting_of(e)
        if found is not None:
            used.append(found)
        return found

    value = config.evaluate(expr, lookup)
    if config.is_unknown(value):
        return _UNDECIDED, False
    return value, all(s.established for s in used)
