"""Hashed tables sized for the scored run, shrunk so the tiny run keeps their load factor.

A hashed n-gram cache with millions of buckets never collides on the sandbox's few thousand val tokens,
so at the tiny configuration it looks normalized; on the scored run (62M val tokens) its collisions push
the implied probabilities far above 1. The tiny run must keep tokens per bucket, not bucket counts.

Sizes are large powers of two (2**18 and up) written as literals (``4_194_304``, ``1 << 22``,
``2 ** 22``). A value is rescaled only when one of its occurrences sits on a line that names a hashed
table (bucket, hash, mask, ngram, cache, table); then every occurrence of that value in the file is
rescaled alike, so a table and its index mask stay consistent. The edit keeps every line where it was:
findings and the line record point at the submission's own lines.
"""

from __future__ import annotations

import io
import math
import re
import tokenize

FULL_VAL_TOKENS = 62_021_632  # the challenge's val split (sp1024)
MIN_BUCKETS = 64
MIN_EXPONENT = 18
_HASHED = re.compile(r"bucket|hash|mask|ngram|n_gram|cache|table", re.IGNORECASE)
_SHIFT = re.compile(r"^(?:1\s*<<\s*|2\s*\*\*\s*)(\d+)$")


def scaled(value: int, val_tokens: int) -> int:
    """The power of two with the scored run's tokens per bucket at ``val_tokens`` val tokens."""
    target = value * val_tokens / FULL_VAL_TOKENS
    return max(MIN_BUCKETS, 2 ** round(math.log2(max(target, 1))))


def _power(text: str) -> int | None:
    """The exponent of a large power-of-two literal, or None."""
    try:
        n = int(text.replace("_", ""), 0)
    except ValueError:
        return None
    return n.bit_length() - 1 if n >= 2**MIN_EXPONENT and n & (n - 1) == 0 else None


def shrink_tables(text: str, val_tokens: int) -> tuple[str, list[str]]:
    """The text with hashed-table sizes rescaled, and a note per rescaled value."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text, []
    lines = text.splitlines(keepends=True)
    # candidates: NUMBER tokens that are powers of two, and "1 << k" / "2 ** k" shifts written out
    sites: list[tuple[int, int, int, int]] = []  # (row, col_start, col_end, exponent)
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NUMBER:
            continue
        exp = _power(tok.string)
        if exp is not None:
            sites.append((tok.start[0], tok.start[1], tok.end[1], exp))
        elif i + 2 < len(tokens) and tok.string in ("1", "2") and tokens[i + 1].string in ("<<", "**") \
                and tokens[i + 2].type == tokenize.NUMBER and tok.start[0] == tokens[i + 2].end[0]:
            span = text.splitlines()[tok.start[0] - 1][tok.start[1]:tokens[i + 2].end[1]]
            m = _SHIFT.match(span)
            if m and int(m.group(1)) >= MIN_EXPONENT:
                sites.append((tok.start[0], tok.start[1], tokens[i + 2].end[1], int(m.group(1))))
    hashed = {exp for row, _, _, exp in sites if _HASHED.search(lines[row - 1])}
    rows: dict[int, list[int]] = {}
    for row, start, end, exp in sorted((s for s in sites if s[3] in hashed), key=lambda s: (s[0], -s[1])):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + str(scaled(2**exp, val_tokens)) + line[end:]
        rows.setdefault(exp, []).append(row)
    notes = [f"hashed table size 2**{exp} -> {scaled(2**exp, val_tokens)} at lines {sorted(set(r))} (the scored run's "
             f"tokens per bucket)" for exp, r in sorted(rows.items())]
    return "".join(lines), notes
