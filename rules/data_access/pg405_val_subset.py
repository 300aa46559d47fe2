"""The validation stream is cut to a subset by a configurable limit.

What it detects
    A slice ``tokens[:k]`` / ``tokens[a:a + k]`` of the validation tokens — found by data flow from
    the ``fineweb_val_*`` shard pattern into the loader and its callers — whose bound is a knob: an
    env setting, or a loader parameter with a default (``token_limit=0``, ``max_tok=500000``). The
    knob's value under the defaults (following call sites and env defaults) decides the level:
    a limit that is on by default is FAIL; one that only an env override switches on is REVIEW.
Why it breaks the metric
    VAL-FULL-COVERAGE: the headline must score every target of the first 50,000 documents; a subset
    reported as the full validation set is not valid (ruling on PR #1835).
Example
    def load_val(pattern, seq_len, max_tokens=int(os.environ.get("VAL_MAX_TOKENS", 500000))):
        tokens = load(pattern)[: max_tokens + 1]
Legal alternative
    The reference truncation to a whole number of ``seq_len`` windows plus one (computed from the
    stream's own length) is fine; anything shorter must not produce the headline.
How it is confirmed
    logged validation token count against RULEBOOK §1.1 (package stage).
Ruling
    README rule; ruling on PR #1835 (valerio-oai).
Known gaps
    Document-count limits and random minibatches are not matched; a limit applied after the tokens
    moved through more than one call is not followed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from auditor.analysis import Analysis, config, scoring
from auditor.analysis.nodes import of_type
from auditor.analysis.scoring import _param_value
from auditor.analysis.taint import path_of
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

VAL_PATTERN = re.compile(r"(?<![A-Za-z])val_(?!bytes)")


def _val_strings(a: Analysis) -> set[str]:
    """Names/attributes bound to the validation shard pattern."""
    out: set[str] = set()
    for node in of_type(a.tree, ast.Assign, ast.AnnAssign):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _has_val_const(node.value):
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                if isinstance(t, ast.Attribute):
                    out.add(t.attr)
                elif isinstance(t, ast.Name):
                    out.add(t.id)
    return out


def _has_val_const(expr: ast.AST) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and VAL_PATTERN.search(n.value)
               and (".bin" in n.value or "*" in n.value) for n in ast.walk(expr))


class ValSubset(Rule):
    code = "PG405"
    name = "val-subset"
    rule_id = "VAL-FULL-COVERAGE"
    family = "DATA-ACCESS"
    status = Status.README
    level = Level.FAIL
    rulings = ("README", "ruling on PR #1835")
    ruling_url = "https://github.com/openai/parameter-golf/pull/1835"
    hint = "Score the full validation split; remove the token/document limit from the headline path."

    VALID = [
        Valid(
            """
            import glob
            import numpy as np
            VAL = "data/fineweb_val_*.bin"
            def load_val(pattern, seq_len):
                tokens = np.concatenate([np.fromfile(f, dtype=np.uint16) for f in sorted(glob.glob(pattern))])
                usable = ((tokens.size - 1) // seq_len) * seq_len
                return tokens[: usable + 1]
            tokens = load_val(VAL, 1024)
            """,
            note="the reference truncation to whole windows",
        ),
        Valid(
            """
            import numpy as np
            class Shard:
                def load(self):
                    return np.zeros(4)
            tokens = np.load("data/fineweb_val_000000.bin")
            s = Shard().load()
            """,
            note="a library call that shares a local method's name passes more arguments than the method takes",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import os
            import glob
            import numpy as np
            VAL = "data/fineweb_val_*.bin"
            def load_val(pattern, seq_len, max_tok=int(os.environ.get("VAL_MAX_TOKENS", 500000))):
                tokens = np.concatenate([np.fromfile(f, dtype=np.uint16) for f in sorted(glob.glob(pattern))])
                return tokens[: max_tok + 1]
            tokens = load_val(VAL, 1024)
            """,
            lines=7,
            note="500k-token subset by default",
        ),
        Invalid(
            """
            import os
            import glob
            import numpy as np
            LIMIT = int(os.environ.get("VAL_TOKEN_LIMIT", "0"))
            def load_val(pattern, seq_len, token_limit=0):
                tokens = np.concatenate([np.fromfile(f, dtype=np.uint16) for f in sorted(glob.glob(pattern))])
                if token_limit > 0:
                    tokens = tokens[: token_limit + 1]
                return tokens
            tokens = load_val("data/fineweb_val_*.bin", 1024, token_limit=LIMIT)
            """,
            lines=8,
            level=Level.REVIEW,
            note="limit only active when VAL_TOKEN_LIMIT is set",
        ),
        Invalid(
            """
            import glob
            import numpy as np
            class ValData:
                def load(self, pattern, limit=500000):
                    tokens = np.concatenate([np.fromfile(f, dtype=np.uint16) for f in sorted(glob.glob(pattern))])
                    return tokens[: limit + 1]
            tokens = ValData().load("data/fineweb_val_*.bin")
            """,
            lines=6,
            note="a method: the call's first argument binds the parameter after self",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        bound = _val_strings(a)
        for fn in a.functions.values():
            params = fn.params
            sites = [call for _, call in a.fact(scoring.build).callers.get(fn, [])]
            # a method's call site binds its first argument to the parameter after ``self``/``cls``
            offset = 1 if fn.cls is not None and params[:1] in (["self"], ["cls"]) else 0
            val_params = set()
            for call in sites:
                for i, arg in enumerate(call.args):
                    if (_has_val_const(arg) or (path_of(arg) or "").split(".")[-1] in bound) and i + offset < len(params):
                        val_params.add(params[i + offset])
            if not val_params:
                continue
            taint = a.taint(fn, lambda n: False, val_params)
            for node in a.body_nodes(fn):
                if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)
                        and node.slice.upper is not None and taint.is_tainted(node.value)):
                    continue
                knobs = [n.id for n in ast.walk(node.slice.upper) if isinstance(n, ast.Name)
                         and n.id in params and n.id not in val_params and _has_default(fn, n.id)]
                if not knobs:
                    continue
                finding = self._judge(a, fn, node, knobs[0])
                if finding is not None:
                    yield finding

    def _judge(self, a: Analysis, fn, node: ast.Subscript, knob: str) -> Finding | None:
        used: list = []
        value = _param_value(a, fn, knob, used)
        env = used[0].describe() if used else f"parameter `{knob}`"
        guard = next((anc for anc in a.ancestors(node) if isinstance(anc, ast.If)
                      and any(isinstance(x, ast.Name) and x.id == knob for x in ast.walk(anc.test))), None)
        if config.is_unknown(value):
            return self.report(a, node, f"validation tokens cut at `{knob}` ({env}); value not resolvable",
                               level=Level.REVIEW)
        on = bool(value)
        if guard is not None:
            taken = config.evaluate(guard.test, lambda e: None if not (isinstance(e, ast.Name) and e.id == knob)
                                    else config.EnvSetting(knob, knob, value, guard.lineno))
            on = not config.is_unknown(taken) and bool(taken)
        if on:
            return self.report(a, node, f"validation tokens cut to a subset by default ({env} = {value!r})")
        if used:
            return self.report(a, node, f"validation tokens cut to a subset when {used[0].env} is set",
                               level=Level.REVIEW)
        return None


def _has_default(fn, name: str) -> bool:
    args = fn.node.args
    positional = [*args.posonlyargs, *args.args]
    with_default = {p.arg for p in positional[len(positional) - len(args.defaults):]}
    with_default |= {p.arg for p, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
    return name in with_default
