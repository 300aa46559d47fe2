"""Data read at evaluation time that the artifact does not contain (RULEBOOK C1-e), for PG104.

- **Eval region.** Code that runs after the last training loop: the statements after that loop in
  the function that runs it, and every local function reached from calls made there
  (:attr:`events.Events.after_training`). Scripts without a training loop have no region.
- **Reads.** ``open(p)`` in a read mode, ``np.load``/``np.fromfile``/``np.memmap``, ``torch.load``,
  ``safetensors`` ``load_file``, ``Path(p).read_bytes()``/``read_text()``, whose value is used.
- **What a read may name.** Validation shards (the split taint of :mod:`auditor.analysis.events`),
  training shards (reported by PG402, not here), the script's own code (``__file__``, ``*.py``,
  C/C++/CUDA sources), the tokenizer (a path also given to ``SentencePieceProcessor``), any path
  this run writes (``torch.save``, ``open(p, "wb")``, ``np.save``, ``write_bytes``, paths handed to
  a tool it runs with ``subprocess``, to a local helper that writes them, ...) and what a
  network fetch saved (``urlretrieve``, ``hf_hub_download``: PG404's finding, not reported twice). Paths are
  compared by value: a string constant, a local bound to one, or the attribute/variable that holds
  the path (``h.model_path`` matches ``args.model_path``: the same field).
- **Environment blobs.** An environment variable decoded into data (``b64decode``,
  ``bytes.fromhex``, ``np.frombuffer``, ``json.loads``, ``pickle.loads``, decompressors).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.analysis import config
from auditor.analysis.events import Kind, build_events
from auditor.analysis.module import Function
from auditor.analysis.nodes import walk
from auditor.analysis.scoring import call_name
from auditor.analysis.taint import path_of

if TYPE_CHECKING:
    from auditor.analysis import Analysis

READ_CALLS = frozenset({"numpy.load", "numpy.fromfile", "numpy.memmap", "torch.load",
                        "safetensors.torch.load_file", "safetensors.numpy.load_file"})
READ_METHODS = frozenset({"read_bytes", "read_text"})
WRITE_CALLS = {"torch.save": 1, "numpy.save": 0, "numpy.savez": 0, "numpy.savez_compressed": 0,
               "safetensors.torch.save_file": 1, "shutil.copy": 1, "shutil.copyfile": 1}
WRITE_METHODS = frozenset({"write_bytes", "write_text", "tofile"})
#: binary decoders (a JSON or string setting is configuration, not a data blob)
DECODE_CALLS = frozenset({"base64.b64decode", "base64.b85decode", "base64.a85decode", "bytes.fromhex",
                          "numpy.frombuffer", "pickle.loads", "zlib.decompress", "lzma.decompress",
                          "bz2.decompress", "gzip.decompress"})
#: network fetches: what they save is PG404's finding (NO-NETWORK, C1-e secondary), not reported twice
DOWNLOADS = frozenset({"urlretrieve", "hf_hub_download", "snapshot_download", "download_url_to_file", "load_dataset"})
CODE_SUFFIXES = (".py", ".c", ".cc", ".cpp", ".cu", ".h", ".cuh", ".so", ".txt", ".json", ".md", ".log")


@dataclass
class Read:
    fn: Function | None
    node: ast.Call
    path: ast.AST
    what: str


@dataclass
class ExternalFacts:
    reads: list[Read] = field(default_factory=list)


def _qual(a: "Analysis", call: ast.Call) -> str:
    return a.qualname(call.func) or ""


def _read_path(a: "Analysis", call: ast.Call) -> ast.AST | None:
    q = _qual(a, call)
    if q == "open" and call.args:
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
        text = mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"
        return call.args[0] if not set(text) & set("wax+") else None
    if q in READ_CALLS and call.args:
        return call.args[0]
    if isinstance(call.func, ast.Attribute) and call.func.attr in READ_METHODS:
        inner = call.func.value
        if isinstance(inner, ast.Call) and call_name(inner) == "Path" and inner.args:
            return inner.args[0]
    return None


def _write_path(a: "Analysis", call: ast.Call) -> ast.AST | None:
    q = _qual(a, call)
    if q == "open" and call.args:
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax+"):
            return call.args[0]
        return None
    if q in WRITE_CALLS and len(call.args) > WRITE_CALLS[q]:
        return call.args[WRITE_CALLS[q]]
    if isinstance(call.func, ast.Attribute) and call.func.attr in WRITE_METHODS:
        inner = call.func.value
        if isinstance(inner, ast.Call) and call_name(inner) == "Path" and inner.args:
            return inner.args[0]
        if call.func.attr == "tofile" and call.args:
            return call.args[0]
    return None


class _Keys:
    """Comparable identities of a path expression."""

    def __init__(self, a: "Analysis") -> None:
        self.a = a
        self._defs: dict[Function | None, dict[str, list[ast.AST]]] = {}

    def defs(self, fn: Function | None) -> dict[str, list[ast.AST]]:
        if fn not in self._defs:
            out: dict[str, list[ast.AST]] = {}
            for n in self.a.body_nodes(fn):
                if isinstance(n, ast.Assign):
                    for t in n.targets:
                        if (p := path_of(t)) is not None:
                            out.setdefault(p, []).append(n.value)
            self._defs[fn] = out
        return self._defs[fn]

    def keys(self, expr: ast.AST, fn: Function | None, depth: int = 3) -> set[str]:
        out = {ast.unparse(expr)}
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            out.add("const:" + expr.value)
        elif isinstance(expr, ast.Attribute):
            out.add("field:" + expr.attr)
        elif isinstance(expr, ast.Name):
            out.add("field:" + expr.id)
            values = self.defs(fn).get(expr.id, []) or self.defs(None).get(expr.id, [])
            if depth > 0 and len(values) == 1:
                out |= self.keys(values[0], fn, depth - 1)
        return out

    def own_code(self, expr: ast.AST, fn: Function | None, depth: int = 3) -> bool:
        for n in walk(expr):
            if isinstance(n, ast.Name) and n.id == "__file__":
                return True
            if isinstance(n, ast.Call) and (self.a.qualname(n.func) or "").startswith("tempfile."):
                return True  # a scratch file this run creates
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.endswith(CODE_SUFFIXES):
                return True
            if depth > 0 and isinstance(n, ast.Name):
                values = self.defs(fn).get(n.id, [])
                if len(values) == 1 and self.own_code(values[0], fn, depth - 1):
                    return True
        return False


def _eval_region(a: "Analysis"):
    """(functions reached after training, {training function: end position of its last training loop})."""
    ev = a.fact(build_events)
    cutoffs: dict[Function | None, tuple[int, int]] = {}
    for fn, events in ev.by_fn.items():
        for e in events:  # the same test as Events.after_training
            if (e.kind is Kind.BACKWARD and e in ev.train_sites) or (
                    e.kind is Kind.CALL and any(ev.summary(c).train_loop for c in e.callees)):
                top = e.loops[0] if e.loops else e.node
                end = (getattr(top, "end_lineno", top.lineno), getattr(top, "end_col_offset", 0))
                cutoffs[fn] = max(end, cutoffs.get(fn, end))
    reached: set[Function] = set()
    stack = [c for e in ev.after_training if e.kind is Kind.CALL for c in e.callees]
    while stack:
        fn = stack.pop()
        if fn in reached:
            continue
        reached.add(fn)
        stack.extend(t for t, _, _ in fn.refs)
    return reached, cutoffs


def build(a: "Analysis") -> ExternalFacts:
    res = ExternalFacts()
    ev = a.fact(build_events)
    reached, cutoffs = _eval_region(a)
    keys = _Keys(a)
    written: set[str] = set()
    tokenizer: set[str] = set()
    calls: list[tuple[Function | None, ast.Call]] = []
    for fn in [None, *a.functions.values()]:
        for n in a.body_nodes(fn):
            if not isinstance(n, ast.Call):
                continue
            calls.append((fn, n))
            target = _write_path(a, n)
            if target is not None:
                written |= keys.keys(target, fn)
            if (_qual(a, n).startswith("subprocess.") or _qual(a, n) == "os.system") and n.args:
                # a tool this script runs (a compressor) writes the paths it is given
                for x in walk(n.args[0]):
                    if isinstance(x, (ast.Name, ast.Attribute, ast.Constant)):
                        written |= keys.keys(x, fn)
            if call_name(n) in DOWNLOADS:
                for x in [*n.args[1:], *(k.value for k in n.keywords)]:
                    written |= keys.keys(x, fn)
                parent = a.parents.get(n)
                if isinstance(parent, ast.Assign):
                    for t in parent.targets:
                        written |= keys.keys(t, fn)
            if call_name(n) == "SentencePieceProcessor":
                for x in [*n.args, *(k.value for k in n.keywords)]:
                    tokenizer |= keys.keys(x, fn)
            elif call_name(n) in ("Load", "load") and isinstance(n.func, ast.Attribute) and \
                    _qual(a, n) not in READ_CALLS and n.args:
                tokenizer |= keys.keys(n.args[0], fn)  # sp.Load(path) / sp.load(path)
    written |= _written_through_helpers(a, keys, calls)
    for fn, call in calls:
        at_eval = fn in reached or (fn in cutoffs and (call.lineno, call.col_offset) > cutoffs[fn])
        if not at_eval:
            continue
        path = _read_path(a, call)
        if path is not None:
            what = _external(a, ev, keys, fn, path, written | tokenizer)
            if what is not None and _used(a, call):
                res.reads.append(Read(fn, call, path, what))
    for fn, call in calls:
        if _qual(a, call) in DECODE_CALLS and any(_env_read(a, x) for x in call.args):
            res.reads.append(Read(fn, call, call.args[0], "data decoded from an environment variable"))
    return res


PATH_BUILDERS = frozenset({"join", "Path", "str", "format", "expanduser", "abspath", "realpath", "get", "getenv"})


def _is_handle(a: "Analysis", fn: Function | None, expr: ast.AST) -> bool:
    """A file object or in-memory buffer (``torch.load(io.BytesIO(...))``, ``np.load(f)`` inside
    ``with open(p) as f``): the ``open`` that produced it is judged itself."""
    if isinstance(expr, ast.Call):
        return call_name(expr) not in PATH_BUILDERS
    if isinstance(expr, ast.Name):
        root = a.tree if fn is None else fn.node
        for n in walk(root):
            if isinstance(n, ast.withitem) and isinstance(n.optional_vars, ast.Name) and n.optional_vars.id == expr.id:
                return True
    return False


def _written_through_helpers(a: "Analysis", keys: _Keys, calls: list[tuple[Function | None, ast.Call]]) -> set[str]:
    """Paths handed to a local function that writes its parameter (``_init_counter(path)``)."""
    writers: dict[Function, set[int]] = {}
    for fn, call in calls:
        target = _write_path(a, call)
        if fn is not None and isinstance(target, ast.Name) and target.id in fn.params:
            params = fn.params
            offset = 1 if fn.cls is not None and params[:1] in (["self"], ["cls"]) else 0
            writers.setdefault(fn, set()).add(params.index(target.id) - offset)
    out: set[str] = set()
    for fn, call in calls:
        for callee in a.resolve_call(call.func, fn):
            for i in writers.get(callee, ()):
                if 0 <= i < len(call.args):
                    out |= keys.keys(call.args[i], fn)
    return out


def _external(a: "Analysis", ev, keys: _Keys, fn: Function | None, path: ast.AST, known: set[str]) -> str | None:
    if _is_handle(a, fn, path):
        return None
    if fn is not None and any(isinstance(n, ast.Name) and n.id in fn.params for n in walk(path)):
        return None  # a path handed in by the caller: judged where it is built (see Known gaps)
    for split in (ev.val, ev.train):
        taint = split.get(fn)
        if taint is not None and taint.is_tainted(path):
            return None  # validation shards are the eval data; training shards are PG402's
    if keys.own_code(path, fn) or keys.keys(path, fn) & known:
        return None
    return f"`{ast.unparse(path)}` is read at evaluation but is neither the validation data, the tokenizer nor a file this run wrote"


def _used(a: "Analysis", call: ast.Call) -> bool:
    """The read's value is kept (bound, passed on, returned), not discarded."""
    return not isinstance(a.parents.get(call), ast.Expr)


def _env_read(a: "Analysis", expr: ast.AST) -> bool:
    for n in walk(expr):
        if config.env_call(n, a.qualname) is not None:
            return True
        if isinstance(n, (ast.Name, ast.Attribute)) and a.setting_of(n) is not None:
            return True
    return False
