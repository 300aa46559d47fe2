"""Local files a script loads: Python modules it imports or runs, C/C++/CUDA sources it compiles.

A reference is found structurally, never by a name list of "helper-like" words:
- imports (``import x``, ``from x import y``, relative imports, ``importlib.import_module("x")``,
  ``__import__("x")``, ``runpy.run_module("x")``) that resolve to a file in the folder;
- file names with a code suffix in string literals used as paths: arguments of ``open``,
  ``Path``, ``os.path.join``, ``runpy.run_path``, ``subprocess``/``os.system`` command lines,
  ``cpp_extension.load(sources=...)``, a ``/`` path join, or ``__file__.replace(..)``.

A module import that resolves to no local file is a package, not a missing helper; a file named as
a path that the folder lacks is missing (RULEBOOK FOLDER), unless the script itself writes it.
The loader (:func:`discover`) and the analysis fact ``auditor.analysis.files`` share this code.
"""

from __future__ import annotations

import ast
import functools
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.decode.scan import scan

FOREIGN_SUFFIXES = frozenset({".c", ".cc", ".cpp", ".cxx", ".cu", ".cuh", ".h", ".hh", ".hpp"})
CODE_SUFFIXES = FOREIGN_SUFFIXES | {".py"}
#: a relative file name with a code suffix, as written in a literal
_FILE_RE = re.compile(r"^(?:\./)?[\w.\-/]*[\w\-]\.(?:py|c|cc|cpp|cxx|cu|cuh|h|hh|hpp)$")
_PATH_CALLS = frozenset({
    "open", "io.open", "pathlib.Path", "os.path.join", "runpy.run_path", "importlib.util.spec_from_file_location",
    "torch.utils.cpp_extension.load", "subprocess.run", "subprocess.call", "subprocess.check_call",
    "subprocess.check_output", "subprocess.Popen", "os.system", "os.popen", "os.execv", "os.execvp", "os.execl",
    "os.execlp",
})
_PATH_METHODS = frozenset({"replace", "with_name", "joinpath"})
_MODULE_CALLS = {"importlib.import_module": "importlib", "__import__": "importlib", "runpy.run_module": "runpy"}
_RUN_CALLS = {"runpy.run_path": "runpy", "subprocess": "subprocess", "os.system": "subprocess", "os.popen": "subprocess",
              "os.exec": "subprocess"}
#: calls that compile or load native code: foreign sources in a file that makes one are invoked
_NATIVE_LOADERS = ("torch.utils.cpp_extension.load", "torch.utils.cpp_extension.load_inline", "ctypes.CDLL",
                   "ctypes.cdll.LoadLibrary", "ctypes.PyDLL", "ctypes.cdll", "cupy.RawModule")
_COMPILERS = frozenset({"g++", "gcc", "c++", "cc", "clang", "clang++", "nvcc", "make", "cmake"})
MAX_HELPERS = 64
MAX_SEARCH_DEPTH = 4


@dataclass(frozen=True)
class Reference:
    """One place in a file that names another local file."""

    node: ast.AST
    name: str  # as written: a module name or a relative path
    kind: str  # "python" or "foreign"
    how: str  # "import", "importlib", "runpy", "subprocess", "exec", "compile" or "path"
    explicit: bool  # named as a file: its absence is a FOLDER failure (a module import is not)
    target: Path | None  # the file in the folder, when it exists
    generated: bool = False  # the script writes this file itself

    @property
    def line(self) -> int:
        return self.node.lineno  # type: ignore[attr-defined]

    @property
    def missing(self) -> bool:
        return self.target is None and self.explicit and not self.generated


def references(tree: ast.Module, qualname: Callable[[ast.AST], str | None], here: Path, folder: Path,
               parents: dict[ast.AST, ast.AST] | None = None) -> list[Reference]:
    """Every reference in ``tree`` (a file in directory ``here`` of record folder ``folder``) to
    another local file, in source order."""
    return _Finder(tree, qualname, here, folder, parents).references()


def invokes_native_code(tree: ast.Module, qualname: Callable[[ast.AST], str | None]) -> bool:
    """Whether the file compiles or loads native code (cpp_extension, ctypes, a compiler command)."""
    return _Finder(tree, qualname, Path("."), Path("."), {}).native()


def code_files(folder: Path) -> list[Path]:
    """Python and C/C++/CUDA files shipped in ``folder`` (hidden folders and caches skipped)."""
    found = []
    for path in _walk(folder, MAX_SEARCH_DEPTH):
        if path.suffix in CODE_SUFFIXES:
            found.append(path)
    return sorted(found)


