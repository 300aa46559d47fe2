"""Constant-fold the payload of ``exec``/``eval``/``compile`` by pattern, never by executing it (RULEBOOK §7).

Only a whitelist of pure functions is evaluated: the ``base64``/``binascii`` text decoders,
``bytes.fromhex``, ``codecs.decode`` with a binary codec, ``lzma``/``zlib``/``gzip``/``bz2``
decompression, ``str.encode``/``bytes.decode`` and string joining. Names resolve through import
aliases (``import lzma as L``, ``from base64 import b85decode as d``) and through module-level
names bound exactly once. Decompression is incremental with ``max_length``, so a bomb stops at
:data:`MAX_OUTPUT` without allocating more.

The same :class:`Folder` serves the loader (which replaces a wrapper's text with its payload) and
rule PG901 (which reports, in the analysed text, the exec sites the loader could not fold).
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import lzma
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from auditor.decode.scan import scan

#: largest payload one decompression step may produce
MAX_OUTPUT = 16 * 1024 * 1024
MAX_OUTPUT_TEXT = "16 MB"

#: builtins that run code given as text
RUNNERS = frozenset({"exec", "eval", "compile"})

_TEXT_DECODERS: dict[str, tuple[str, Callable[[bytes | str], bytes]]] = {
    "base64.b85decode": ("b85", base64.b85decode),
    "base64.b64decode": ("b64", base64.b64decode),
    "base64.standard_b64decode": ("b64", base64.standard_b64decode),
    "base64.urlsafe_b64decode": ("b64url", base64.urlsafe_b64decode),
    "base64.decodebytes": ("b64", lambda v: base64.decodebytes(_bytes(v))),
    "base64.a85decode": ("a85", base64.a85decode),
    "base64.b32decode": ("b32", base64.b32decode),
    "base64.b16decode": ("b16", base64.b16decode),
    "binascii.unhexlify": ("hex", binascii.unhexlify),
    "binascii.a2b_hex": ("hex", binascii.a2b_hex),
    "binascii.a2b_base64": ("b64", binascii.a2b_base64),
    "bytes.fromhex": ("hex", lambda v: bytes.fromhex(v)),  # type: ignore[arg-type]
}
_CODECS = {"hex": "hex", "hex_codec": "hex", "base64": "b64", "base64_codec": "b64", "base_64": "b64",
           "zlib": "zlib", "zlib_codec": "zlib", "zip": "zlib", "bz2": "bz2", "bz2_codec": "bz2"}
_DECOMPRESSORS = frozenset({"lzma.decompress", "zlib.decompress", "gzip.decompress", "bz2.decompress"})
#: decoders a packer may use that this tool does not evaluate: their payload is opaque, not dynamic
_UNSUPPORTED = ("zstandard", "zstd", "brotli", "marshal", "pickle", "lz4", "snappy", "codecs", "base64",
                "lzma", "zlib", "gzip", "bz2", "binascii")


class Unfoldable(Exception):
    """Why an expression could not be folded.

    ``kind`` is ``"opaque"`` for a payload that is encoded or compressed but cannot be decoded here
    (PG901), ``"dynamic"`` for text built at run time (PG902), ``"file"`` for code read from a file
    (a trampoline, which the loader follows and ``helpers`` resolves).
    """

    def __init__(self, reason: str, kind: str = "opaque") -> None:
        super().__init__(reason)
        self.reason, self.kind = reason, kind


@dataclass(frozen=True)
class Folded:
    """A folded constant and the decoding layers applied to get it, in the order applied."""

    value: bytes | str
    chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExecSite:
    """A call that runs code given as text: ``exec``/``eval``/``compile`` and what its argument folds to."""

    node: ast.Call
    runner: str
    result: Folded | Unfoldable

    @property
    def line(self) -> int:
        return self.node.lineno


def _bytes(value: bytes | str) -> bytes:
    if isinstance(value, str):
        return value.encode("ascii")
    return value


def import_aliases(tree: ast.AST) -> dict[str, str]:
    """Local name → imported dotted name, from every import in ``tree`` (the loader has no Analysis)."""
    aliases: dict[str, str] = {}
    for node in scan(tree).import_nodes:
        _add_aliases(node, aliases)
    return aliases


def _add_aliases(node: ast.Import | ast.ImportFrom, aliases: dict[str, str]) -> None:
    if isinstance(node, ast.Import):
        for a in node.names:
            aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
    elif node.module and not node.level:
        for a in node.names:
            aliases[a.asname or a.name] = f"{node.module}.{a.name}"


def _last_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def qualname_resolver(aliases: dict[str, str]) -> Callable[[ast.AST], str | None]:
    def qualname(expr: ast.AST) -> str | None:
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        return ".".join([aliases.get(expr.id, expr.id), *reversed(parts)])

    return qualname


def builtin_name(qualname: str | None) -> str | None:
    """``exec`` for ``exec``, ``builtins.exec`` and ``__builtins__.exec``; otherwise the name unchanged."""
    if qualname is None:
        return None
    for prefix in ("builtins.", "__builtins__."):
        if qualname.startswith(prefix):
            return qualname[len(prefix):]
    return qualname


class Folder:
    """Folds expressions of one module. ``qualname`` resolves import aliases (``Analysis.qualname``
    when a rule asks; the loader builds one from the imports)."""

    def __init__(self, tree: ast.Module, qualname: Callable[[ast.AST], str | None] | None = None) -> None:
        self.tree = tree
        # from the tree's shared scan: import aliases (unless the caller resolves names), name
        # bindings, candidate calls
        found = scan(tree)
        stores = found.stores
        self._calls = [
            node for node in found.calls
            if isinstance(node.func, (ast.Call, ast.Subscript)) or _last_name(node.func) in RUNNERS
        ]
        aliases: dict[str, str] = {}
        if qualname is None:
            for node in found.import_nodes:
                _add_aliases(node, aliases)
        self.qualname = qualname or qualname_resolver(aliases)
        # module-level names bound only by plain top-level assignments, each binding with its line:
        # a name is read as of the last binding above the use (``S = decompress(..); S = S.decode()``)
        self.bindings: dict[str, list[ast.Assign]] = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                self.bindings.setdefault(stmt.targets[0].id, []).append(stmt)
        for name in [n for n, b in self.bindings.items() if len(b) != stores.get(n)]:
            del self.bindings[name]  # also bound elsewhere (a loop, a function, an augmented assignment)

    # ---- sites --------------------------------------------------------------------------------

    def runner_of(self, call: ast.Call) -> str | None:
        """``exec``/``eval``/``compile`` when ``call`` is one of those builtins, also via ``builtins``,
        ``__builtins__`` or ``getattr(__builtins__, "exec")``."""
        func = call.func
        if (
            isinstance(func, ast.Call)
            and self.qualname(func.func) == "getattr"
            and len(func.args) == 2
            and self.qualname(func.args[0]) in ("builtins", "__builtins__")
            and isinstance(func.args[1], ast.Constant)
        ):
            name = func.args[1].value
        elif isinstance(func, ast.Subscript) and self.qualname(func.value) == "__builtins__":
            name = func.slice.value if isinstance(func.slice, ast.Constant) else None
        else:
            name = builtin_name(self.qualname(func))
        return name if name in RUNNERS else None

    def sites(self) -> Iterator[ExecSite]:
        """Every exec/eval/compile call with its folded argument, outermost first; a runner that is
        itself the argument of another (``exec(compile(...))``) is part of the outer site."""
        inner: set[ast.AST] = set()
        for node in self._calls:
            if node in inner:
                continue
            runner = self.runner_of(node)
            if runner is None:
                continue
            for arg in node.args[:1]:
                for sub in ast.walk(arg):
                    inner.add(sub)
            if not node.args:
                result: Folded | Unfoldable = Unfoldable("no argument", kind="dynamic")
            else:
                try:
                    result = self.fold(node.args[0])
                except Unfoldable as exc:
                    result = exc
            yield ExecSite(node, runner, result)

    # ---- folding ------------------------------------------------------------------------------

    def fold(self, expr: ast.expr) -> Folded:
        """The constant ``expr`` evaluates to, or :class:`Unfoldable` saying why not."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, (str, bytes)):
            return Folded(expr.value)
        if isinstance(expr, ast.Name):
            return self._fold_name(expr)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self._concat([self.fold(expr.left), self.fold(expr.right)])
        if isinstance(expr, ast.Call):
            return self._fold_call(expr)
        raise self._unfoldable(expr)

    def _fold_name(self, node: ast.Name) -> Folded:
        earlier = [b for b in self.bindings.get(node.id, ()) if b.lineno < node.lineno]
        if not earlier:
            raise Unfoldable(f"'{node.id}' is not a constant bound at module level above its use", kind="dynamic")
        return self.fold(earlier[-1].value)

    def _unfoldable(self, expr: ast.expr) -> Unfoldable:
        """Classify a non-constant argument: payload-like (a long literal or an unsupported decoder
        inside) is opaque; anything else is text built at run time."""
        for sub in ast.walk(expr):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, (str, bytes)) and len(sub.value) >= 256:
                return Unfoldable("argument is not a constant expression over its payload literal")
            if isinstance(sub, ast.Call):
                name = self.qualname(sub.func) or ""
                if name.split(".")[0] in _UNSUPPORTED:
                    return Unfoldable(f"calls {name}, which this tool does not evaluate")
        return Unfoldable("argument is not a constant expression", kind="dynamic")

    @staticmethod
    def _concat(parts: list[Folded]) -> Folded:
        kinds = {type(p.value) for p in parts}
        if len(kinds) > 1:
            raise Unfoldable("concatenates str and bytes")
        chain: list[str] = []
        for p in parts:
            chain += [c for c in p.chain if c not in chain]
        empty: bytes | str = b"" if kinds == {bytes} else ""
        return Folded(empty.join(p.value for p in parts), tuple(chain))  # type: ignore[arg-type]

    def _fold_call(self, call: ast.Call) -> Folded:
        func = call.func
        name = builtin_name(self.qualname(func))
        if name == "compile" and call.args:  # exec(compile(src, filename, mode))
            return self.fold(call.args[0])
        if name in _TEXT_DECODERS:
            label, decode = _TEXT_DECODERS[name]
            arg = self._payload(call, name)
            try:
                return Folded(decode(arg.value), (*arg.chain, label))
            except (ValueError, TypeError, binascii.Error) as exc:
                raise Unfoldable(f"payload is not valid {label}: {exc}") from exc
        if name in _DECOMPRESSORS:
            return self._decompress(name, call)
        if name in ("codecs.decode", "codecs.encode") and len(call.args) >= 2:
            codec = self.fold(call.args[1]).value
            label = _CODECS.get(codec.lower() if isinstance(codec, str) else "")
            if label is not None and name == "codecs.decode":
                data = self._payload(call, name)
                return self._inflate(label, data) if label in ("zlib", "bz2") else self._apply(label, data)
            if label is None and isinstance(codec, str):
                return self._transcode(self.fold(call.args[0]), name.split(".")[1], call, 1)
        if name in ("str", "bytes") and len(call.args) >= 2:
            return self._transcode(self.fold(call.args[0]), "decode" if name == "str" else "encode", call, 1)
        if name in ("open", "io.open") or (isinstance(func, ast.Attribute) and func.attr in ("read", "read_text")):
            raise Unfoldable("reads code from a file", kind="file")
        if isinstance(func, ast.Attribute) and func.attr in ("decode", "encode"):
            return self._transcode(self.fold(func.value), func.attr, call)
        if isinstance(func, ast.Attribute) and func.attr == "join" and len(call.args) == 1:
            sep = self.fold(func.value)
            items = call.args[0]
            if isinstance(items, (ast.List, ast.Tuple)):
                joined: list[Folded] = []
                for item in items.elts:
                    joined += [sep, self.fold(item)] if joined else [self.fold(item)]
                return self._concat(joined) if joined else Folded(sep.value[:0])
            text = self.fold(items)  # "".join(s) over a str joins its characters
            if isinstance(sep.value, str) and isinstance(text.value, str):
                return Folded(sep.value.join(text.value), text.chain)
        raise self._unfoldable(call)

    def _payload(self, call: ast.Call, name: str) -> Folded:
        """The folded input of a decoder; an input that is not constant makes the payload opaque."""
        if not call.args:
            raise self._unfoldable(call)
        try:
            return self.fold(call.args[0])
        except Unfoldable as exc:
            if exc.kind == "opaque":
                raise
            raise Unfoldable(f"the input of {name} is not a constant ({exc.reason})") from exc

    def _apply(self, label: str, arg: Folded) -> Folded:
        decode = {"hex": binascii.unhexlify, "b64": base64.b64decode}[label]
        try:
            return Folded(decode(_bytes(arg.value)), (*arg.chain, label))
        except (ValueError, binascii.Error) as exc:
            raise Unfoldable(f"payload is not valid {label}: {exc}") from exc

    def _transcode(self, value: Folded, method: str, call: ast.Call, first: int = 0) -> Folded:
        args = [self.fold(a).value for a in call.args[first:first + 1]]
        encoding = args[0] if args and isinstance(args[0], str) else "utf-8"
        try:
            if method == "decode" and isinstance(value.value, bytes):
                return Folded(value.value.decode(encoding), value.chain)
            if method == "encode" and isinstance(value.value, str):
                return Folded(value.value.encode(encoding), value.chain)
        except LookupError as exc:
            raise Unfoldable(f"unknown text encoding {encoding!r}") from exc
        except UnicodeError as exc:
            raise Unfoldable(f"payload is not valid {encoding}: {exc.reason} at byte {exc.start}") from exc
        raise Unfoldable(f".{method}() on a {type(value.value).__name__} payload")

    # ---- decompression ------------------------------------------------------------------------

    def _decompress(self, name: str, call: ast.Call) -> Folded:
        data = self._payload(call, name)
        module = name.split(".")[0]
        if module == "lzma":
            return self._lzma(data, call)
        if module == "zlib" and len(call.args) > 1:
            return self._inflate("zlib", data, self._int(call.args[1]))
        return self._inflate(module, data)

    def _int(self, expr: ast.expr) -> int:
        try:
            value = ast.literal_eval(expr)
        except ValueError as exc:
            raise self._unfoldable(expr) from exc
        if not isinstance(value, int):
            raise Unfoldable("decompression argument is not an integer")
        return value

    def _lzma(self, data: Folded, call: ast.Call) -> Folded:
        kwargs = {k.arg: k.value for k in call.keywords}
        fmt_expr = kwargs.get("format", call.args[1] if len(call.args) > 1 else None)
        fmt = lzma.FORMAT_AUTO if fmt_expr is None else self._lzma_const(fmt_expr)
        filters = None
        if "filters" in kwargs:
            filters = self._lzma_filters(kwargs["filters"])
        elif fmt == lzma.FORMAT_RAW:
            raise Unfoldable("raw LZMA without a filter chain")
        label = {lzma.FORMAT_RAW: "lzma-raw", lzma.FORMAT_ALONE: "lzma-alone", lzma.FORMAT_XZ: "xz"}.get(fmt)
        if label is None:  # auto-detect, as lzma does: xz container or the legacy .lzma header
            label = "xz" if _bytes(data.value)[:6] == b"\xfd7zXZ\x00" else "lzma-alone"
        try:
            make = lambda: lzma.LZMADecompressor(fmt, filters=filters)  # noqa: E731
            return Folded(_drain(make, _bytes(data.value), multi=True), (*data.chain, label))
        except (lzma.LZMAError, EOFError, ValueError, TypeError) as exc:
            raise Unfoldable(f"payload is not valid {label}: {exc}") from exc

    def _lzma_const(self, expr: ast.expr) -> int:
        name = self.qualname(expr) or ""
        if name.startswith("lzma.") and hasattr(lzma, name[5:]) and isinstance(getattr(lzma, name[5:]), int):
            return getattr(lzma, name[5:])
        return self._int(expr)

    def _lzma_filters(self, expr: ast.expr) -> list[dict[str, int]]:
        if not isinstance(expr, (ast.List, ast.Tuple)):
            raise self._unfoldable(expr)
        chain = []
        for item in expr.elts:
            if not isinstance(item, ast.Dict) or any(k is None for k in item.keys):
                raise self._unfoldable(item)
            spec: dict[str, int] = {}
            for key, value in zip(item.keys, item.values):
                k = self.fold(key).value  # type: ignore[arg-type]
                spec[str(k)] = self._lzma_const(value)
            chain.append(spec)
        return chain

    def _inflate(self, label: str, data: Folded, wbits: int | None = None) -> Folded:
        if label == "bz2":
            make: Callable[[], Any] = bz2.BZ2Decompressor
        else:
            bits = {"gzip": 16 + zlib.MAX_WBITS}.get(label, zlib.MAX_WBITS if wbits is None else wbits)
            make = lambda: zlib.decompressobj(bits)  # noqa: E731
        try:
            return Folded(_drain(make, _bytes(data.value), multi=label != "zlib"), (*data.chain, label))
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            raise Unfoldable(f"payload is not valid {label}: {exc}") from exc


def _drain(make: Callable[[], Any], data: bytes, multi: bool) -> bytes:
    """Decompress as ``lzma``/``gzip``/``bz2.decompress`` do (every concatenated stream; trailing
    bytes that are not a stream are ignored) or ``zlib.decompress`` (one stream), never producing
    more than :data:`MAX_OUTPUT` bytes."""
    out = bytearray()
    while True:
        d = make()
        try:
            out += d.decompress(data, MAX_OUTPUT + 1 - len(out))
        except (lzma.LZMAError, OSError, zlib.error):
            if not out:
                raise
            return bytes(out)
        if len(out) > MAX_OUTPUT:
            raise Unfoldable(f"decompressed size exceeds {MAX_OUTPUT_TEXT} cap")
        if not d.eof:
            raise EOFError("compressed data ended before the end-of-stream marker")
        data = d.unused_data
        if not multi or not data:
            return bytes(out)
