"""Dynamic probes: one module per probe, each a documented check with a PG8xx code.

A probe reads the :class:`~auditor.dynamic.context.Context` of one sandboxed run and returns findings:
FAIL with evidence (positions, events, code lines), INFO when it passed (so the merge step knows the
exact path was measured), or REVIEW with the reason when it could not decide (INCONCLUSIVE).
"""
