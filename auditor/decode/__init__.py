"""Stage 1: load a submitted script, decode packed wrappers and trampolines, find its local helpers.

``load(path)`` never executes submitted code: wrappers are decoded by constant folding over a
whitelist (:mod:`auditor.decode.unpack`), trampolines are followed by reading the named sibling,
and helpers are found structurally (:mod:`auditor.decode.helpers`). Input the tool cannot audit at
all (missing, empty, binary, not UTF-8, too large, not Python) raises :class:`InputError`, whose
message the CLI prints (exit 2, verdict ERROR); what could not be decoded is listed in
``Loaded.opaque`` and the script is still audited (rule PG901 makes it REVIEW).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from auditor.source import SourceFile


class InputError(Exception):
    """The input cannot be audited at all; the message is for the user."""


@dataclass(frozen=True)
class ForeignFile:
    """A C/C++/CUDA source the Python code compiles or loads at run time."""

    path: str
    data: bytes
    referenced_in: str  # the file whose text names it (packed files: the wrapper's path)
    line: int  # line of the reference in that file's analysed text
    invoked: bool  # the referencing file compiles or loads native code

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class OpaqueCode:
    """Code that runs but could not be decoded statically (RULEBOOK §7.6: REVIEW, never PASS)."""

    path: str
    line: int
    reason: str


@dataclass(frozen=True)
class MissingFile:
    """A sibling file named by a trampoline, a run call or a compile call, absent from the folder."""

    path: str
    line: int
    name: str


@dataclass
class Loaded:
    main: SourceFile
    #: the loader's parse of ``main.text``, reused by the analysis (parsing twice costs ~0.1 s a file)
    main_tree: ast.Module | None = field(default=None, repr=False)
    helpers: list[SourceFile] = field(default_factory=list)
    foreign: list[ForeignFile] = field(default_factory=list)
    opaque: list[OpaqueCode] = field(default_factory=list)
    missing: list[MissingFile] = field(default_factory=list)


def load(path: Path) -> Loaded:
    """Load ``path`` (a script, or a record folder: its entry script) for analysis."""
    from auditor.decode import helpers, layers

    path = Path(path)
    if path.is_dir():
        path = layers.entry_script(path)
    elif path.suffix in helpers.FOREIGN_SUFFIXES:
        raise InputError(f"{path}: a C/C++/CUDA source, not a Python script; audit its record folder, where the "
                         "entry script's use of it is checked")
    try:
        main = layers.load_file(path, role="main")
    except layers.FileProblem as exc:
        raise InputError(f"{path}: {exc}") from exc
    text_path = Path(main.source.provenance.text_path or path)
    found = helpers.discover(path, text_path, main.tree, main.qualname)
    return Loaded(
        main=main.source,
        main_tree=main.tree,
        helpers=main.embedded + found.helpers,
        foreign=found.foreign,
        opaque=list(dict.fromkeys(main.opaque + found.opaque)),
        missing=list(dict.fromkeys(main.missing + found.missing)),  # a stub's own references are seen twice
    )
