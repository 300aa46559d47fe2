"""Which lines of the submission's own files ran in the headline pass (the tape's metric-log count then).

A probe may clear a static lead only if the lead's line ran in the headline pass; this is the record
of that. It starts at the fork point of the re-run (the headline pass's first forward), in the control
process, and covers the frames already running there. ``sys.settrace`` is limited to the submission's
files: the global hook returns no local tracer for any other code. (``sys.monitoring`` would be cheaper on
3.12+; the sandbox runs the auditor's own interpreter, 3.11 here, so settrace it is.)
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
        self.started = False

    def _name(self, filename: str) -> str | None:
        name = self.mine.get(filename, "")
        if name == "":
            real = os.path.realpath(filename)
            name = real[len(self.root):] if real.startswith(self.root) and real.endswith(".py") else None
            self.mine[filename] = name
        return name

    def _global(self, frame: Any, event: str, arg: Any) -> Any:
        name = self._name(frame.f_code.co_filename)
        return None if name is None else self._local(name)

    def _local(self, name: str) -> Any:
        hits, tape = self.hits, self.tape

        def local(frame: Any, event: str, arg: Any) -> Any:
            if event == "line":
                hits.setdefault((name, frame.f_lineno), set()).add(tape.metric_logs)
            return local

        return local

    def start(self) -> None:
        """Trace from here on: new frames through the hook, the submission's frames already running
        (the evaluation loop that reached the fork point) through their own ``f_trace``."""
        self.started = True
        sys.settrace(self._global)
        threading.settrace(self._global)
        frame = sys._getframe(1)
        while frame is not None:
            name = self._name(frame.f_code.co_filename)
            if name is not None:
                frame.f_trace = self._local(name)
                frame.f_trace_lines = True
            frame = frame.f_back

    def record(self) -> None:
        """One COVER event, if the record started: file -> line -> the passes (metric-log counts) in which
        it ran."""
        if not self.started:
            return
        sys.settrace(None)
        lines: dict[str, dict[str, list[int]]] = {}
        for (name, line), passes in self.hits.items():
            lines.setdefault(name, {})[str(line)] = sorted(passes)
        self.tape.record("COVER", lines=lines)
