"""Code whose behaviour depends on the process topology, which the sandbox does not reproduce.

The scored run had several ranks (8 on the record track unless its logs say otherwise); the sandbox
runs one. A block under a test of the world size or the rank (``if world_size > 1:``, ``if rank == 0:``,
``if dist.is_initialized():``) may take another branch there than on the scored machine, so a line
inside one is never "exercised at the scored configuration": no probe result clears a lead on it.
Read from the source text (``ast``), never by running it.
"""

from __future__ import annotations

import ast
import re

RECORD_TRACK_RANKS = 8
_TOPOLOGY = re.compile(r"world_size|get_world_size|\brank\b|_rank\b|get_rank|is_initialized|is_distributed|"
                       r"distributed|master_process|is_main|WORLD_SIZE|RANK", re.IGNORECASE)


def scored_ranks(run_config: dict[str, str]) -> int:
    """The scored run's rank count: its logged ``world_size``, else the record track's 8."""
    for key in ("world_size", "WORLD_SIZE"):
        value = run_config.get(key, "")
        if value.strip().isdigit():
            return int(value)
    return RECORD_TRACK_RANKS


def gated_lines(text: str) -> frozenset[int]:
    """Lines under a branch whose test reads the topology (both arms; the test's own lines too), directly
    or through names assigned from it (``ws = int(os.environ["WORLD_SIZE"])``, ``self.distributed = ...``)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return frozenset()
    assigns = [(_targets(n), ast.unparse(n.value)) for n in ast.walk(tree)
               if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and n.value is not None]
    derived: set[str] = set()
    while True:  # names assigned from the topology, or from such names, until nothing new appears
        new = {name for names, value in assigns if _reads(value, derived) for name in names} - derived
        if not new:
            break
        derived |= new
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.IfExp, ast.While)) and _reads(ast.unparse(node.test), derived):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return frozenset(lines)


def _targets(node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    out: set[str] = set()
    for t in targets:
        for n in ast.walk(t):
            if isinstance(n, ast.Name):
                out.add(n.id)
            elif isinstance(n, ast.Attribute):
                out.add(n.attr)
    return out


def _reads(expr: str, derived: set[str]) -> bool:
    if _TOPOLOGY.search(expr):
        return True
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr))
    return bool(words & derived)
