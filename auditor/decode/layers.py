"""Read one file and peel its packing layers: exec-over-payload wrappers and trampolines.

A file is unwrapped only when it is a *stub*: no function, class or loop anywhere, and a handful
of top-level statements (imports, metadata assignments, the exec or the run call). A full script
that happens to ``exec`` a literal keeps its text; the literal's decoded payload is analysed as an
embedded helper instead. Each layer must decode to valid UTF-8 Python, or it is reported as opaque
and the last good layer is what gets analysed.
"""

from __future__ import annotations

import ast
import re
import io
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.analysis import ParseFailure, parse
from auditor.decode import MissingFile, OpaqueCode, helpers
from auditor.decode.unpack import ExecSite, Folded, Folder
from auditor.findings import Provenance, sha256_bytes
from auditor.source import SourceFile

MAX_INPUT = 20 * 1024 * 1024
MAX_DEPTH = 4
MAX_STUB_STATEMENTS = 30
ENTRY_NAME = "train_gpt.py"
_LOOPS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.AsyncFor, ast.While, ast.Lambda)


class FileProblem(Exception):
    """Why a file cannot be read as Python source (the loader turns it into an InputError or opaque code)."""


@dataclass
class LoadedFile:
    source: SourceFile
    tree: ast.Module
    opaque: list[OpaqueCode] = field(default_factory=list)
    missing: list[MissingFile] = field(default_factory=list)
    #: payloads a full script execs from literals, decoded (role "helper")
    embedded: list[SourceFile] = field(default_factory=list)
    #: resolves import aliases in ``tree``
    qualname: Callable[[ast.AST], str | None] | None = None


def read_source(path: Path) -> tuple[bytes, str]:
    """The bytes on disk and their text; :class:`FileProblem` for anything that is not a Python source."""
    try:
        size = path.stat().st_size
        if size > MAX_INPUT:
            raise FileProblem(f"file is {size / 1e6:.1f} MB; the limit is {MAX_INPUT // (1024 * 1024)} MB")
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise FileProblem("no such file") from exc
    except IsADirectoryError as exc:
        raise FileProblem("is a directory, not a script") from exc
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror or exc}") from exc
    return data, decode_source(data)


def decode_source(data: bytes) -> str:
    if not data.strip():
        raise FileProblem("empty file")
    if b"\0" in data:
        raise FileProblem("binary file (contains NUL bytes), not a Python script")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # also raised for undeclared non-UTF-8 bytes, reported below
        if b"coding" in b"\n".join(data.splitlines()[:2]):
            raise FileProblem(f"bad source encoding declaration: {exc.msg}") from exc
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"not valid {encoding} text (byte 0x{data[exc.start]:02x} at offset {exc.start}); a Python script must be UTF-8"
        ) from exc
    return text.removeprefix("\ufeff")


def parse_source(text: str) -> ast.Module:
    try:
        return parse(text)
    except ParseFailure as exc:
        message = str(exc)
        if "too many nested" in message or "too many levels of indentation" in message:
            message = f"source nests too deeply for the parser ({message})"
        raise FileProblem(message) from exc


def entry_script(folder: Path) -> Path:
    """The script a record folder runs, whatever it is called (RULEBOOK §11.5): ``train_gpt.py``; else
    its only top-level Python file; else the ``train*.py`` a shipped shell script or the README runs
    (most mentions); else the largest ``train*.py``."""
    if (folder / ENTRY_NAME).is_file():
        return folder / ENTRY_NAME
    scripts = sorted(p for p in folder.glob("*.py") if p.is_file())
    if len(scripts) == 1:
        return scripts[0]
    trains = [p for p in scripts if p.name.startswith("train")]
    if trains:
        texts = [q.read_text(encoding="utf-8", errors="replace") for q in sorted(folder.iterdir())
                 if q.is_file() and (q.suffix == ".sh" or q.name.lower() == "readme.md") and q.stat().st_size < 1 << 20]
        runs = {p: sum(len(re.findall(rf"(?:python3?|torchrun)\b[^\n]*?\b{re.escape(p.name)}\b", t)) for t in texts)
                for p in trains}
        return max(trains, key=lambda p: (runs[p], p.stat().st_size, p.name))
    from auditor.decode import InputError

    listing = ", ".join(p.name for p in scripts) or "none"
    raise InputError(f"{folder}: no {ENTRY_NAME}, and no single Python script to audit instead (found: {listing})")


def is_record_folder(folder: Path) -> bool:
    """A folder audited as one submission: it holds ``train_gpt.py``, or a Python script beside a
    ``submission*.json``, or it sits directly under a ``track_*`` directory (RULEBOOK §11.5: merged
    records run ``train_gpt_v5.py``, ``train_<arch>.py``, ``train_gpt_cuda_ternary.py``)."""
    if not folder.is_dir():
        return False
    if (folder / ENTRY_NAME).is_file():
        return True
    if folder.resolve().parent.name.startswith("track_"):
        # a submission folder even without code: audited, so it ends as an ERROR that says so
        return any(p.is_file() for p in folder.iterdir())
    return any(p.is_file() for p in folder.glob("*.py")) and any(p.is_file() for p in folder.glob("submission*.json"))


