"""The dynamic stage: run a submission small on CPU in a sandbox and measure C1–C4, data access, bytes.

``run_dynamic(loaded, static_findings, options) -> list[Finding]`` is the engine's entry point; it
imports torch lazily, so importing this package (e.g. for the rule catalog) stays cheap.
"""

from __future__ import annotations

from typing import Any


def run_dynamic(loaded: Any, static_findings: list, options: Any = None) -> list:
    from auditor.dynamic.runner import run_dynamic as _run

    return _run(loaded, static_findings, options)


__all__ = ["run_dynamic"]
