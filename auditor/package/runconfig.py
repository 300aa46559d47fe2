"""The configuration of the run that produced a folder's score (RULEBOOK §8.3).

Precedence, highest first: what the train logs say (what the script actually computed), then the
run command in the README or a shipped shell script (``NAME=value ... torchrun ... train_gpt.py``),
then the code defaults (which the analysis already knows). A key that the logs or commands set to
different values (a per-seed ``SEED``, say) is ambiguous and left out, so the code default stays in
force for it.

Logs state the configuration in several ways, all read here:
- a hyperparameter dump (``Hyperparameters:`` then ``  name: value`` lines);
- banners of an enabled path: ``ngram_cache:enabled order=7 dirichlet=True``, ``ttt: enabled lr=0.002``
  (``<path>_enabled`` and ``<path>_<key>`` attributes; ``disabled``/``off`` set the flag False);
- counters printed by a path that ran: ``ngram_tilt:hints total=9 within_gate=3`` (kept under
  ``counter:<name>`` keys, e.g. ``counter:within_gate`` = ``3``: the analysis can tell a mask the
  logs show non-zero from one that never fires).

Which logs: when some logs' headline val_bpb matches the claim in ``submission.json`` (its mean or a
per-seed value) and others do not (stale logs of an earlier configuration beside the logs that
produced the claimed numbers), only the matching ones are read, and :attr:`RunConfiguration.logs`
says which were used and which left out.

The static analysis evaluates env-gated branches under this configuration, so a path the logged run
switched on is judged live (FAIL), and one it switched off while the default is on becomes a WARN.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from auditor.package.logs import looks_like_log, parse_log

_ASSIGN = re.compile(r"^(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$")
_LAUNCH = re.compile(r"\b(?:torchrun|python3?|accelerate)\b")
_DUMP_HEADER = re.compile(r"^(?:\S+\s+)?Hyperparameters:\s*$")
_DUMP_LINE = re.compile(r"^\s+([a-z_][a-z0-9_]*):\s?(.*)$")
_MAX_BYTES = 4_000_000
#: ``name:enabled k=v ...`` / ``name: disabled`` banners (after a log line prefix)
_BANNER = re.compile(r"^(?:\[rank\d+\]:\s*|\d{9,}(?:\.\d+)?\s+)?([a-z][a-z0-9_]*)\s*:\s*(enabled|disabled|on|off)\b(.*)$",
                     re.IGNORECASE)
#: ``name:phase k=v k=v`` counter lines printed by a path that ran
_COUNTERS = re.compile(r"^(?:\[rank\d+\]:\s*|\d{9,}(?:\.\d+)?\s+)?([a-z][a-z0-9_]*):([a-z][\w]*)\s+(\w+=\S+(?:\s+\w+=\S+)*)\s*$",
                       re.IGNORECASE)
_KV = re.compile(r"(\w+)=([^\s,]+)")
#: a headline printed with 4 decimals matches a claim to that precision
_CLAIM_TOLERANCE = 6e-5


@dataclass
class RunConfiguration:
    #: env names (run commands) and attribute names (log dumps) → the value text the run used
    values: dict[str, str] = field(default_factory=dict)
    #: key → where it was read (``README.md:143``)
    origin: dict[str, str] = field(default_factory=dict)
    #: which logs were read, and why others were left out (empty when every log was read)
    logs: str = ""


def run_configuration(folder: Path) -> RunConfiguration:
    commands, dumps = _Collected(), _Collected()
    logs: list[tuple[str, str]] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.stat().st_size > _MAX_BYTES:
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        if path.suffix in (".md", ".sh"):
            _run_commands(path.name, text, commands)
        elif path.suffix in (".log", ".txt") and looks_like_log(text):
            logs.append((path.name, text))
    if _retracted(folder):
        # the run the README and logs describe was withdrawn: the shipped code's defaults govern
        return RunConfiguration(logs="submission.json retracts its val_bpb: no run's configuration applies")
    used, note = _logs_behind_claim(folder, logs)
    for name, text in used:
        _log_dump(name, text, dumps)
        _log_banners(name, text, dumps)
    config = RunConfiguration(logs=note)
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


def _logs_behind_claim(folder: Path, logs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], str]:
    """The logs whose headline val_bpb is one the submission claims (its mean or a per-seed value),
    when only some are; else every log."""
    claims = _claimed_bpb(folder)
    if not claims or len(logs) < 2:
        return logs, ""
    matching: list[tuple[str, str]] = []
    other: list[tuple[str, str]] = []
    for name, text in logs:
        headline = parse_log(name, text).headline
        hit = headline is not None and any(abs(headline.val_bpb - c) <= _CLAIM_TOLERANCE for c in claims)
        (matching if hit else other).append((name, text))
    if not matching or not other:
        return logs, ""
    note = (f"logs whose headline matches the claimed val_bpb: {', '.join(n for n, _ in matching)}; "
            f"left out: {', '.join(n for n, _ in other)}")
    return matching, note


def _retracted(folder: Path) -> bool:
    """``"val_bpb": null`` with the run marked retracted (a ``status`` or a ``*retracted*`` key): the
    folder withdraws the score its README and logs describe. A score-less folder that is merely
    unfinished keeps its run command."""
    try:
        data = json.loads((folder / "submission.json").read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or "val_bpb" not in data or data["val_bpb"] is not None:
        return False
    return "retract" in str(data.get("status", "")).lower() or any("retracted" in str(k).lower() for k in data)


def _claimed_bpb(folder: Path) -> list[float]:
    """Every val_bpb-like number in submission.json (the mean, per-seed values, nested records)."""
    try:
        data = json.loads((folder / "submission.json").read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return []
    found: list[float] = []

    def visit(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                visit(v, str(k))
        elif isinstance(node, list):
            for v in node:
                visit(v, key)
        elif isinstance(node, (int, float)) and not isinstance(node, bool) and "bpb" in key.lower() \
                and not any(w in key.lower() for w in ("pre", "quantized", "std", "delta", "diff")):
            found.append(float(node))

    visit(data)
    return found


def _log_banners(name: str, text: str, out: _Collected) -> None:
    """``path:enabled k=v`` banners and ``path:phase k=v`` counter lines (module docstring)."""
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{name}:{number}"
        m = _BANNER.match(line.strip())
        if m is not None:
            prefix, state, rest = m.group(1).lower(), m.group(2).lower(), m.group(3)
            out.add(f"{prefix}_enabled", "True" if state in ("enabled", "on") else "False", where)
            for key, value in _KV.findall(rest):
                out.add(f"{prefix}_{key.lower()}", value, where)
            continue
        m = _COUNTERS.match(line.strip())
        if m is not None:
            for key, value in _KV.findall(m.group(3)):
                if re.fullmatch(r"-?\d+(?:\.\d+)?", value):
                    out.add(f"counter:{key.lower()}", value, where)
