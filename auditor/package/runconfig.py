"""The configuration of the run that produced a folder's score (RULEBOOK §8.3).

Precedence, highest first: the hyperparameter dump in the train logs (``Hyperparameters:`` then
``  name: value`` lines — what the script actually computed), then the run command in the README or a
shipped shell script (``NAME=value ... torchrun ... train_gpt.py``), then the code defaults (which the
analysis already knows). A key that the logs or commands set to different values (a per-seed
``SEED``, say) is ambiguous and left out, so the code default stays in force for it.

The static analysis evaluates env-gated branches under this configuration, so a path the logged run
switched on is judged live (FAIL), and one it switched off while the default is on becomes a WARN.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from auditor.package.logs import looks_like_log

_ASSIGN = re.compile(r"^(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$")
_LAUNCH = re.compile(r"\b(?:torchrun|python3?|accelerate)\b")
_DUMP_HEADER = re.compile(r"^(?:\S+\s+)?Hyperparameters:\s*$")
_DUMP_LINE = re.compile(r"^\s+([a-z_][a-z0-9_]*):\s?(.*)$")
_MAX_BYTES = 4_000_000


@dataclass
class RunConfiguration:
    #: env names (run commands) and attribute names (log dumps) → the value text the run used
    values: dict[str, str] = field(default_factory=dict)
    #: key → where it was read (``README.md:143``)
    origin: dict[str, str] = field(default_factory=dict)


def run_configuration(folder: Path) -> RunConfiguration:
    commands, dumps = _Collected(), _Collected()
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.stat().st_size > _MAX_BYTES:
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        if path.suffix in (".md", ".sh"):
            _run_commands(path.name, text, commands)
        elif path.suffix in (".log", ".txt") and looks_like_log(text):
            _log_dump(path.name, text, dumps)
    config = RunConfiguration()
    for collected in (commands, dumps):  # the later source wins
        for key, value in collected.agreed().items():
            config.values[key] = value
            config.origin[key] = collected.origin[key]
    return config


@dataclass
class _Collected:
    seen: dict[str, set[str]] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, value: str, where: str) -> None:
        self.seen.setdefault(key, set()).add(value)
        self.origin.setdefault(key, where)

    def agreed(self) -> dict[str, str]:
        return {k: next(iter(v)) for k, v in self.seen.items() if len(v) == 1}


def _run_commands(name: str, text: str, out: _Collected) -> None:
    """``NAME=value`` words before a launcher on one logical (backslash-joined) line, and
    ``export NAME=value`` lines of a shell script."""
    lines = text.splitlines()
    start = 0
    while start < len(lines):
        end, logical = start, lines[start]
        while logical.rstrip().endswith("\\") and end + 1 < len(lines):
            end += 1
            logical = logical.rstrip()[:-1] + " " + lines[end]
        try:
            words = shlex.split(logical, comments=True)
        except ValueError:
            words = []
        where = f"{name}:{start + 1}"
        if _LAUNCH.search(logical):
            for word in words:
                m = _ASSIGN.match(word)
                if m is None:
                    break
                _add_known(m, where, out)
        elif name.endswith(".sh") and words[:1] == ["export"] and len(words) == 2 and (m := _ASSIGN.match(words[1])):
            _add_known(m, where, out)
        start = end + 1


def _add_known(assignment: re.Match[str], where: str, out: _Collected) -> None:
    """``$SEED`` or a command substitution is resolved only when the command runs: unknown here."""
    if not any(c in assignment.group(2) for c in "$`"):
        out.add(assignment.group(1), assignment.group(2), where)


def _log_dump(name: str, text: str, out: _Collected) -> None:
    in_dump = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _DUMP_HEADER.match(line):
            in_dump = True
            continue
        if in_dump:
            m = _DUMP_LINE.match(line)
            if m is None:
                in_dump = False
                continue
            out.add(m.group(1), m.group(2).strip(), f"{name}:{number}")