def load_file(path: Path, role: str) -> LoadedFile:
    """Read, decode and parse one file; stubs are unwrapped layer by layer (trampolines for ``main``)."""
    data, text = read_source(path)
    tree = parse_source(text)
    out = LoadedFile(SourceFile(str(path), text, sha256_bytes(data), Provenance(str(path)), role), tree)
    chain: list[str] = []
    wrapper_line: int | None = None
    current = path
    seen = {path.resolve()}
    for depth in range(MAX_DEPTH + 1):
        if not is_stub(tree):
            break
        step = _next_layer(tree, current, path)
        if step is None:
            break
        if isinstance(step, (OpaqueCode, MissingFile)):
            (out.opaque if isinstance(step, OpaqueCode) else out.missing).append(step)
            break
        new_text, new_path, labels, line = step
        problem = None
        if depth == MAX_DEPTH:
            problem = f"more than {MAX_DEPTH} nested packing layers"
        elif new_path.resolve() in seen and new_path != current:
            problem = f"trampoline cycle back to {new_path.name}"
        else:
            try:
                new_tree = parse_source(new_text)
            except FileProblem as exc:
                problem = f"decoded payload is not valid Python: {exc}"
        if problem is not None:
            out.opaque.append(OpaqueCode(str(path), line, problem))
            break
        seen.add(new_path.resolve())
        chain += labels
        wrapper_line = line if wrapper_line is None else wrapper_line
        text, tree, current = new_text, new_tree, new_path
    provenance = Provenance(str(path), tuple(chain), wrapper_line, str(current) if current != path else None)
    out.source = SourceFile(str(path), text, out.source.sha256, provenance, role)
    out.tree = tree
    if not is_stub(tree):
        _embedded(out)
    return out


def is_stub(tree: ast.Module) -> bool:
    """A wrapper or trampoline: a few top-level statements and no definitions or loops anywhere."""
    if len(tree.body) > MAX_STUB_STATEMENTS:
        return False
    return not any(isinstance(node, _LOOPS) for node in ast.walk(tree))


Step = tuple[str, Path, tuple[str, ...], int]


def _next_layer(tree: ast.Module, current: Path, entry: Path) -> Step | OpaqueCode | MissingFile | None:
    """The next layer of a stub: its exec payload, or the sibling file it runs."""
    folder = Folder(tree)
    refs = helpers.references(tree, folder.qualname, current.parent, entry.parent)
    shown = str(entry)
    for site in sorted(folder.sites(), key=lambda s: (s.line, s.node.col_offset)):
        result = site.result
        if isinstance(result, Folded):
            try:
                text = result.value.decode("utf-8") if isinstance(result.value, bytes) else result.value
            except UnicodeDecodeError as exc:
                return OpaqueCode(shown, site.line, f"payload is not valid UTF-8 (byte {exc.start})")
            return text, current, result.chain or ("literal",), site.line
        if result.kind == "file":
            inside = {id(n) for n in ast.walk(site.node)}
            ref = next((r for r in refs if id(r.node) in inside and r.kind == "python"
                        and r.target != current), None)
            if ref is not None:
                return _trampoline(ref, current, shown)
            return OpaqueCode(shown, site.line, "runs code read from a file this tool cannot name")
        return OpaqueCode(shown, site.line, result.reason)
    for ref in refs:
        if ref.kind == "python" and ref.target != current and (ref.target is not None or ref.explicit):
            return _trampoline(ref, current, shown)
    return None


def _trampoline(ref: helpers.Reference, current: Path, shown: str) -> Step | OpaqueCode | MissingFile:
    if ref.target is None:
        return MissingFile(shown, ref.line, ref.name)
    try:
        _, text = read_source(ref.target)
    except FileProblem as exc:
        return OpaqueCode(shown, ref.line, f"trampoline target {ref.name}: {exc}")
    name = ref.target.relative_to(current.parent).as_posix() if ref.target.is_relative_to(current.parent) else ref.name
    return text, ref.target, (f"trampoline:{name}",), ref.line


def undecodable(site: ExecSite, refs: list[helpers.Reference]) -> str | None:
    """Why the code that ``site`` runs cannot be seen statically (rule PG901), or ``None`` when it can
    be (a folded payload, a file this tool resolves) or is text built at run time (rule PG902)."""
    result = site.result
    if isinstance(result, Folded) or result.kind == "dynamic":
        return None
    if result.kind == "file":
        inside = {id(n) for n in ast.walk(site.node)}
        if any(id(r.node) in inside and r.kind == "python" for r in refs):
            return None
        return "runs code read from a file this tool cannot name"
    return result.reason


def _embedded(out: LoadedFile) -> None:
    """Exec payloads of a full script: decoded ones become helpers, undecodable ones opaque code."""
    src = out.source
    folder = Folder(out.tree)
    out.qualname = folder.qualname
    text_path = Path(src.provenance.text_path or src.path)
    refs: list[helpers.Reference] | None = None
    for site in folder.sites():
        result = site.result
        if not isinstance(result, Folded):
            if refs is None and result.kind == "file":
                refs = helpers.references(out.tree, folder.qualname, text_path.parent, Path(src.path).parent)
            reason = undecodable(site, refs or [])
            if reason is not None:
                out.opaque.append(OpaqueCode(src.path, site.line, reason))
            continue
        value = result.value
        try:
            text = value.decode("utf-8") if isinstance(value, bytes) else value
            parse_source(text)
        except (UnicodeDecodeError, FileProblem) as exc:
            out.opaque.append(OpaqueCode(src.path, site.line, f"decoded payload is not valid UTF-8 Python: {exc}"))
            continue
        chain = (*src.provenance.chain, *(result.chain or ("literal",)), f"{site.runner}@{site.line}")
        provenance = Provenance(src.path, chain, site.line, src.provenance.text_path)
        out.embedded.append(SourceFile(f"{src.path}:{site.runner}@{site.line}", text, src.sha256, provenance, "helper"))
