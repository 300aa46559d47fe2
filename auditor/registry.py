"""Rule discovery and selection (ruff-style ``--select`` / ``--ignore`` by code or prefix)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache

from auditor.rule import Rule, RuleInfo

#: packages whose modules define documented checks: static rules and package checks under ``rules/``,
#: dynamic probes under ``auditor/dynamic/probes`` (imported only when the whole catalog is asked for:
#: the probes need torch, which a static audit must not pay for)
CATALOG_PACKAGES = ("rules", "auditor.dynamic.probes")


@cache
def _discover(package_name: str) -> tuple[type[RuleInfo], ...]:
    """Every documented check defined in ``package_name``'s modules."""
    try:
        package = importlib.import_module(package_name)
    except ModuleNotFoundError:
        return ()  # the dynamic stage is optional (needs torch)
    found = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, RuleInfo) and obj.__module__ == module.__name__:
                if "code" in vars(obj):  # abstract base classes have none
                    found.append(obj)
    return tuple(found)


@cache
def catalog() -> tuple[type[RuleInfo], ...]:
    """Every documented check (static rule, package check, dynamic probe), sorted by code; codes unique."""
    found: dict[str, type[RuleInfo]] = {}
    for obj in (c for name in CATALOG_PACKAGES for c in _discover(name)):
        if obj.code in found:
            raise RuntimeError(f"duplicate rule code {obj.code} in {obj.__module__}")
        found[obj.code] = obj
    return tuple(found[c] for c in sorted(found))


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """The static rules: the ones run on every parsed source file."""
    return tuple(sorted((r for r in _discover("rules") if issubclass(r, Rule)), key=lambda r: r.code))


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
