"""Which inputs a PR's changes touch under ``records/``: the one folder discovery shared by PR mode,
``pgolf-audit check --git-ref`` and the PR-scope rule PG708 (no git, no I/O: paths and statuses only).

Record folders are ``records/<track>/<name>/`` and, placed wrongly but still audited, ``records/<name>/``.
A folder is audited when code in it changed (a log or README alone does not make a new audit); a
Python script placed directly in a track folder is an input of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TRACKS = ("track_10min_16mb", "track_non_record_16mb")


@dataclass(frozen=True)
class Change:
    status: str  # git's letter: A added, M modified, D deleted, R renamed, ...
    path: str


#: suffixes of files whose change makes a folder worth auditing again (a log or README alone does not)
CODE_SUFFIXES = (".py", ".c", ".cc", ".cpp", ".cxx", ".cu", ".cuh", ".h", ".hpp", ".sh")


def is_track(name: str) -> bool:
    """A track directory under ``records/`` (the two known ones, and any later ``track_*``)."""
    return name in TRACKS or name.startswith("track_")


def record_folder_of(path: str) -> str | None:
    """The record folder a repository path lies in: ``records/<track>/<name>`` or, for a folder placed
    directly under ``records/``, ``records/<name>``; None for anything else (loose files included)."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "records":
        return None
    if is_track(parts[1]):
        return "/".join(parts[:3]) if len(parts) >= 4 else None
    return "/".join(parts[:2])


def loose_script_of(path: str) -> str | None:
    """A Python script directly in a track folder (``records/<track>/x.py``): an input of its own."""
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "records" and is_track(parts[1]) and parts[2].endswith(".py"):
        return path
    return None


@dataclass(frozen=True)
class PrInputs:
    """What a PR's changes touch under ``records/``, in order of appearance."""

    #: every record folder with a file added or modified (PR scope, PG708)
    touched: tuple[str, ...]
    #: the touched folders where code changed (what is audited); a log or README alone does not count
    folders: tuple[str, ...]
    #: Python scripts placed directly in a track folder, each audited as an input of its own
    scripts: tuple[str, ...]

    @property
    def audited(self) -> list[str]:
        return [*self.folders, *self.scripts]


def pr_inputs(changes: Sequence[Change]) -> PrInputs:
    """The one folder discovery of PR mode, ``--git-ref`` and rule PG708."""
    touched: dict[str, None] = {}
    code: dict[str, None] = {}
    scripts: dict[str, None] = {}
    for c in changes:
        if c.status == "D":
            continue
        folder = record_folder_of(c.path)
        if folder is not None:
            touched.setdefault(folder, None)
            if c.path.lower().endswith(CODE_SUFFIXES):
                code.setdefault(folder, None)
        elif (script := loose_script_of(c.path)) is not None:
            scripts.setdefault(script, None)
    return PrInputs(tuple(touched), tuple(f for f in touched if f in code), tuple(scripts))


def added_folders(changes: Sequence[Change]) -> list[str]:
    """Record folders where the PR changes code (what PR mode audits), in order of appearance."""
    return list(pr_inputs(changes).folders)
