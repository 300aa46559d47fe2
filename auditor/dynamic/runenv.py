"""The environment of the run that produced a folder's score (RULEBOOK §8.3), for the sandbox.

A record folder's logs and run command say which settings the scored run used
(``auditor/package/runconfig.py``); the static analysis already judges gated paths under them. The
sandbox must run the same paths, so each setting the run changed is passed as an environment variable:
the command's own text where the command set it, else the text that makes the script's own parsing
(``bool(int(os.environ.get(...)))``, ``... == "1"``) yield the logged value. The tiny configuration
is applied on top, so sizes still shrink. Paths (data, tokenizer, output locations), the process
topology (8 ranks on the scored machine, one in the sandbox) and the run's name describe the machine,
not the run's behaviour, and stay the sandbox's own.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from auditor.analysis import Analysis
from auditor.analysis.config import EnvSetting, fold_setting


#: set by the launcher or by the sandbox itself, never reproduced from the scored run
MACHINE = frozenset({"WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "NODE_RANK", "NNODES",
                     "NPROC_PER_NODE", "MASTER_ADDR", "MASTER_PORT", "CUDA_VISIBLE_DEVICES", "RUN_ID"})


def run_environment(analysis: Analysis, values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Env variables reproducing the run's configuration, and a note per variable."""
    env: dict[str, str] = {}
    notes: list[str] = []
    assigned = _assigned_values(analysis.tree)
    for s in analysis.settings.values():
        if s.env in MACHINE:
            continue
        if s.attr in values and s.attr != s.env:  # a log dump: what the script computed, parsed back
            node = assigned.get((s.line, s.attr))
            if not s.overridden or node is None:
                continue
            text: str | None = _env_text(node, analysis, s)
        elif s.env in values and s.overridden:  # the run command's own text
            text = values[s.env]
        else:
            continue
        if text is None:
            notes.append(f"{s.env}: the scored run used {s.default!r}, which no spelling of the variable makes the "
                         f"script's parsing yield; the code default stays")
        elif "/" not in text:
            env[s.env] = text
            default = s.code_default if s.overridden else s.default
            notes.append(f"{s.env}={text} (the scored run's configuration; code default {default!r})")
    return env, notes


def _assigned_values(tree: ast.Module) -> dict[tuple[int, str], ast.expr]:
    out: dict[tuple[int, str], ast.expr] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                name = t.attr if isinstance(t, ast.Attribute) else getattr(t, "id", None)
                if name:
                    out[(node.lineno, name)] = node.value
    return out


def _env_text(value: ast.expr, analysis: Analysis, s: EnvSetting) -> str | None:
    """The first spelling of the logged value that the script's own casts fold back to it."""
    for text in _spellings(s.default):
        folded = fold_setting(value, analysis.qualname, {s.env: text})
        if folded is not None and folded[2] and folded[1] == s.default and type(folded[1]) is type(s.default):
            return text
    return None


def _spellings(value: Any) -> list[str]:
    if isinstance(value, bool):
        return ["1", "True", "true"] if value else ["0", "False", "false"]
    if isinstance(value, float):
        return [repr(value), str(value), str(int(value))] if value.is_integer() else [repr(value)]
    return [str(value)]
