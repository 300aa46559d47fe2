"""Rule discovery and selection (ruff-style ``--select`` / ``--ignore`` by code or prefix)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache

from auditor.rule import Rule, RuleInfo

#: packages whose modules define documented checks: static rules and package checks under ``rules/``,
#: dynamic probes under ``auditor/dynamic/probes``
CATALOG_PACKAGES = ("rules", "auditor.dynamic.probes")


@cache
def catalog() -> tuple[type[RuleInfo], ...]:
    """Every documented check (static rule, package check, dynamic probe), sorted by code; codes unique."""
    found: dict[str, type[RuleInfo]] = {}
    for package_name in CATALOG_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError:
            continue  # the dynamic stage is optional (needs torch)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if not (isinstance(obj, type) and issubclass(obj, RuleInfo)) or obj.__module__ != module.__name__:
                    continue
                if "code" not in vars(obj):
                    continue  # an abstract base class
                if obj.code in found:
                    raise RuntimeError(f"duplicate rule code {obj.code} in {module.__name__}")
                found[obj.code] = obj
    return tuple(found[c] for c in sorted(found))


def all_rules() -> tuple[type[Rule], ...]:
    """The static rules: the ones run on every parsed source file."""
    return tuple(r for r in catalog() if issubclass(r, Rule))


def rule_by_code(code: str) -> type[RuleInfo] | None:
    return next((r for r in catalog() if r.code == code.upper()), None)


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
