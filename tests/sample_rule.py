"""Flags calls to ``leak()`` (test-only rule for the engine and reporters).

What it detects
    A call to a function named ``leak``; ``maybe()`` is reported as REVIEW.
Why it breaks the metric
    It does not; this rule exists only to drive the engine and the reporters in tests.
Example
    leak(val_tokens)
Legal alternative
    Do not call it.
How it is confirmed
    static only
Ruling
    Test fixture, no ruling.
Known gaps
    Matches by name, which real rules never do.
"""

from __future__ import annotations

import ast
import os
import time

from auditor.findings import Confidence, Level, Status
from auditor.rule import Invalid, Rule, Valid


class SampleLeak(Rule):
    code = "PG990"
    name = "sample-leak"
    rule_id = "TEST-LEAK"
    family = "TEST"
    status = Status.RULING
    level = Level.FAIL
    confidence = Confidence.HIGH
    rulings = ("test ruling",)
    ruling_url = "https://github.com/openai/parameter-golf/pull/1"
    hint = "Stop calling leak()."
    VALID = [Valid("ok()\n", note="no leak")]
    INVALID = [Invalid("x = 1\nleak(x)\n", lines=2, note="a leak")]

    def check(self, a):
        for node in ast.walk(a.tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                name = node.func.id
                if name == "leak":
                    yield self.report(a, node, "leak() called on validation tokens")
                elif name == "maybe":
                    yield self.report(a, node, "maybe() may leak", level=Level.REVIEW, confidence=Confidence.MEDIUM)
                elif name == "boom":
                    raise ValueError("rule bug")
                elif name == "die_now":
                    os._exit(3)
                elif name == "hang":
                    time.sleep(30)