def _walk(folder: Path, depth: int) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    out = []
    for entry in entries:
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_file():
            out.append(entry)
        elif entry.is_dir() and depth > 0:
            out += _walk(entry, depth - 1)
    return out


class _Finder:
    def __init__(self, tree: ast.Module, qualname: Callable[[ast.AST], str | None], here: Path, folder: Path,
                 parents: dict[ast.AST, ast.AST] | None) -> None:
        self.qualname, self.here, self.folder = qualname, here, folder
        self._scan = scan(tree)
        self.calls, self.import_nodes, self.strings, self.assigns = (
            self._scan.calls, self._scan.import_nodes, self._scan.strings, self._scan.assigns)
        self._parents = parents

    @functools.cached_property
    def parents(self) -> dict[ast.AST, ast.AST]:
        """The caller's parent links, else the scan's (built only when a path literal needs them)."""
        return self._parents or self._scan.parents

    @functools.cached_property
    def bound(self) -> dict[str, list[ast.expr]]:
        """Values assigned to each plain name (a name bound otherwise, e.g. by a loop, has none)."""
        out: dict[str, list[ast.expr]] = {}
        for assign in self.assigns:
            for target in assign.targets:
                if isinstance(target, ast.Name):
                    out.setdefault(target.id, []).append(assign.value)
        return out

    @functools.cached_property
    def _writes(self) -> tuple[set[str], set[str]]:
        # only path references need these, not the native-code check
        return self._written_names()

    @property
    def written(self) -> set[str]:
        return self._writes[0]

    @property
    def written_vars(self) -> set[str]:
        return self._writes[1]

    def references(self) -> list[Reference]:
        found = self.imports() + self.module_calls() + self.paths()
        return sorted(found, key=lambda r: (r.line, r.name))

    def native(self) -> bool:
        for node in self.calls:
            name = self.qualname(node.func) or ""
            if name.startswith(_NATIVE_LOADERS):
                return True
            if name.startswith(("subprocess.", "os.system", "os.popen")):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        words = sub.value.split()
                        if words and Path(words[0]).name in _COMPILERS:
                            return True
        return False

    # ---- module references ----------------------------------------------------------------------

    def imports(self) -> list[Reference]:
        refs = []
        for node in self.import_nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    refs += self._module_ref(node, alias.name, 0, "import")
            else:
                base = node.module or ""
                found = self._module_ref(node, base, node.level, "import") if base else []
                if not found or found[0].target is None or found[0].target.name == "__init__.py":
                    for alias in node.names:  # from pkg import module
                        found += self._module_ref(node, f"{base}.{alias.name}".strip("."), node.level, "import")
                refs += found
        return refs

    def module_calls(self) -> list[Reference]:
        refs = []
        for node in self.calls:
            if node.args:
                how = _MODULE_CALLS.get(self.qualname(node.func) or "")
                arg = node.args[0]
                if how and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    refs += self._module_ref(node, arg.value, 0, how)
        return refs

    def _module_ref(self, node: ast.AST, dotted: str, level: int, how: str) -> list[Reference]:
        if not dotted:
            return []
        base = self.here
        for _ in range(max(0, level - 1)):
            base = base.parent
        parts = dotted.split(".")
        roots = [base] if level else list(dict.fromkeys([self.here, self.folder]))
        for root in roots:
            stem = root.joinpath(*parts)
            for candidate in (stem.with_name(stem.name + ".py"), stem / "__init__.py"):
                if candidate.is_file():
                    return [Reference(node, dotted, "python", how, False, candidate)]
        return []

    # ---- file names in path contexts ------------------------------------------------------------

    def paths(self) -> list[Reference]:
        refs = []
        for node in self.strings:
            if not any(_FILE_RE.match(w) for w in node.value.split()):
                continue
            context = self._path_context(node)
            if context is None:
                continue
            how, command = context
            names = node.value.split() if command else [node.value]
            if isinstance(self.parents.get(node), ast.JoinedStr):  # f"{root}/kernel.cu"
                names = [n.lstrip("/") for n in names]
            for name in names:
                if _FILE_RE.match(name) and ".." not in name.split("/"):
                    refs.append(self._file_ref(node, name.removeprefix("./"), how))
        return [r for r in refs if r is not None]

    def _path_context(self, node: ast.Constant) -> tuple[str, bool] | None:
        """(how, is-a-shell-command) when the literal is used as a path into the folder, else None.
        A joined path counts only when its root is the folder: ``__file__``, the working directory,
        or a relative literal (not ``sys.path`` entries, environment values or loop variables)."""
        child, parent = node, self.parents.get(node)
        through_div = False
        while parent is not None:
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div):
                if not through_div and not self._rooted(_leftmost(parent)):
                    return None
                through_div = True
            elif isinstance(parent, ast.Call):
                if child is parent.func:
                    return None
                name = self.qualname(parent.func) or ""
                method = parent.func.attr if isinstance(parent.func, ast.Attribute) else ""
                if name in ("os.path.join", "pathlib.Path") and parent.args and child is not parent.args[0]:
                    if not self._rooted(parent.args[0]):
                        return None
                if name in _PATH_CALLS or name.startswith(("subprocess.", "os.exec")):
                    return self._how(parent), " " in node.value
                if name.endswith(".load") and any(k.arg == "sources" for k in parent.keywords):
                    return "compile", False
                if method in _PATH_METHODS and (method != "replace" or "__file__" in ast.unparse(parent.func.value)):
                    return self._how(parent), False
                return ("path", False) if through_div else None
            elif not isinstance(parent, (ast.List, ast.Tuple, ast.Starred, ast.keyword, ast.BinOp, ast.JoinedStr,
                                         ast.FormattedValue)):
                return ("path", False) if through_div else None
            child, parent = parent, self.parents.get(parent)
        return None

    def _rooted(self, expr: ast.AST, depth: int = 0) -> bool:
        """Whether a path expression starts at the record folder (see ``_path_context``)."""
        if isinstance(expr, ast.Constant):
            return isinstance(expr.value, str) and not expr.value.startswith("/")
        for sub in ast.walk(expr):
            if isinstance(sub, ast.Name) and sub.id == "__file__":
                return True
            if isinstance(sub, ast.Call) and (self.qualname(sub.func) or "").split(".")[-1] in ("cwd", "getcwd"):
                return True
        if isinstance(expr, ast.Call) and (self.qualname(expr.func) or "") == "pathlib.Path" and expr.args:
            return self._rooted(expr.args[0], depth + 1)
        if isinstance(expr, (ast.Attribute, ast.Call)):  # Path(x).resolve().parent, str(x)
            inner = expr.value if isinstance(expr, ast.Attribute) else (expr.args[0] if expr.args else None)
            if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
                inner = expr.func.value
            return inner is not None and depth < 8 and self._rooted(inner, depth + 1)
        if isinstance(expr, ast.Name) and depth < 8:
            values = self.bound.get(expr.id, [])
            return bool(values) and all(self._rooted(v, depth + 1) for v in values)
        return False

    def _how(self, call: ast.AST | None) -> str:
        """How the path is used: the first runner around it in its statement."""
        for anc in self._ancestors(call):
            if isinstance(anc, ast.stmt):
                break
            if not isinstance(anc, ast.Call):
                continue
            name = self.qualname(anc.func) or ""
            for prefix, how in _RUN_CALLS.items():
                if name.startswith(prefix):
                    return how
            if name == "torch.utils.cpp_extension.load":
                return "compile"
            if name.split(".")[-1] in ("exec", "compile") and not isinstance(anc.func, ast.Attribute):
                return "exec"
        return "path"

    def _ancestors(self, node: ast.AST | None):
        while node is not None:
            yield node
            node = self.parents.get(node)

    def _file_ref(self, node: ast.AST, name: str, how: str) -> Reference | None:
        if name.startswith("/"):
            return None
        kind = "python" if name.endswith(".py") else "foreign"
        target = self._resolve(name)
        generated = Path(name).name in self.written or self._assigned_then_written(node)
        return Reference(node, name, kind, how, True, target, generated)

    def _resolve(self, name: str) -> Path | None:
        for root in dict.fromkeys([self.here, self.folder]):
            candidate = root / name
            if candidate.is_file():
                return candidate
        base = Path(name).name
        for path in _walk(self.folder, MAX_SEARCH_DEPTH):
            if path.name == base:
                return path
        return None

    # ---- files the script writes itself ---------------------------------------------------------

    def _written_names(self) -> tuple[set[str], set[str]]:
        """File names and variable names that a write targets: ``open(p, "w")``, ``p.write_text(..)``."""
        values: set[str] = set()
        names: set[str] = set()
        for node in self.calls:
            target = None
            if (self.qualname(node.func) or "") in ("open", "io.open") and node.args:
                mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
                if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax"):
                    target = node.args[0]
            elif isinstance(node.func, ast.Attribute) and node.func.attr in ("write_text", "write_bytes"):
                target = node.func.value
            if target is not None:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
                values |= _file_names(target)
        for node in self.assigns:  # p = Path("k.cu"); p.write_text(...)
            if any(isinstance(t, ast.Name) and t.id in names for t in node.targets):
                values |= _file_names(node.value)
            # a bundle {"tools/x.py": "<source>", ...} that the script writes out in a loop
            if names and isinstance(node.value, ast.Dict):
                values |= {n for k in node.value.keys if k is not None for n in _file_names(k)}
        return values, names

    def _assigned_then_written(self, node: ast.AST) -> bool:
        for anc in self._ancestors(node):
            if isinstance(anc, (ast.Assign, ast.AnnAssign)):
                targets = anc.targets if isinstance(anc, ast.Assign) else [anc.target]
                return any(isinstance(t, ast.Name) and t.id in self.written_vars for t in targets)
            if isinstance(anc, ast.stmt):
                return False
        return False


