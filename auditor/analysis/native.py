"""Facts about the C/C++ kernels a script loads: token stream, scored index, target-gated slots, and
table updates before a slot is written.

N-gram tilt submissions compute hints in a kernel compiled at run time (``ctypes`` on a ``gcc``-built
``.so``, ``torch.utils.cpp_extension.load``/``load_inline``). Whether position i gets a hint can be
decided there, from a LUT indexed by ``tokens[i]`` — the token being predicted (RULEBOOK C1-b).

Why tree-sitter: the kernels are ordinary C/C++ (structs, pointers, casts, ``static inline``); a real
parser gives statements, conditions and subscripts with exact lines, and its C and C++ grammars
install from the package index as wheels (no compiler at audit time). Regular expressions over
kernel text cannot tell a condition from the branch it guards.

For each function, each ``for`` loop over an index ``i``:

- *token arrays*: pointer parameters read at ``[i]``; *output slots*: pointer parameters written at
  ``[i]`` (the per-position results handed back to Python);
- *target values*: locals computed from ``tokens[i]`` (the realized token at the slot being written),
  and LUT reads indexed by them (``boundary_lut[tok]``); ``tokens[i-1]`` and struct state are prefix;
- :class:`TargetGate`: an ``if`` whose condition reads a target value and whose branches write
  output slots ``out[i]``;
- :class:`EarlyUpdate` (C3-e): a table update keyed or valued by a target value (a write through a
  table, or a call to a function of the file that writes through a pointer parameter) that comes
  before an output slot of the same iteration is written.

The entry point is the Python call that reaches a kernel function: a call whose name is the C
function's (``lib.fn(...)``; ``m.def("py", &fn)`` names for pybind11 modules).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.analysis import Analysis

#: kernels longer than this are not parsed (a generated table, not a kernel)
MAX_KERNEL_BYTES = 2_000_000
_CPP_SUFFIXES = (".cpp", ".cc", ".cxx", ".cu", ".cuh", ".hpp", ".hh")
_INLINE_LOADERS = ("torch.utils.cpp_extension.load_inline",)


@dataclass(frozen=True)
class KernelSource:
    """C/C++ text a Python file loads: a file in the folder, or a string passed to ``load_inline``."""

    path: str  # the file findings point at (the Python file itself for inline sources)
    text: str
    line_offset: int  # kernel line k is line k + line_offset of ``path``
    cpp: bool
    referenced_line: int  # the Python line naming or loading it


@dataclass(frozen=True)
class TargetGate:
    function: str
    token_array: str
    index: str
    line: int  # the condition's line, in ``path``'s numbering
    path: str
    condition: str
    target_reads: tuple[str, ...]  # e.g. ``boundary_lut[tok]`` (tok = tokens[i])
    outputs: tuple[str, ...]  # output parameters written at [i] under the condition
    output_positions: tuple[int, ...]  # their positions in the C parameter list
    write_lines: tuple[int, ...]


@dataclass(frozen=True)
class EarlyUpdate:
    function: str
    line: int
    path: str
    update: str
    output: str
    emission_line: int


@dataclass
class KernelFacts:
    sources: list[KernelSource] = field(default_factory=list)
    #: C function name → parameter names, over every source
    functions: dict[str, list[str]] = field(default_factory=dict)
    #: Python-visible name → C function name (pybind11 ``m.def``; plain names map to themselves)
    exported: dict[str, str] = field(default_factory=dict)
    gates: list[TargetGate] = field(default_factory=list)
    early_updates: list[EarlyUpdate] = field(default_factory=list)
    #: conditions that gate output slots on ``tokens[i-k]`` only (legal, kept as evidence)
    prefix_gates: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def entry_calls(self, a: Analysis, function: str) -> list[ast.Call]:
        """Python calls in ``a`` that reach C function ``function``."""
        names = {py for py, c in self.exported.items() if c == function} | {function}
        out = []
        for node in a.walk(a.tree):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
                if called in names:
                    out.append(node)
        return out


@functools.lru_cache(maxsize=2)
def _parser(cpp: bool) -> Any:
    import tree_sitter
    import tree_sitter_c
    import tree_sitter_cpp

    grammar = tree_sitter_cpp.language() if cpp else tree_sitter_c.language()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


def kernel_sources(a: Analysis) -> list[KernelSource]:
    """The C/C++ sources this file loads: files it names that the folder holds (when it compiles or
    loads native code), and string sources passed to ``load_inline``."""
    from auditor.analysis.files import file_facts

    out: list[KernelSource] = []
    facts = a.fact(file_facts)
    if facts.native:
        for ref in facts.refs:
            if ref.kind != "foreign" or ref.target is None or not ref.target.is_file():
                continue
            try:
                data = ref.target.read_bytes()
            except OSError:
                continue
            if len(data) > MAX_KERNEL_BYTES or any(s.path == str(ref.target) for s in out):
                continue
            out.append(KernelSource(str(ref.target), data.decode("utf-8", "replace"), 0,
                                    ref.target.suffix in _CPP_SUFFIXES, ref.line))
    for node in a.walk(a.tree):
        if isinstance(node, ast.Call) and a.qualname(node.func) in _INLINE_LOADERS:
            for kw in node.keywords:
                if kw.arg in ("cpp_sources", "cuda_sources"):
                    for lit in _string_literals(_bound_value(a, kw.value)):
                        out.append(KernelSource(a.source.path, str(lit.value), lit.lineno - 1, True, node.lineno))
    return out


def _bound_value(a: Analysis, expr: ast.expr) -> ast.expr:
    """A module-level name bound once: its value (``SRC = "..."`` passed as ``cpp_sources=SRC``)."""
    if isinstance(expr, ast.Name):
        values = [n.value for n in a.tree.body if isinstance(n, ast.Assign) and len(n.targets) == 1
                  and isinstance(n.targets[0], ast.Name) and n.targets[0].id == expr.id]
        if len(values) == 1:
            return values[0]
    return expr


def _string_literals(expr: ast.AST) -> list[ast.Constant]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr]
    if isinstance(expr, (ast.List, ast.Tuple)):
        return [e for e in expr.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def build(a: Analysis) -> KernelFacts:
    """Kernel facts of every C/C++ source ``a`` loads (``a.fact(native.build)``)."""
    facts = KernelFacts()
    for src in kernel_sources(a):
        try:
            _Kernel(src, facts).scan()
        except ImportError as exc:  # the grammar wheels are dependencies; say so if one is missing
            facts.errors.append(f"{src.path}: C/C++ parser unavailable ({exc})")
        except RecursionError:
            facts.errors.append(f"{src.path}: nests too deeply to analyse")
    return facts


# ---- one source -------------------------------------------------------------------------------


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace")


def _walk(node: Any) -> list[Any]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.named_children))
    return out


class _Kernel:
    def __init__(self, src: KernelSource, facts: KernelFacts) -> None:
        self.src, self.facts = src, facts
        self.tree = _parser(src.cpp).parse(src.text.encode("utf-8"))
        self.defs: dict[str, Any] = {}

    def line(self, node: Any) -> int:
        return node.start_point[0] + 1 + self.src.line_offset

    def scan(self) -> None:
        nodes = _walk(self.tree.root_node)
        for n in nodes:
            if n.type == "function_definition":
                name, params = _signature(n)
                if name:
                    self.defs[name] = (n, params)
                    self.facts.functions.setdefault(name, [p for p, _, _ in params])
                    self.facts.exported.setdefault(name, name)
            elif n.type == "call_expression":
                self._pybind(n)
        for name, (node, params) in self.defs.items():
            body = node.child_by_field_name("body")
            if body is None:
                continue
            for loop in _walk(body):
                if loop.type == "for_statement":
                    self._loop(name, params, loop)

    def _pybind(self, call: Any) -> None:
        """``m.def("py_name", &c_name, ...)``."""
        fn = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        if fn is None or args is None or fn.type != "field_expression" or not _text(fn).endswith(".def"):
            return
        items = args.named_children
        if len(items) >= 2 and items[0].type == "string_literal":
            py = _text(items[0]).strip('"')
            target = re.sub(r"^[&\s]+", "", _text(items[1])).split("::")[-1]
            if re.fullmatch(r"\w+", py) and re.fullmatch(r"\w+", target):
                self.facts.exported[py] = target

    def writes_through_pointer(self, name: str, depth: int = 2) -> bool:
        """Whether C function ``name`` writes through one of its pointer parameters (directly, or by
        calling such a function with it): a table update, not a pure hash."""
        found = self.defs.get(name)
        if found is None or depth <= 0:
            return False
        node, params = found
        pointers = {p for p, is_ptr, _ in params if is_ptr}
        for n in _walk(node):
            if n.type in ("assignment_expression", "update_expression"):
                target = n.child_by_field_name("left") or n.child_by_field_name("argument")
                if target is not None and target.type != "identifier" and _root(target) in pointers:
                    return True
            if n.type == "call_expression":
                callee = n.child_by_field_name("function")
                if callee is not None and callee.type == "identifier" and _text(callee) != name \
                        and self.writes_through_pointer(_text(callee), depth - 1):
                    return True
        return False

    def _loop(self, fname: str, params: list[tuple[str, bool, bool]], loop: Any) -> None:
        index = _loop_index(loop)
        body = loop.child_by_field_name("body")
        if index is None or body is None:
            return
        pointers = {p: i for i, (p, is_ptr, _) in enumerate(params) if is_ptr}
        nodes = _walk(body)
        at_i = [n for n in nodes if n.type == "subscript_expression" and _index_is(n, index)
                and _text(n.child_by_field_name("argument")) in pointers]
        written = {id(n) for n in at_i if _is_written(n)}
        outputs = {_text(n.child_by_field_name("argument")) for n in at_i if id(n) in written}
        tokens = {_text(n.child_by_field_name("argument")) for n in at_i if id(n) not in written} - outputs
        if not tokens or not outputs:
            return
        token = min(tokens, key=lambda t: (not params[pointers[t]][2], t))  # a const input first
        # locals computed from tokens[i], in source order (a later rebinding from the prefix clears it)
        target: dict[str, str] = {}
        for n in nodes:
            if n.type == "init_declarator" or (n.type == "assignment_expression"
                                               and (n.child_by_field_name("left") or n).type == "identifier"):
                left = n.child_by_field_name("declarator") or n.child_by_field_name("left")
                value = n.child_by_field_name("value") or n.child_by_field_name("right")
                if left is None or value is None or left.type != "identifier":
                    continue
                reads = self._target_reads(value, token, index, target)
                if reads:
                    target[_text(left)] = reads[0]
                else:
                    target.pop(_text(left), None)
        slot_writes = [n for n in at_i if id(n) in written]
        for n in nodes:
            if n.type != "if_statement":
                continue
            cond = n.child_by_field_name("condition")
            if cond is None:
                continue
            reads = self._target_reads(cond, token, index, target)
            branch_writes = [w for w in slot_writes if _inside(w, n) and not _inside(w, cond)]
            if not branch_writes:
                continue
            if not reads:
                if any(s.type == "subscript_expression" and _text(s.child_by_field_name("argument")) == token
                       for s in _walk(cond)):
                    self.facts.prefix_gates.append((self.src.path, self.line(cond)))
                continue
            outs = tuple(dict.fromkeys(_text(w.child_by_field_name("argument")) for w in branch_writes))
            self.facts.gates.append(TargetGate(
                fname, token, index, self.line(cond), self.src.path, " ".join(_text(cond).split()),
                tuple(dict.fromkeys(reads)), outs, tuple(pointers[o] for o in outs),
                tuple(sorted({self.line(w) for w in branch_writes})),
            ))
        self._early_updates(fname, nodes, token, index, target, pointers, slot_writes)

    def _target_reads(self, expr: Any, token: str, index: str, target: dict[str, str]) -> list[str]:
        """How ``expr`` reads the token at i: ``tokens[i]`` itself, a local computed from it, or a
        subscript indexed by one of those (described for the finding)."""
        out = []
        for n in _walk(expr):
            if n.type == "subscript_expression":
                arr = n.child_by_field_name("argument")
                idx = n.child_by_field_name("index") or n.child_by_field_name("indices")
                if arr is not None and _text(arr) == token and _index_is(n, index):
                    out.append(f"{token}[{index}]")
                elif idx is not None and self._target_reads_plain(idx, token, index, target):
                    out.append(f"{_text(n)} ({self._why(idx, token, index, target)})")
            elif n.type == "identifier" and _text(n) in target and not _is_field_name(n):
                out.append(f"{_text(n)} = {target[_text(n)]}")
        return out

    def _target_reads_plain(self, expr: Any, token: str, index: str, target: dict[str, str]) -> bool:
        for n in _walk(expr):
            if n.type == "identifier" and _text(n) in target and not _is_field_name(n):
                return True
            if n.type == "subscript_expression" and _text(n.child_by_field_name("argument")) == token \
                    and _index_is(n, index):
                return True
        return False

    def _why(self, idx: Any, token: str, index: str, target: dict[str, str]) -> str:
        name = _text(idx).strip()
        return f"{name} = {target[name]}" if name in target else f"{token}[{index}]"

    def _early_updates(self, fname: str, nodes: list[Any], token: str, index: str, target: dict[str, str],
                       pointers: dict[str, int], slot_writes: list[Any]) -> None:
        if not slot_writes:
            return
        last_write = max(w.start_byte for w in slot_writes)
        outputs = {_text(w.child_by_field_name("argument")) for w in slot_writes}
        for n in nodes:
            if n.start_byte >= last_write:
                continue
            update = None
            if n.type in ("assignment_expression", "update_expression"):
                left = n.child_by_field_name("left") or n.child_by_field_name("argument")
                if left is not None and left.type in ("subscript_expression", "field_expression") \
                        and _root(left) not in outputs and _root(left) != token \
                        and self._target_reads(n, token, index, target):
                    update = _text(n)
            elif n.type == "call_expression":
                callee = n.child_by_field_name("function")
                args = n.child_by_field_name("arguments")
                if callee is not None and callee.type == "identifier" and args is not None \
                        and self._target_reads(args, token, index, target) \
                        and self.writes_through_pointer(_text(callee)):
                    update = _text(callee) + "(...)"
            if update is None:
                continue
            later = [w for w in slot_writes if w.start_byte > n.start_byte]
            if later:
                first = min(later, key=lambda w: w.start_byte)
                self.facts.early_updates.append(EarlyUpdate(
                    fname, self.line(n), self.src.path, " ".join(update.split())[:120],
                    _text(first.child_by_field_name("argument")), self.line(first)))


def _signature(fn: Any) -> tuple[str | None, list[tuple[str, bool, bool]]]:
    """The function's name and its parameters as (name, is_pointer, is_const)."""
    decl = fn.child_by_field_name("declarator")
    while decl is not None and decl.type in ("pointer_declarator", "reference_declarator"):
        decl = decl.child_by_field_name("declarator") or (decl.named_children[-1] if decl.named_children else None)
    if decl is None or decl.type != "function_declarator":
        return None, []
    name_node = decl.child_by_field_name("declarator")
    plist = decl.child_by_field_name("parameters")
    params = []
    for p in (plist.named_children if plist is not None else []):
        if p.type != "parameter_declaration":
            continue
        d = p.child_by_field_name("declarator")
        is_ptr = False
        while d is not None and d.type in ("pointer_declarator", "array_declarator", "reference_declarator"):
            is_ptr = is_ptr or d.type != "reference_declarator"
            d = d.child_by_field_name("declarator") or (d.named_children[-1] if d.named_children else None)
        if d is None or d.type != "identifier":
            continue
        is_const = any(c.type == "type_qualifier" and _text(c) == "const" for c in p.named_children)
        params.append((_text(d), is_ptr, is_const))
    return (_text(name_node).split("::")[-1] if name_node is not None else None), params


