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

import functools
import re

#: inputs libcst's native parser cannot take: it crashes on deep nesting and takes minutes on long
#: operator chains (measured: 5,000 chained ``+`` took 28 s; 10,000 crashed the process)
MAX_BRACKET_DEPTH = 100
MAX_OPERATORS_PER_STATEMENT = 800
_SPACE_BEFORE_FOR = re.compile(r"(?<=[)\]}])(?=for\b)")


@functools.lru_cache(maxsize=8)  # the loader and the analysis both parse the same decoded text
def downlevel(text: str) -> str | None:
    """``text`` with 3.12-only f-strings rewritten to 3.11 syntax (same line count, each statement on
    its lines), or ``None`` when libcst cannot parse it either."""
    if not _safe_for_libcst(text):
        return None
    import libcst as cst

    from auditor.decode.fstrings import Lower

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
        lowered = module.visit(Lower(module)).code
    except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError):
        return None
    return lowered if lowered.count("\n") == text.count("\n") else None


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