def _leftmost(div: ast.BinOp) -> ast.expr:
    """The root of a ``/`` path join: ``root / "a" / "b"`` → ``root``, for any enclosing join."""
    expr: ast.expr = div
    while isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        expr = expr.left
    return expr


def _file_names(expr: ast.AST) -> set[str]:
    return {Path(n.value.lstrip("/")).name for n in ast.walk(expr) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


@dataclass
class Discovery:
    """What :func:`discover` found from one entry text, transitively through its Python helpers."""

    helpers: list = field(default_factory=list)  # SourceFile, role "helper"
    foreign: list = field(default_factory=list)  # ForeignFile
    missing: list = field(default_factory=list)  # MissingFile
    opaque: list = field(default_factory=list)  # OpaqueCode
    reached: set[Path] = field(default_factory=set)


#: the last discovery, keyed by the very tree it read: the loader and rule PG601 ask the same question
_last: dict[tuple[Path, Path], tuple[ast.Module, "Discovery"]] = {}


def discover(entry: Path, text_path: Path, tree: ast.Module, qualname: Callable[[ast.AST], str | None] | None = None
             ) -> Discovery:
    """Local helpers of the entry script (whose analysed text came from ``text_path``), decoded."""
    hit = _last.get((entry, text_path))
    if hit is not None and hit[0] is tree:
        return hit[1]
    found = _discover(entry, text_path, tree, qualname)
    _last.clear()
    _last[(entry, text_path)] = (tree, found)
    return found


def _discover(entry: Path, text_path: Path, tree: ast.Module, qualname: Callable[[ast.AST], str | None] | None
              ) -> Discovery:
    from auditor.decode import ForeignFile, MissingFile, OpaqueCode, layers
    from auditor.decode.unpack import import_aliases, qualname_resolver

    folder = entry.parent
    found = Discovery(reached={entry.resolve(), text_path.resolve()})
    queue = deque([(text_path, str(entry), tree, qualname)])
    while queue:
        file, shown, file_tree, resolver = queue.popleft()
        finder = _Finder(file_tree, resolver or qualname_resolver(import_aliases(file_tree)), file.parent, folder, None)
        native = finder.native()
        for ref in finder.references():
            if ref.target is None:
                if ref.missing:
                    found.missing.append(MissingFile(shown, ref.line, ref.name))
                continue
            key = ref.target.resolve()
            if key in found.reached:
                continue
            found.reached.add(key)
            if ref.kind == "foreign":
                found.foreign.append(ForeignFile(str(ref.target), ref.target.read_bytes(), shown, ref.line,
                                                 native or ref.how == "compile"))
                continue
            if len(found.helpers) >= MAX_HELPERS:
                found.opaque.append(OpaqueCode(shown, ref.line, f"more than {MAX_HELPERS} helper files; {ref.name} not read"))
                continue
            try:
                helper = layers.load_file(ref.target, role="helper")
            except layers.FileProblem as exc:
                found.opaque.append(OpaqueCode(shown, ref.line, f"helper {ref.name}: {exc}"))
                continue
            found.helpers.append(helper.source)
            found.opaque += helper.opaque
            found.missing += helper.missing
            queue.append((ref.target, helper.source.path, helper.tree, helper.qualname))
    return found
