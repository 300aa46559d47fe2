"""The maintainer's configuration: rule selection, the fail threshold, and waivers.

Read from ``pgolf-audit.toml`` or the ``[tool.pgolf-audit]`` table of ``pyproject.toml``, whichever is
found first walking up from the working directory (a ``pyproject.toml`` without the table is skipped),
or from ``--config PATH``. The audited submission never configures its own audit: inline suppression
comments in a submission are not honoured (ANCHORS §4), so a waiver lives here, with a reason and a
link to the ruling that allows it::

    select = ["PG1", "PG2"]
    ignore = ["PG905"]
    fail-on = "review"          # or "fail": REVIEW verdicts then exit 0

    [[waiver]]
    code = "PG601"
    path = "records/track_10min_16mb/2026-04-01_*/train_gpt.py"
    reason = "helper counted in the artifact by the maintainers' own recount"
    ruling = "https://github.com/openai/parameter-golf/pull/1234#issuecomment-1"
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from auditor.findings import Finding

CONFIG_FILE = "pgolf-audit.toml"
PYPROJECT_TABLE = "pgolf-audit"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "select": {"type": "array", "items": {"type": "string", "pattern": "^PG[0-9]{0,3}$"}},
        "ignore": {"type": "array", "items": {"type": "string", "pattern": "^PG[0-9]{0,3}$"}},
        "fail-on": {"enum": ["review", "fail"]},
        "waiver": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "reason", "ruling"],
                "properties": {
                    "code": {"type": "string", "pattern": "^PG[0-9]{3}$"},
                    "path": {"type": "string", "minLength": 1},
                    "reason": {"type": "string", "pattern": r"\S"},
                    "ruling": {"type": "string", "pattern": r"^https?://\S+$"},
                },
            },
        },
    },
}


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; the message names the file and the key."""


@dataclass(frozen=True)
class Waiver:
    """A maintainer's decision that findings of ``code`` on files matching ``path`` do not count."""

    code: str
    reason: str
    ruling: str
    path: str = "*"

    def matches(self, finding: Finding, rel_path: str) -> bool:
        if finding.code != self.code:
            return False
        return any(fnmatch.fnmatchcase(p, self.path) for p in (rel_path, finding.path))


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: str = "review"
    waivers: tuple[Waiver, ...] = ()
    path: Path | None = None
    #: the folder the config lives in: waiver globs are matched against paths relative to it
    root: Path = field(default_factory=Path.cwd)

    def waiver_for(self, finding: Finding) -> Waiver | None:
        rel = _relative(finding.path, self.root)
        return next((w for w in self.waivers if w.matches(finding, rel)), None)


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return Path(path).as_posix()


def _describe(error: jsonschema.ValidationError) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"{where or 'table'}: missing required key {missing[0]!r} (every waiver needs a reason and a ruling link)"
    if error.validator == "pattern" and where.endswith("ruling"):
        return f"{where}: {error.instance!r} is not an http(s) link to the ruling"
    if error.validator == "pattern" and where.endswith("reason"):
        return f"{where}: the reason must not be empty"
    if error.validator == "additionalProperties":
        return f"{where or 'top level'}: {error.message}"
    return f"{where or 'top level'}: {error.message}"


def parse(table: dict[str, Any], path: Path | None) -> Config:
    """Validate one configuration table and build the :class:`Config`."""
    label = str(path) if path else "configuration"
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(table), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(f"{label}: {_describe(errors[0])}")
    waivers = tuple(
        Waiver(code=w["code"], reason=w["reason"].strip(), ruling=w["ruling"], path=w.get("path", "*"))
        for w in table.get("waiver", [])
    )
    return Config(
        select=tuple(table.get("select", ())),
        ignore=tuple(table.get("ignore", ())),
        fail_on=table.get("fail-on", "review"),
        waivers=waivers,
        path=path,
        root=path.parent if path else Path.cwd(),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def load_file(path: Path) -> Config:
    """Load an explicit ``--config`` file (a ``pgolf-audit.toml`` or a ``pyproject.toml``)."""
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get(PYPROJECT_TABLE)
        if table is None:
            raise ConfigError(f"{path}: no [tool.{PYPROJECT_TABLE}] table")
        return parse(table, path)
    return parse(data, path)


def discover(start: Path | None = None) -> Config | None:
    """The nearest configuration at or above ``start`` (the working directory), or ``None``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return parse(_read_toml(candidate), candidate)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _read_toml(pyproject).get("tool", {}).get(PYPROJECT_TABLE)
            if table is not None:
                return parse(table, pyproject)
    return None
