"""A stand-in for ``auditor.decode`` used only while that module is not in the tree yet.

It handles plain (unpacked) UTF-8 scripts with the same contract: ``load(path) -> Loaded`` and
``InputError`` for bad input. :func:`install` does nothing once the real module exists.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from auditor.findings import Provenance, sha256_bytes
from auditor.source import SourceFile

MAX_BYTES = 10_000_000


class InputError(Exception):
    pass


@dataclass
class Loaded:
    main: SourceFile
    helpers: list = field(default_factory=list)
    foreign: list = field(default_factory=list)
    opaque: list = field(default_factory=list)
    missing: list = field(default_factory=list)


def load(path: Path) -> Loaded:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(data) > MAX_BYTES:
        raise InputError(f"{path}: {len(data)} bytes is larger than the {MAX_BYTES}-byte limit")
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    if b"\0" in data:
        raise InputError(f"{path}: binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return Loaded(SourceFile(str(path), text, sha256_bytes(data), Provenance(str(path))))


def install() -> None:
    """Give ``auditor.decode`` the stand-in ``load``/``InputError`` unless the real ones exist.

    The package may already exist as a bare namespace with other submodules; those keep working.
    """
    try:
        module = importlib.import_module("auditor.decode")
    except ModuleNotFoundError:
        module = types.ModuleType("auditor.decode")
        module.__path__ = []  # a package, so that ``auditor.decode.downlevel`` resolves
        sys.modules["auditor.decode"] = module
    if hasattr(module, "load") and hasattr(module, "InputError"):
        return
    module.load = load  # type: ignore[attr-defined]
    module.InputError = InputError  # type: ignore[attr-defined]
    module.Loaded = Loaded  # type: ignore[attr-defined]
    if importlib.util.find_spec("auditor.decode.downlevel") is None:
        downlevel = types.ModuleType("auditor.decode.downlevel")
        downlevel.downlevel = lambda text: None  # type: ignore[attr-defined]
        sys.modules["auditor.decode.downlevel"] = downlevel
