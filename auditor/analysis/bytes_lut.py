"""How a script builds its per-token byte tables (RULEBOOK §5 BPB-FORMULA / TOKENIZER-BYTES).

A *LUT builder* is a function that walks the SentencePiece vocabulary (``for i in range(...)`` with
``id_to_piece(i)``) and measures pieces with ``len(... .encode(...))``; per-text byte counters
(sidecar exporters) are not LUT builders. Its deviations from the reference rule
(REFERENCE-STACK §2.2) are reported as properties, each with the line to show:

- byte-fallback pieces (``is_byte``) not charged exactly 1;
- control / unknown / unused ids not all treated as 0-byte boundaries;
- the leading ``▁`` not stripped before measuring, or turned into a space inside ``base_bytes``
  (charged twice together with ``has_leading_space``), or never handled at all.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.analysis.module import Function
from auditor.analysis.nodes import walk
from auditor.analysis.scoring import call_name

if TYPE_CHECKING:
    from auditor.analysis import Analysis

SPACE = "\u2581"
BOUNDARY_TESTS = ("is_control", "is_unknown", "is_unused")
STRIP_CALLS = frozenset({"lstrip", "removeprefix", "strip"})


@dataclass
class Deviation:
    fn: Function
    line: int
    what: str


@dataclass
class LutFacts:
    builders: list[Function] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)


def _calls(fn: Function) -> list[ast.Call]:
    return [n for n in walk(fn.node) if isinstance(n, ast.Call)]


def _measure_line(fn: Function) -> int:
    for n in walk(fn.node):
        if isinstance(n, ast.Call) and call_name(n) == "len" and n.args and isinstance(n.args[0], ast.Call) \
                and call_name(n.args[0]) == "encode":
            return n.lineno
    return fn.node.lineno


def _byte_branch_values(fn: Function) -> list[ast.AST]:
    """Values assigned into a table inside ``if sp.is_byte(i):`` branches."""
    out: list[ast.AST] = []
    for node in walk(fn.node):
        if isinstance(node, ast.If) and any(isinstance(c, ast.Call) and call_name(c) == "is_byte"
                                            for c in walk(node.test)):
            for stmt in node.body:
                for sub in walk(stmt):
                    if isinstance(sub, ast.Assign) and isinstance(sub.targets[0], ast.Subscript):
                        out.append(sub.value)
    return out


def build(a: "Analysis") -> LutFacts:
    res = LutFacts()
    for fn in a.functions.values():
        calls = _calls(fn)
        names = {call_name(c) for c in calls}
        if "id_to_piece" not in names or "encode" not in names or not _walks_vocabulary(fn):
            continue
        res.builders.append(fn)
        line = _measure_line(fn)
        if "is_byte" not in names:
            res.deviations.append(Deviation(fn, line, "byte-fallback pieces (<0xNN>) are measured by their "
                                                      "piece text instead of being charged 1 byte"))
        else:
            for value in _byte_branch_values(fn):
                if not (isinstance(value, ast.Constant) and value.value == 1) and not (
                        isinstance(value, ast.Constant) and value.value is True):
                    res.deviations.append(Deviation(fn, value.lineno, "byte-fallback pieces are not charged "
                                                                      "exactly 1 byte"))
        missing = [t for t in BOUNDARY_TESTS if t not in names]
        if missing:
            res.deviations.append(Deviation(fn, line, "ids that are not text (" + ", ".join(missing) +
                                            ") are not treated as 0-byte boundaries"))
        space_consts = [n for n in walk(fn.node) if isinstance(n, ast.Constant) and n.value == SPACE]
        replaced = [c for c in calls if call_name(c) == "replace" and c.args and isinstance(c.args[0], ast.Constant)
                    and c.args[0].value == SPACE]
        if not space_consts:
            res.deviations.append(Deviation(fn, line, "the leading-space marker ▁ is never handled: no "
                                                      "has_leading_space byte and ▁ measured as 3 bytes"))
        elif any(isinstance(c.args[1], ast.Constant) and c.args[1].value not in ("",) for c in replaced if len(c.args) > 1):
            bad = next(c for c in replaced if len(c.args) > 1 and c.args[1].value != "")  # type: ignore[union-attr]
            res.deviations.append(Deviation(fn, bad.lineno, "▁ is turned into a space inside base_bytes, so the "
                                                            "space is charged again through has_leading_space"))
        elif not replaced and not _strips(fn):
            res.deviations.append(Deviation(fn, line, "pieces starting with ▁ are measured with the marker "
                                                      "(3 bytes) instead of stripping it"))
    return res


def _walks_vocabulary(fn: Function) -> bool:
    """``for i in range(...): ... id_to_piece(i)``: a table over ids, not a per-text byte count."""
    for loop in walk(fn.node):
        if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) and isinstance(loop.iter, ast.Call) \
                and call_name(loop.iter) == "range":
            for c in walk(loop):
                if isinstance(c, ast.Call) and call_name(c) == "id_to_piece" and c.args and \
                        isinstance(c.args[0], ast.Name) and c.args[0].id == loop.target.id:
                    return True
    return False


def _strips(fn: Function) -> bool:
    """``piece = piece[1:]`` / ``piece.lstrip('▁')`` / ``removeprefix('▁')`` somewhere in the builder."""
    for node in walk(fn.node):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            lower = node.slice.lower
            if isinstance(lower, ast.Constant) and lower.value == 1 and node.slice.upper is None:
                return True
        if isinstance(node, ast.Call) and call_name(node) in STRIP_CALLS:
            return True
    return False
