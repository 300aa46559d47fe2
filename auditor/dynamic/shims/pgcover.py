"""Which lines of the submission's own files ran, and in which pass (the tape's metric-log count then).

A probe may clear a static lead only if the lead's line ran in the headline pass; this is the
record of that. ``sys.settrace`` is limited to the submission's files: the global hook returns no local
tracer for any other code, so library frames cost one dictionary lookup per call. (``sys.monitoring``
would be cheaper on 3.12+; the sandbox runs the auditor's own interpreter, 3.11 here, so settrace it is.)
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any


class LineCover:
    def __init__(self, root: str, tape: Any) -> None:
        self.root = os.path.realpath(root) + os.sep
        self.tape = tape
        self.mine: dict[str, str | None] = {}  # code file name -> its name relative to the root, or None
        self.hits: dict[tuple[str, int], set[int]] = {}

    def _name(self, filename: str) -> str | None:
        name = self.mine.get(filename, "")
        if name == "":
            real = os.path.realpath(filename)
            name = real[len(self.root):] if real.startswith(self.root) and real.endswith(".py") else None
            self.mine[filename] = name
        return name

    def _global(self, frame: Any, event: str, arg: Any) -> Any:
        name = self._name(frame.f_code.co_filename)
        if name is None:
            return None
        hits, tape = self.hits, self.tape

        def local(frame: Any, event: str, arg: Any) -> Any:
            if event == "line":
                hits.setdefault((name, frame.f_lineno), set()).add(tape.metric_logs)
            return local

        return local

    def install(self) -> None:
        sys.settrace(self._global)
        threading.settrace(self._global)

    def record(self) -> None:
        """One COVER event: file -> line -> the passes (metric-log counts) in which it ran."""
        sys.settrace(None)
        lines: dict[str, dict[str, list[int]]] = {}
        for (name, line), passes in self.hits.items():
            lines.setdefault(name, {})[str(line)] = sorted(passes)
        self.tape.record("COVER", lines=lines)
