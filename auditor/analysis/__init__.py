"""The analysis layer every rule asks its questions of.

Why Python's ``ast`` carries the per-node work and libcst does not: measured on this 2-core machine
on the largest merged record (158 KB), ``ast.parse`` takes 0.10 s while libcst's ``parse_module``
takes 0.59 s and its ``PositionProvider`` another 1.35 s, which alone breaks the 0.5 s per-file
budget on a median (78 KB) file. ``ast`` nodes already carry exact lines. libcst is kept where it is
the right tool: parsing the Python 3.12-only syntax (PEP 701 f-strings) that this interpreter's
``ast`` rejects, and rewriting it to 3.11 syntax with lines preserved (``auditor/decode/downlevel.py``),
which the dynamic sandbox needs too.

Family-specific facts (event order in loops, n-gram key construction, ...) live in their own modules
and are computed at most once per file through :meth:`Analysis.fact`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from auditor.analysis.module import DEAD, LIVE, Function, Gate, Liveness, Module, NestingTooDeep
from auditor.analysis.taint import Taint

if TYPE_CHECKING:
    from auditor.analysis.program import HelperContext
from auditor.source import SourceFile

__all__ = ["Analysis", "Function", "Gate", "Liveness", "LIVE", "DEAD", "Taint", "ParseFailure", "parse"]

F = TypeVar("F")


class ParseFailure(Exception):
    """The source is not Python this tool can parse; the message says why, for the user."""


def parse(text: str) -> ast.Module:
    """Parse with ``ast``; fall back to libcst down-levelling for 3.12-only syntax."""
    try:
        return ast.parse(text)
    except SyntaxError as exc:
        from auditor.decode.downlevel import downlevel

        lowered = downlevel(text)
        if lowered is None:
            raise ParseFailure(f"syntax error at line {exc.lineno}: {exc.msg}") from exc
        try:
            return ast.parse(lowered)
        except SyntaxError as exc2:
            raise ParseFailure(f"syntax error at line {exc2.lineno}: {exc2.msg}") from exc2
    except (RecursionError, MemoryError) as exc:
        raise ParseFailure("source nests too deeply for the parser") from exc
    except ValueError as exc:  # e.g. source contains NUL bytes
        raise ParseFailure(f"not parseable as Python: {exc}") from exc


class Analysis(Module):
    """All shared facts about one source file, plus a cache of family facts."""

    def __init__(
        self,
        source: SourceFile,
        tree: ast.Module | None = None,
        overrides: Mapping[str, str] | None = None,
        context: HelperContext | None = None,
    ) -> None:
        try:
            super().__init__(source, tree if tree is not None else parse(source.text), overrides, context)
        except NestingTooDeep as exc:
            raise ParseFailure(str(exc)) from exc
        self._facts: dict[Callable, object] = {}

    def fact(self, build: Callable[["Analysis"], F]) -> F:
        """Compute a family fact (``build(self)``) once per file and share it between rules."""
        if build not in self._facts:
            self._facts[build] = build(self)
        return self._facts[build]  # type: ignore[return-value]

    def taint(self, fn: Function | None, seed: Callable[[ast.AST], bool], initial=()) -> Taint:
        return Taint(self, fn, seed, initial)