def _loop_index(loop: Any) -> str | None:
    init = loop.child_by_field_name("initializer")
    if init is None:
        return None
    for n in _walk(init):
        if n.type == "init_declarator":
            d = n.child_by_field_name("declarator")
            return _text(d) if d is not None and d.type == "identifier" else None
        if n.type == "assignment_expression":
            left = n.child_by_field_name("left")
            return _text(left) if left is not None and left.type == "identifier" else None
    return None


def _index_is(sub: Any, index: str) -> bool:
    idx = sub.child_by_field_name("index") or sub.child_by_field_name("indices")
    if idx is None:
        return False
    text = _text(idx).strip()
    if text.startswith("[") and text.endswith("]"):  # the C++ grammar's subscript_argument_list
        text = text[1:-1].strip()
    return text == index


def _is_written(sub: Any) -> bool:
    parent = sub.parent
    if parent is None:
        return False
    if parent.type == "assignment_expression" and parent.child_by_field_name("left") == sub:
        return True
    return parent.type == "update_expression"


def _inside(node: Any, outer: Any) -> bool:
    return outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte


def _root(node: Any) -> str:
    """The variable an lvalue chain starts from: ``st->tbl[k].count`` → ``st``."""
    while node.type in ("subscript_expression", "field_expression", "parenthesized_expression",
                        "pointer_expression"):
        nxt = node.child_by_field_name("argument") or (node.named_children[0] if node.named_children else None)
        if nxt is None:
            break
        node = nxt
    return _text(node)


def _is_field_name(node: Any) -> bool:
    parent = node.parent
    return parent is not None and parent.type == "field_expression" and parent.child_by_field_name("field") == node


def kernel_path_label(path: str) -> str:
    return Path(path).name
