"""The dynamic stage: run a submission small on CPU in a sandbox and measure C1–C4, data access, bytes.

The engine's entry point is :func:`auditor.dynamic.runner.run_dynamic`. Importing the stage does not
import torch: only the sandboxed child process needs it.
"""
