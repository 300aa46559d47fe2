"""Code or names built at run time: exec of computed text, computed attribute calls, computed imports.

What it detects
    ``exec``/``eval``/``compile`` over text that is not a constant expression (f-strings, variables
    filled at run time); a call through ``getattr(module, <non-constant>)(...)``; ``__import__`` or
    ``importlib.import_module`` with a computed name. Each hides which code runs from every static
    rule.
Why it breaks the metric
    The auditor's verdicts come from data flow over the code that runs (RULEBOOK §8, §9); code chosen
    or written at run time escapes them, so a human has to look.
Example
    act = getattr(F, os.environ.get("ACT", "gelu"))
    exec(f"def step(x): return x * {scale}")
Legal alternative
    Call the function directly, or choose among constant names with an explicit ``if``/dict of
    functions.
How it is confirmed
    static only
Ruling
    Tool policy (RULEBOOK §8/§9: verdicts from the code that runs).
Known gaps
    ``getattr`` whose result is stored and called later is not followed; neither are ``globals()``
    lookups or ``operator.methodcaller``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.files import exec_sites
from auditor.decode.scan import scan
from auditor.decode.unpack import Unfoldable
from auditor.findings import Confidence, Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

_IMPORTERS = frozenset({"__import__", "importlib.import_module", "importlib.__import__"})


def _constant(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and isinstance(expr.value, str)


class DynamicCodeConstruction(Rule):
    code = "PG902"
    name = "dynamic-code-construction"
    rule_id = "DYNAMIC-CODE"
    family = "META"
    status = Status.META
    level = Level.REVIEW
    confidence = Confidence.MEDIUM
    rulings = ("RULEBOOK §8, §9",)
    hint = "Call functions directly instead of building code or names at run time."

    VALID = [
        Valid(
            """
            import torch
            def load_state(obj, name):
                return torch.zeros(1).to(dtype=getattr(torch, obj["dtypes"][name]))
            """,
            note="legal look-alike: getattr on a module to read a dtype, not to call code",
        ),
        Valid(
            """
            import importlib, torch.nn.functional as F
            exec("x = 1")
            act = getattr(F, "gelu")
            np = importlib.import_module("numpy")
            """,
            note="constant text and constant names",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import os
            scale = float(os.environ.get("SCALE", "2"))
            exec(f"def step(x):\\n    return x * {scale}")
            """,
            lines=3,
            note="exec of an f-string",
        ),
        Invalid(
            """
            import os
            import torch.nn.functional as F
            def forward(x):
                return getattr(F, os.environ.get("ACT", "gelu"))(x)
            """,
            lines=4,
            note="a call chosen by a computed attribute name on a module",
        ),
        Invalid(
            """
            import sys
            mod = __import__(sys.argv[1])
            """,
            lines=2,
            note="import of a computed name",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for site in a.fact(exec_sites):
            if isinstance(site.result, Unfoldable) and site.result.kind == "dynamic":
                yield self.report(a, site.node, f"{site.runner}() runs text built at run time ({site.result.reason})")
        for node in scan(a.tree).calls:  # the loader's scan of this tree: every call, in walk order
            name = a.qualname(node.func)
            if name in _IMPORTERS and node.args and not _constant(node.args[0]):
                yield self.report(a, node, f"{name}() imports a module whose name is computed at run time")
            func = node.func
            if (
                isinstance(func, ast.Call)
                and a.qualname(func.func) == "getattr"
                and len(func.args) >= 2
                and isinstance(func.args[0], ast.Name)
                and func.args[0].id in a.aliases
                and not _constant(func.args[1])
            ):
                module = a.aliases[func.args[0].id]
                yield self.report(a, node, f"calls a function of {module} chosen by a name computed at run time")
