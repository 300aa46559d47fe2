"""PEP 701 f-strings are rewritten to 3.11 syntax with the same lines and the same values."""

from __future__ import annotations

import ast
import time

import pytest

from auditor.analysis import ParseFailure, parse
from auditor.decode.downlevel import downlevel

PEP701 = '''import os
cats = {"b": [2, 1]}
w = 6
a = {"k": 3.14159}
line1 = f"  {"b"}: {", ".join(str(v) for v in sorted(cats["b"]))}"
line2 = f"{a["k"]!r:>{w}}|{a["k"]:.2f}"
line3 = f"{"\\n".join(["x", "y"])}"
line4 = f"""{
    w  # a comment inside the field
}"""
line5 = "pre{" f"{cats["b"][0]}" 'post'
line6 = f"{w=}" + f"{a["k"] = }" + f"{w=:>4}"
line7 = f"{f"{w}"}" + f'{"kept" if w else 'no'}'
line8 = f"{w}"  # already valid: left as is
'''
EXPECTED = {
    "line1": "  b: 1, 2",
    "line2": "3.14159|3.14",
    "line3": "x\ny",
    "line4": "6",
    "line5": "pre{2post",
    "line6": "w=6a[\"k\"] = 3.14159w=   6",
    "line7": "6kept",
    "line8": "6",
}


def test_pep701_fstrings_become_valid_311_with_the_same_values_and_lines() -> None:
    with pytest.raises(SyntaxError):
        ast.parse(PEP701)
    lowered = downlevel(PEP701)
    assert lowered is not None
    assert lowered.count("\n") == PEP701.count("\n")
    tree = ast.parse(lowered)
    lines = {t.targets[0].id: t.lineno for t in tree.body if isinstance(t, ast.Assign)}
    assert [lines[f"line{i}"] for i in range(1, 9)] == [5, 6, 7, 8, 11, 12, 13, 14]
    namespace: dict = {}
    exec(compile(tree, "<lowered>", "exec"), namespace)  # our own fixture, not submitted code
    assert {k: namespace[k] for k in EXPECTED} == EXPECTED
    assert lowered.splitlines()[13] == 'line8 = f"{w}"  # already valid: left as is'


def test_parse_falls_back_to_downlevel() -> None:
    tree = parse('x = 1\nprint(f"{", ".join(["a"])}")\n')
    assert isinstance(tree.body[1], ast.Expr) and tree.body[1].lineno == 2


def test_unparseable_text_gives_none_and_a_parse_failure() -> None:
    assert downlevel("def f(:\n") is None
    with pytest.raises(ParseFailure, match="syntax error at line 1"):
        parse("def f(:\n")


@pytest.mark.parametrize(
    "hostile",
    ["x = " + "(" * 2000 + "1" + ")" * 2000 + "\n", "x = " + "+".join(["a"] * 20000) + " +\n"],
)
def test_inputs_that_crash_or_stall_libcst_are_refused_quickly(hostile: str) -> None:
    started = time.perf_counter()
    assert downlevel(hostile) is None
    assert time.perf_counter() - started < 1.0


def test_libcst_validation_quirk_is_worked_around() -> None:
    text = 'y, c = 5, 1\nn=sum(y-(0 if w else c)for w in range(3))\nmsg = f"{", ".join(["a", "b"])}"\n'
    lowered = downlevel(text)
    assert lowered is not None and lowered.count("\n") == 3
    namespace: dict = {}
    exec(compile(ast.parse(lowered), "<lowered>", "exec"), namespace)  # our own fixture
    assert (namespace["n"], namespace["msg"]) == (14, "a, b")
