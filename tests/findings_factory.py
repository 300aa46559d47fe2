"""Build findings for tests with sensible defaults (the test-only rule PG990 at a plain file)."""

from __future__ import annotations

from auditor.findings import Finding, Level, Provenance, Source


def finding(code="PG990", level=Level.FAIL, line=2, path="/repo/records/a/train_gpt.py", **kw) -> Finding:
    return Finding(
        code=code,
        rule=kw.pop("rule", "TEST-LEAK"),
        level=level,
        source=kw.pop("source", Source.STATIC),
        path=path,
        line=line,
        message=kw.pop("message", "leak() called on validation tokens"),
        evidence=kw.pop("evidence", ["leak(x)"]),
        name=kw.pop("name", "sample-leak"),
        provenance=kw.pop("provenance", Provenance(path)),
        **kw,
    )
