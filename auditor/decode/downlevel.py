"""Rewrite Python 3.12 f-strings (PEP 701) into Python 3.11 syntax, keeping every line where it was.

Merged records use 3.12-only f-strings: the same quote inside a replacement field
(``f"{", ".join(xs)}"``), backslashes or comments inside one, and nested f-strings that reuse the
outer quote. Python 3.11's ``ast`` rejects them; libcst parses them. Each f-string that 3.11 cannot
parse becomes an equivalent ``str.format`` call on a plain template, e.g.
``f"{x!r:>{w}} {", ".join(y)}"`` → ``"{!r:>{}} {}".format(x, w, ", ".join(y))``: ``str.format``
applies the same conversions and format specs as an f-string, its method cannot be shadowed by the
script, and the expressions become ordinary call arguments, where any quote, backslash or comment
is legal. F-strings that 3.11 accepts are left untouched.
"""

from __future__ import annotations

import ast
import functools
import re
from typing import Any

#: inputs libcst's native parser cannot take: it crashes on deep nesting and takes minutes on long
#: operator chains (measured: 5,000 chained ``+`` took 28 s; 10,000 crashed the process)
MAX_BRACKET_DEPTH = 100
MAX_OPERATORS_PER_STATEMENT = 800
_SPACE_BEFORE_FOR = re.compile(r"(?<=[)\]}])(?=for\b)")
#: a line that can start a top-level statement: not indented, not a comment, closing bracket or clause
_STATEMENT_START = re.compile(r"^(?![\s#)\]}]|else\b|elif\b|except\b|finally\b)", re.M)


@functools.lru_cache(maxsize=8)  # the loader and the analysis both parse the same decoded text
def downlevel(text: str) -> str | None:
    """``text`` with 3.12-only f-strings rewritten to 3.11 syntax (same line count, each statement on
    its lines), or ``None`` when libcst cannot parse it either."""
    if not _safe_for_libcst(text):
        return None
    import libcst as cst

    from auditor.decode.fstrings import Lower

    lowered = _by_statement(text, cst, Lower)
    if lowered is None:
        lowered = _whole(text, cst, Lower)
    return lowered if lowered is not None and lowered.count("\n") == text.count("\n") else None


def _whole(text: str, cst: Any, lower: type) -> str | None:
    """Lower the module in one piece."""
    try:
        module = cst.parse_module(text)
    except cst.CSTValidationError:
        # libcst rejects ``(a if c else b)for x in y`` that Python accepts; a space fixes it
        text = _SPACE_BEFORE_FOR.sub(" ", text)
        try:
            module = cst.parse_module(text)
        except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError):
            return None
    except (cst.ParserSyntaxError, RecursionError):
        return None
    try:
        return module.visit(lower(module)).code
    except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError):
        return None


def _by_statement(text: str, cst: Any, lower: type) -> str | None:
    """The same result as :func:`_whole`, rewriting only the top-level statements that Python 3.11
    cannot parse (the others hold no f-string 3.11 rejects, so lowering leaves them as they are);
    ``None`` when this shortcut does not apply and the module must be lowered whole.

    Every piece is still parsed by libcst, so that libcst's own rejections (which send :func:`_whole`
    to its fallback, or to ``None``) are seen exactly as in one piece: a piece it rejects, or a split
    that is not at a statement boundary (a piece then fails to parse), means lowering whole. Lowering
    reads the module's newline style, so text with ``\\r`` is always lowered whole."""
    pieces = _top_level_pieces(text)
    if len(pieces) < 2 or "\r" in text:
        return None
    try:
        modules = [cst.parse_module(piece) for piece in pieces]
    except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError):
        return None
    out = []
    for piece, module in zip(pieces, modules):
        if _parses_311(piece):
            out.append(piece)
            continue
        try:
            out.append(module.visit(lower(module)).code)
        except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError):
            return None
    return "".join(out)


def _top_level_pieces(text: str) -> list[str]:
    """``text`` cut before each line that starts a top-level statement (not inside a block, a
    decorated definition or an ``else``/``except`` clause). Only a cheap line test: a cut inside a
    bracket or string leaves a piece that does not parse, which :func:`_by_statement` detects."""
    cuts: list[int] = []
    decorated = False
    for match in _STATEMENT_START.finditer(text):
        if not decorated:
            cuts.append(match.start())
        decorated = text.startswith("@", match.start())
    if not cuts or cuts[0] != 0:
        cuts.insert(0, 0)
    return [text[a:b] for a, b in zip(cuts, [*cuts[1:], len(text)])]


def _parses_311(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _safe_for_libcst(text: str) -> bool:
    """A cheap character scan (brackets inside strings count too; that only makes it stricter)."""
    depth = ops = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                return False
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in "+-*/%&|^@.":
            ops += 1
            if ops > MAX_OPERATORS_PER_STATEMENT:
                return False
        elif ch == "\n" and depth == 0:
            ops = 0
    return True
