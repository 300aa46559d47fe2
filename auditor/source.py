"""A unit of analysable Python text and where it came from."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.findings import Provenance


@dataclass(frozen=True)
class SourceFile:
    """Decoded Python source ready for analysis.

    ``path`` is the file a user would open (the packed wrapper for packed scripts, the helper file for
    helpers); ``text`` is what runs (the decoded payload); ``sha256`` hashes the bytes on disk.
    ``role`` is ``"main"`` for the submitted script and ``"helper"`` for local modules it loads.
    """

    path: str
    text: str
    sha256: str
    provenance: Provenance
    role: str = "main"

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def excerpt(self, line: int, context: int = 0) -> str:
        lines = self.lines
        lo, hi = max(1, line - context), min(len(lines), line + context)
        return "\n".join(lines[i - 1] for i in range(lo, hi + 1))
