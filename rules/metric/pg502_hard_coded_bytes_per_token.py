"""val_bpb is computed with a constant bytes-per-token (or tokens-per-byte) ratio.

What it detects
    An expression that converts nats to bits (divides by ``log(2)`` or multiplies by ``1/ln 2``)
    and also scales by a literal ratio (a float other than 1 or 2) or by an env setting, instead of
    by token and byte counts measured on the scored positions.
Why it breaks the metric
    BPB-FORMULA / TOKENIZER-BYTES item 4: val_bpb must be ``loss_sum / (ln 2 · bytes)`` with bytes
    summed from the LUTs (or a byte sidecar) over exactly the scored targets; a fixed ratio is not the
    byte count of this validation set.
Example
    val_bpb = val_loss / math.log(2) * 0.4105
Legal alternative
    Accumulate ``bytes`` from the byte LUTs at the scored targets and use
    ``(val_loss / ln 2) * (tokens / bytes)``.
How it is confirmed
    implied-byte-total check on the log (package stage).
Ruling
    README rule (metric definition); RULEBOOK TOKENIZER-BYTES item 4.
Known gaps
    A ratio computed in another function and passed in as a plain parameter is not traced to its
    constant.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.nodes import of_type, walk
from auditor.analysis.scoring import call_name
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

LN2 = math.log(2)


def _is_ln2(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and call_name(node) == "log" and len(node.args) == 1:
        arg = node.args[0]
        while isinstance(arg, ast.Call) and arg.args:  # torch.log(torch.tensor(2.0))
            arg = arg.args[0]
        return isinstance(arg, ast.Constant) and arg.value in (2, 2.0)
    return isinstance(node, ast.Constant) and isinstance(node.value, float) and (
        abs(node.value - LN2) < 1e-4 or abs(node.value - 1 / LN2) < 1e-4)


class HardCodedBytesPerToken(Rule):
    code = "PG502"
    name = "hard-coded-bytes-per-token"
    rule_id = "BPB-FORMULA"
    family = "METRIC"
    status = Status.README
    level = Level.FAIL
    rulings = ("README (metric definition)",)
    ruling_url = "https://github.com/openai/parameter-golf#readme"
    hint = "Sum the bytes of the scored targets from the LUTs; never use a fixed ratio."

    VALID = [
        Valid(
            """
            import math
            def bpb(loss_sum, tokens, nbytes):
                val_loss = loss_sum / tokens
                return val_loss / math.log(2.0) * (tokens / nbytes)
            """,
            note="the reference formula",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import math
            def bpb(loss_sum, tokens):
                val_loss = loss_sum / tokens
                return val_loss / math.log(2) * 0.4105
            """,
            lines=4,
            note="fixed tokens-per-byte ratio",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        seen: set[int] = set()
        for node in of_type(a.tree, ast.BinOp):
            if not (isinstance(node, ast.BinOp) and _is_ln2(node.right) and isinstance(node.op, (ast.Div, ast.Mult))):
                continue
            top = node
            while isinstance(a.parents.get(top), ast.BinOp):
                top = a.parents[top]
            if id(top) in seen:
                continue
            seen.add(id(top))
            ratios = [n for n in walk(top) if n is not node.right and isinstance(n, ast.Constant)
                      and isinstance(n.value, float) and n.value not in (1.0, 2.0) and 0.05 < n.value < 20
                      and not _is_ln2(n)]
            ratios += [n for n in walk(top) if isinstance(n, (ast.Name, ast.Attribute))
                       and (s := a.setting_of(n)) is not None and isinstance(s.default, float)]
            if ratios:
                finding = self.report(a, top, f"bits are scaled by the constant `{ast.unparse(ratios[0])}` "
                                              "instead of measured tokens/bytes")
                if finding is not None:
                    yield finding
