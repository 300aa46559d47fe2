"""Facts: the local files one analysed text names (checked against its folder on disk), and the
exec/eval/compile sites in it with their folded payloads.

Shared by PG601 (helper code outside the counted script), PG904 (named sibling file missing),
PG901 and PG902 (code run from text). Resolution and folding are :mod:`auditor.decode.helpers` and
:mod:`auditor.decode.unpack`, the same code the loader uses. The folder is the one of
the file whose text is analysed (a trampoline's target, else the script); for the main script
that exists on disk the fact also lists the code files the folder ships that nothing reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.decode import helpers
from auditor.decode.unpack import ExecSite, Folder

if TYPE_CHECKING:
    from auditor.analysis import Analysis


@dataclass
class FileFacts:
    folder: Path
    #: references to other local files, in source order (self-references dropped)
    refs: list[helpers.Reference] = field(default_factory=list)
    #: whether this file compiles or loads native code (its C/C++/CUDA references are invoked)
    native: bool = False
    #: the folder's entry script only: shipped code files that no reference reaches, transitively
    uncalled: list[Path] = field(default_factory=list)
    #: main script reached through a trampoline: the file its code is read from
    trampoline_target: Path | None = None


def file_facts(a: "Analysis") -> FileFacts:
    entry = Path(a.source.path)
    text_path = Path(a.source.provenance.text_path or a.source.path)
    folder = text_path.parent
    own = {p.resolve() for p in (entry, text_path)}
    refs = [
        r for r in helpers.references(a.tree, a.qualname, folder, folder, a.parents)
        if r.target is None or r.target.resolve() not in own
    ]
    facts = FileFacts(folder, refs, helpers.invokes_native_code(a.tree, a.qualname))
    if text_path != entry:
        facts.trampoline_target = text_path
    if a.source.role == "main" and entry.is_file() and _is_folder_entry(entry):
        reached = helpers.discover(entry, text_path, a.tree, a.qualname).reached
        facts.uncalled = [p for p in helpers.code_files(entry.parent) if p.resolve() not in reached]
    return facts


def _is_folder_entry(entry: Path) -> bool:
    """Only the folder's entry script can tell which shipped files nothing runs; a helper audited
    on its own cannot (the entry may run the rest)."""
    from auditor.decode import InputError
    from auditor.decode.layers import entry_script

    try:
        return entry_script(entry.parent).resolve() == entry.resolve()
    except InputError:
        return False


def code_bytes(path: Path) -> int:
    """Bytes of a helper on disk (a package: its ``__init__.py`` only, as that is what was named)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def exec_sites(a: "Analysis") -> list[ExecSite]:
    """Every exec/eval/compile call in the analysed text with what its argument folds to (the
    loader's folding code, with this file's alias resolution)."""
    return list(Folder(a.tree, a.qualname).sites())
