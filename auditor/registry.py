"""Rule discovery and selection (ruff-style ``--select`` / ``--ignore`` by code or prefix)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache

import rules
from auditor.rule import Rule


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """Every concrete rule class under ``rules/``, sorted by code; codes are unique."""
    found: dict[str, type[Rule]] = {}
    for info in pkgutil.walk_packages(rules.__path__, prefix="rules."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Rule) and obj.__module__ == module.__name__:
                if "code" not in vars(obj):
                    continue  # an abstract family base class
                if obj.code in found:
                    raise RuntimeError(f"duplicate rule code {obj.code} in {module.__name__}")
                found[obj.code] = obj
    return tuple(found[c] for c in sorted(found))


def rule_by_code(code: str) -> type[Rule] | None:
    return next((r for r in all_rules() if r.code == code.upper()), None)


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(code.startswith(p.upper()) for p in patterns)


def select(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[type[Rule]]:
    """Rules whose code starts with a ``select`` prefix (all when empty) and no ``ignore`` prefix."""
    chosen = list(select)
    return [
        r
        for r in all_rules()
        if (not chosen or _matches(r.code, chosen)) and not _matches(r.code, ignore)
    ]


def code_selected(code: str, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> bool:
    """The same selection applied to any finding code (dynamic and package findings too)."""
    chosen = list(select)
    return (not chosen or _matches(code, chosen)) and not _matches(code, ignore)
