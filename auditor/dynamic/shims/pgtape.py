"""The event tape, recorded inside the child.

Every event carries a sequence number, a timestamp and the submission line responsible (the
innermost frame in a submission file). Val positions come from the content-addressable stream
(``valindex``): an id tensor the code touches is mapped back to the stream positions it holds.

Kinds: READ/WRITE/OUTSIDE/NET/SUBPROC/FORK (from ``pgguard``), LOG (a printed line), FWD (outermost
module forward on val ids), SCORE (per-token NLL of a cross-entropy / NLL call on val targets), ACC
(per-token scores summed into a total: followed from a cross-entropy call or a lookup of target ids in
a row through arithmetic, views and numpy; ``derived`` marks values computed after the lookup), BWD,
STEP (optimizer step; ``oid`` numbers the optimizer, ``mods`` holds the weight versions of every
module run so far; FWD names its module ``mid``, weight version ``ver`` and the stepping
optimizers ``oids`` that own its weights), DISCARD (every parameter an optimizer stepped
on val ids has been freed: a throw-away adapter), UPDATE (parameters changed without an optimizer
step), CALIB (a user forward hook fired on val ids), EXC (the exception that ended the run), END.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import traceback
import weakref
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torch.optim.optimizer as _optimizer

import pgcuda
import pgguard
from valindex import ValIndex

_CE = F.cross_entropy
_NLL = F.nll_loss
_INT_DTYPES = {torch.int64, torch.int32, torch.int16, torch.uint16, torch.uint8} if hasattr(torch, "uint16") else {
    torch.int64, torch.int32, torch.int16, torch.uint8}
METRIC_LINE = re.compile(r"val_(?:bpb|loss)\s*[:=]\s*-?\d")
_URGENT = {"NET", "OUTSIDE", "SUBPROC", "FORK"}
#: torch ops whose output element i is computed from input element i (broadcast): scores keep their tag
_ELEMENTWISE = {
    "to", "float", "double", "half", "bfloat16", "type", "detach", "clone", "contiguous", "cpu", "cuda",
    "__neg__", "neg", "negative", "exp", "log", "log1p", "expm1", "log2", "log10", "sigmoid", "logit", "abs", "sqrt",
    "square", "reciprocal", "tanh", "softplus", "nan_to_num", "clamp", "clamp_min", "clamp_max", "clip", "relu",
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "float_power", "minimum",
    "maximum", "fmin", "fmax", "where", "lerp", "logaddexp", "logaddexp2", "addcmul", "addcdiv", "xlogy",
    "masked_fill", "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__", "__rmul__",
    "__imul__", "__truediv__", "__rtruediv__", "__itruediv__", "__pow__", "__rpow__", "__ipow__", "exp_", "log_",
    "neg_", "clamp_", "clamp_min_", "clamp_max_", "clip_", "add_", "sub_", "mul_", "div_", "lerp_", "copy_",
    "masked_fill_", "nan_to_num_",
}
_VIEWS = {"reshape", "view", "flatten", "squeeze", "unsqueeze", "ravel", "view_as", "reshape_as"}
_SUMS = {"sum", "mean", "nansum", "nanmean"}
_LOOKUPS = {"gather", "take_along_dim"}
_TO_NUMPY = {"numpy", "__array__"}
_FROM_NUMPY = {"tensor", "as_tensor", "asarray"}
_TAPE: "Tape | None" = None  # the process's tape, for numpy's dispatch into ``Scored``


def ranges(pos: np.ndarray) -> list[list[int]]:
    """Sorted unique positions as inclusive ``[a, b]`` runs (compact on the tape)."""
    if pos.size == 0:
        return []
    u = np.unique(pos)
    cuts = np.flatnonzero(np.diff(u) != 1)
    starts = np.concatenate([[0], cuts + 1])
    ends = np.concatenate([cuts, [u.size - 1]])
    return [[int(u[a]), int(u[b])] for a, b in zip(starts, ends)]


class Tag:
    """Lineage of per-token scores. Per element: ``pos``, the val position whose score it holds (-1: none),
    and ``src``, the NLL its source lookup read off a row (NaN: unknown), so a reported value that differs
    from it was computed by further arithmetic. ``rows``: the source's rows at watched positions, as
    log-probabilities over the alphabet."""

    __slots__ = ("pos", "src", "rows")

    def __init__(self, pos: np.ndarray, src: np.ndarray, rows: dict[int, np.ndarray] | None = None) -> None:
        self.pos = np.asarray(pos, dtype=np.int64)
        self.src = np.broadcast_to(np.asarray(src, dtype=np.float64), self.pos.shape)
        self.rows = rows or {}

    def moved(self, move: Any) -> "Tag":
        """The tag of a view, copy or selection: ``move`` applied to positions and source values alike."""
        return Tag(move(self.pos), move(self.src), self.rows)

    def reduced(self, axes: Any, keepdims: bool) -> "Tag | None":
        """A reduction along ``axes`` keeps a position only where every tagged element it combines agrees."""
        hi = self.pos.max(axis=axes, keepdims=keepdims)
        lo = np.where(self.pos >= 0, self.pos, np.iinfo(np.int64).max).min(axis=axes, keepdims=keepdims)
        out = np.where((hi >= 0) & (lo == hi), hi, -1)
        return Tag(out, np.nan, self.rows) if (out >= 0).any() else None


def merge_rows(tags: list["Tag | None"]) -> dict[int, np.ndarray]:
    rows: dict[int, np.ndarray] = {}
    for t in tags:
        if t is not None:
            rows.update(t.rows)
    return rows


def combine(tags: list[Tag], shape: tuple[int, ...]) -> Tag | None:
    """The tag of an elementwise result: each element keeps the position its tagged inputs agree on."""
    if not tags:
        return None
    out = np.full(shape, -1, dtype=np.int64)
    src = np.full(shape, np.nan)
    clash = np.zeros(shape, dtype=bool)
    for t in tags:
        p = np.broadcast_to(t.pos, shape)
        clash |= (out >= 0) & (p >= 0) & (out != p)
        src = np.where(out >= 0, src, np.broadcast_to(t.src, shape))
        out = np.where(out >= 0, out, p)
    out[clash] = -1
    return Tag(out, src, merge_rows(tags)) if (out >= 0).any() else None


def as_log_probs(row: np.ndarray) -> np.ndarray | None:
    """A source row as log-probabilities: kept when it holds log-probabilities, logged when it holds
    probabilities, None otherwise (logits: the scored distribution is not this row)."""
    row = np.asarray(row, dtype=np.float64)
    if not np.isfinite(row).any():
        return None
    if (row <= 1e-9).all():
        return row
    if ((row >= 0) & (row <= 1 + 1e-9)).all():
        with np.errstate(divide="ignore"):
            return np.log(row)
    return None


def source_nll(values: Any, lo: float, hi: float) -> np.ndarray:
    """The NLL of values looked up in rows spanning [lo, hi]: -v in log-probability rows, -log v in
    probability rows, NaN in any other (logits: the scored distribution is not that row)."""
    values = np.asarray(values, dtype=np.float64)
    if hi <= 1e-9:
        return -values
    if lo >= 0 and hi <= 1 + 1e-9:
        with np.errstate(divide="ignore"):
            return -np.log(values)
    return np.full(values.shape, np.nan)


def _plain(x: Any) -> Any:
    return x.view(np.ndarray) if isinstance(x, Scored) else x


def _np_index(i: Any) -> Any:
    return i.cpu().numpy() if isinstance(i, torch.Tensor) else _plain(i)


def _scored(arr: np.ndarray, tag: Tag | None) -> np.ndarray:
    out = arr if isinstance(arr, Scored) else arr.view(Scored)
    out.tag = tag
    return out


class Scored(np.ndarray):
    """A float numpy array the tape follows. ``tag`` gives the val position of each score it holds; None
    marks a row over the alphabet, which a lookup of target ids (``rows[i, y]``) turns into scores.
    Values and memory are the plain array's; pickling (an artifact) writes a plain array."""

    tag: Tag | None = None

    def __array_finalize__(self, obj: Any) -> None:
        self.tag = None  # set only by the operations below, which know where elements move

    def __reduce__(self) -> Any:
        return self.view(np.ndarray).__reduce__()

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        outs = kwargs.get("out")
        if outs:
            kwargs["out"] = tuple(_plain(o) for o in outs)
        result = getattr(ufunc, method)(*(_plain(x) for x in inputs), **kwargs)
        target = outs[0] if outs and len(outs) == 1 and isinstance(outs[0], Scored) else None
        if _TAPE is None:
            return target if target is not None else result
        return _TAPE.numpy_op(ufunc, method, inputs, kwargs, target, result)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        name = func.__name__
        if _TAPE is not None and name in ("concatenate", "stack", "hstack", "vstack") and args:
            parts = list(args[0])
            result = func([_plain(a) for a in parts], *args[1:], **kwargs)
            tags = [a.tag if isinstance(a, Scored) else None for a in parts]
            if any(t is not None for t in tags) and isinstance(result, np.ndarray) and result.dtype.kind == "f":
                axis = {k: v for k, v in kwargs.items() if k == "axis"}
                try:
                    pos = func([t.pos if t is not None else np.full(np.shape(a), -1) for t, a in zip(tags, parts)], *args[1:], **axis)
                    src = func([t.src if t is not None else np.full(np.shape(a), np.nan) for t, a in zip(tags, parts)], *args[1:], **axis)
                except (ValueError, TypeError):
                    return result
                return _scored(result, Tag(pos, src, merge_rows(tags)))
            return result
        if _TAPE is not None and name == "take_along_axis":
            result = func(*(_plain(a) for a in args), **{k: _plain(v) for k, v in kwargs.items()})
            tag = _TAPE.numpy_take(args, kwargs, result)
            return _scored(result, tag) if tag is not None else result
        return super().__array_function__(func, types, args, kwargs)

    def __getitem__(self, index: Any) -> Any:
        out = super().__getitem__(index)
        if not isinstance(out, np.ndarray) or _TAPE is None:
            return out
        if self.tag is not None:
            plain = tuple(map(_plain, index)) if isinstance(index, tuple) else _plain(index)
            try:
                return _scored(out, self.tag.moved(lambda a: a[plain]))
            except (IndexError, ValueError, TypeError):
                return out.view(np.ndarray)
        tag = _TAPE.numpy_lookup(self, index, out)
        return _scored(out, tag) if tag is not None else _TAPE.keep_row(out)

    def _moved(self, out: Any, move: Any) -> Any:
        if not isinstance(out, np.ndarray) or _TAPE is None:
            return out
        if out.dtype.kind != "f":
            return out.view(np.ndarray)
        if self.tag is None:
            return _TAPE.keep_row(out)
        try:
            tag = self.tag.moved(move)
        except (ValueError, TypeError):
            return out.view(np.ndarray)
        return _scored(out, tag) if tag.pos.shape == out.shape else out.view(np.ndarray)

    def astype(self, *args: Any, **kwargs: Any) -> Any:
        return self._moved(super().astype(*args, **kwargs), lambda p: p)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        return self._moved(super().copy(*args, **kwargs), lambda p: p)

    def reshape(self, *args: Any, **kwargs: Any) -> Any:
        return self._moved(super().reshape(*args, **kwargs), lambda p: p.reshape(*args, **kwargs))

    def ravel(self, *args: Any, **kwargs: Any) -> Any:
        return self._moved(super().ravel(*args, **kwargs), lambda p: p.ravel(*args, **kwargs))

    def flatten(self, *args: Any, **kwargs: Any) -> Any:
        return self._moved(super().flatten(*args, **kwargs), lambda p: p.flatten(*args, **kwargs))

    def squeeze(self, *args: Any, **kwargs: Any) -> Any:
        return self._moved(super().squeeze(*args, **kwargs), lambda p: p.squeeze(*args, **kwargs))

    def transpose(self, *args: Any) -> Any:
        return self._moved(super().transpose(*args), lambda p: p.transpose(*args))


class Tape:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.out_path = config["tape_out"]
        self.code_files = {os.path.realpath(p) for p in config["code_files"]}
        self.stream = np.load(config["val_stream"])
        self.index = ValIndex(self.stream)
        self.events: list[dict] = []
        self.pid = os.getpid()  # only this process writes the tape (forks of the script do not)
        self.t0 = time.perf_counter()
        self.lock = threading.RLock()
        self.depth = threading.local()
        self.pending_bwd: set[int] = set()  # val positions feeding the next backward
        self.pending_step: set[int] = set()  # val positions feeding the next parameter update
        self.optimizers: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self.next_oid = 1
        self.freed: list[int] = []  # optimizers whose parameters all died; recorded by the next event
        self.metric_logs = 0
        self.score_events = 0
        self.versions: dict[int, int] = {}
        self.modules: dict[int, Any] = {}  # id -> weakref of every outermost module run
        self.opt_params: dict[int, set[int]] = {}  # optimizer number -> ids of the parameters it steps
        self.step_since_fwd = False
        self.calib_fwd = -1
        self.fwd_seq = 0
        self.listeners: list[Any] = []  # called after every event (the fork plan)
        self.tags: dict[int, tuple[Tag, Any]] = {}  # id(tensor holding per-token scores) -> (its tag, weakref)
        self.watch: set[int] = {int(t) for t in (config.get("fork") or {}).get("watch", [])}
        self.alphabet = int(self.stream.max()) + 1  # a row with this many entries may be a distribution

    # -- helpers -----------------------------------------------------------------------------------
    def site(self) -> tuple[str, int, list[int]]:
        """Innermost submission frame (file, line) and the submission lines of the calls around it."""
        f = sys._getframe(1)
        found: list[tuple[str, int]] = []
        while f is not None and len(found) < 6:
            name = f.f_code.co_filename
            if name in self.code_files or os.path.realpath(name) in self.code_files:
                found.append((os.path.basename(name), f.f_lineno))
            f = f.f_back
        if not found:
            return "", 0, []
        return found[0][0], found[0][1], [ln for _, ln in found[1:]]

    def positions(self, t: Any) -> np.ndarray | None:
        """Val positions held by an id tensor/array (flattened, -1 elsewhere), or None if none."""
        if isinstance(t, torch.Tensor):
            if t.dtype not in _INT_DTYPES or t.numel() < 4 or t.is_meta:
                return None
            base = t._base
            if base is not None and base.dim() >= 2 and base.numel() == t.numel() and base.is_contiguous() \
                    and t.is_contiguous():
                # a flattened batch: map its rows (windows), not the stitched sequence
                rows = base.detach().to("cpu").to(torch.int64).reshape(-1, base.shape[-1]).numpy()
                pos = self.index.positions(rows).reshape(-1)
                return pos if (pos >= 0).any() else None
            arr = t.detach().to("cpu").to(torch.int64).numpy()
        elif isinstance(t, np.ndarray):
            if t.dtype.kind not in "iu" or t.size < 4:
                return None
            arr = t.astype(np.int64)
        else:
            return None
        if arr.ndim == 0:
            return None
        while arr.ndim >= 2 and arr.shape[-1] == 1:  # ``y[..., None]`` for a gather: map the ids, not 1-long rows
            arr = arr[..., 0]
        pos = self.index.positions(arr).reshape(-1)
        return pos if (pos >= 0).any() else None

    def record(self, kind: str, **data: Any) -> dict:
        with self.lock:
            while self.freed:  # garbage collection can run anywhere: its events wait for a safe point
                self.record("DISCARD", oid=self.freed.pop(0))
            file, line, outer = self.site()
            event = {"i": len(self.events), "t": round(time.perf_counter() - self.t0, 6), "kind": kind,
                     "file": file, "line": line, "outer": outer, **data}
            self.events.append(event)
            if kind in _URGENT:
                self.flush()  # containment events must survive a later kill
            for listener in self.listeners:
                listener(event)
            return event

    def flush(self, path: str | None = None) -> None:
        if os.getpid() != self.pid:
            return
        with self.lock, pgguard.trusted():
            tmp = (path or self.out_path) + f".tmp{self.pid}"
            with open(tmp, "w") as f:
                for e in self.events:
                    f.write(json.dumps(e) + "\n")
            os.replace(tmp, path or self.out_path)

    # -- taps ---------------------------------------------------------------------------------------
    def log_line(self, text: str) -> None:
        if METRIC_LINE.search(text):
            self.metric_logs += 1
            self.record("LOG", text=text[:500], metric=self.metric_logs)

    def on_torch(self, func: Any, args: tuple, kwargs: dict, result: Any) -> Any:
        if func is _CE or func is _NLL:
            target = args[1] if len(args) > 1 else kwargs.get("target")
            pos = self.positions(target)
            if pos is not None:
                self._score(func, args, kwargs, target, pos)
                if kwargs.get("reduction") == "none" and isinstance(result, torch.Tensor):
                    tpos = self._target_positions(target, pos, kwargs).reshape(result.shape)
                    values = result.detach().to(torch.float64).cpu().numpy()
                    self._tag(result, Tag(tpos, values, self._ce_rows(func, args, kwargs, tpos)))
            return result
        name = getattr(func, "__name__", "")
        if name in _TO_NUMPY:
            return self._to_numpy(args, result)
        if name in _LOOKUPS:
            self._lookup(name, args, kwargs, result)
        elif name in _FROM_NUMPY and args and isinstance(args[0], Scored) and args[0].tag is not None:
            if isinstance(result, torch.Tensor) and tuple(result.shape) == args[0].shape:
                self._tag(result, args[0].tag)
        elif self.tags:
            return self._follow(name, args, kwargs, result)
        return result

    # -- score lineage: per-token scores followed from their source to the sum that reports them ---------
    # Sources: cross-entropy / NLL with reduction="none", and a lookup of target ids in a full-alphabet row
    # (``gather``, ``take_along_dim``, numpy ``rows[i, y]``). Elementwise arithmetic, views, casts and
    # torch <-> numpy conversions carry the tag; a sum over all elements is an ACC event (``Scored``
    # carries tags through numpy).
    def _target_positions(self, target: torch.Tensor, pos: np.ndarray, kwargs: dict) -> np.ndarray:
        tgt = target.detach().reshape(-1).cpu().numpy()
        return np.where(tgt == kwargs.get("ignore_index", -100), -1, pos)

    def _tag(self, t: torch.Tensor, tag: Tag) -> None:
        key = id(t)
        self.tags[key] = (tag, weakref.ref(t, lambda _r, k=key: self.tags.pop(k, None)))

    def tag_of(self, x: Any) -> Tag | None:
        if isinstance(x, Scored):
            return x.tag
        if isinstance(x, torch.Tensor):
            entry = self.tags.get(id(x))
            return entry[0] if entry is not None else None
        return None

    def _follow(self, name: str, args: tuple, kwargs: dict, result: Any) -> Any:
        first = self.tag_of(args[0]) if args else None
        try:
            if not isinstance(result, torch.Tensor) or not result.is_floating_point():
                return result
            if name in _ELEMENTWISE:
                tag = combine([t for t in map(self.tag_of, (*args, *kwargs.values())) if t is not None], tuple(result.shape))
            elif name in ("cat", "concat", "concatenate", "stack"):
                tag = self._joined(name, args, kwargs)
            elif first is None:
                return result
            elif name == "__getitem__":
                index = args[1]
                index = tuple(_np_index(i) for i in index) if isinstance(index, tuple) else _np_index(index)
                tag = first.moved(lambda a: a[index])
            elif name in _VIEWS:
                tag = first.moved(lambda a: a.reshape(result.shape))
            elif name in ("transpose", "swapaxes", "permute", "t", "movedim"):
                tag = first.moved(lambda a: getattr(torch.from_numpy(np.array(a)), name)(*args[1:], **kwargs).numpy())
            elif name in _SUMS:
                dims = args[1] if len(args) > 1 and not isinstance(args[1], torch.dtype) else kwargs.get("dim")
                axes = set(range(args[0].ndim)) if dims in (None, (), []) else \
                    {int(d) % max(args[0].ndim, 1) for d in np.atleast_1d(dims)}
                if axes >= set(range(args[0].ndim)):
                    if not args[0].requires_grad:  # a training loss being built, not a reported total
                        self.accumulate(args[0].detach().to(torch.float64).cpu().numpy(), first)
                    return result
                tag = first.reduced(tuple(axes), bool(kwargs.get("keepdim", False)))
            else:
                return result
        except (IndexError, ValueError, TypeError, RuntimeError):
            return result
        if tag is not None and tag.pos.shape == tuple(result.shape):
            self._tag(result, tag)
        else:
            self.tags.pop(id(result), None)  # an in-place op overwrote a tagged tensor's scores
        return result

    def _to_numpy(self, args: tuple, result: Any) -> Any:
        """``.numpy()`` / ``np.asarray``: tagged scores, and rows over the alphabet, become ``Scored``."""
        if not isinstance(result, np.ndarray) or result.dtype.kind != "f" or not args:
            return result
        tag = self.tag_of(args[0])
        return _scored(result, tag) if tag is not None else self.keep_row(result)

    def keep_row(self, arr: np.ndarray) -> np.ndarray:
        """Rows over the alphabet stay followed (a later ``rows[i, y]`` is a score source); others are plain."""
        row = arr.dtype.kind == "f" and arr.ndim >= 1 and arr.shape[-1] >= self.alphabet
        return _scored(arr, None) if row else arr.view(np.ndarray)

    def numpy_op(self, ufunc: Any, method: str, inputs: tuple, kwargs: dict, target: "Scored | None", result: Any) -> Any:
        out = target if target is not None else result
        arr = inputs[0] if inputs else None
        if method == "reduce" and isinstance(arr, Scored) and arr.tag is not None and arr.dtype.kind == "f":
            axis = kwargs.get("axis", 0)
            axes = tuple(range(arr.ndim)) if axis is None else tuple(np.atleast_1d(axis) % max(arr.ndim, 1))
            if set(axes) >= set(range(arr.ndim)):  # over every element: a total of scores
                if ufunc is np.add:
                    self.accumulate(arr.view(np.ndarray), arr.tag)
                return out
            tag = arr.tag.reduced(axes, bool(kwargs.get("keepdims", False)))
            if isinstance(out, np.ndarray) and tag is not None and tag.pos.shape == out.shape:
                return _scored(out, tag)
        if not isinstance(out, np.ndarray) or out.dtype.kind != "f":
            return out
        if method == "__call__":
            try:
                tag = combine([x.tag for x in inputs if isinstance(x, Scored) and x.tag is not None], out.shape)
            except ValueError:
                tag = None
            return _scored(out, tag) if tag is not None else self.keep_row(out)
        return _scored(out, None) if target is not None else out.view(np.ndarray)

    def numpy_lookup(self, arr: np.ndarray, index: Any, out: np.ndarray) -> Tag | None:
        """``rows[i, j, y]``: target ids looked up in rows over the alphabet, one score per id."""
        if not isinstance(index, tuple) or len(index) != arr.ndim or arr.ndim < 2 or arr.shape[-1] < self.alphabet:
            return None
        ids = index[-1]
        lead = [_plain(i) for i in index[:-1]]
        if not isinstance(ids, np.ndarray) or ids.dtype.kind not in "iu" or \
                not all(isinstance(i, (int, np.integer)) or (isinstance(i, np.ndarray) and i.dtype.kind in "iu") for i in lead):
            return None
        pos = self.positions(ids)
        if pos is None:
            return None
        try:
            parts = np.broadcast_arrays(*[np.asarray(i) for i in lead], pos.reshape(ids.shape))
        except ValueError:
            return None
        if parts[-1].shape != out.shape:
            return None
        flat = [a.reshape(-1) for a in parts]
        plain = arr.view(np.ndarray)
        rows = self.rows_at(flat[-1], lambda k: plain[tuple(int(a[k]) for a in flat[:-1])]) if self.watch else {}
        return Tag(np.array(parts[-1]), source_nll(out.view(np.ndarray), plain.min(), plain.max()), rows)

    def numpy_take(self, args: tuple, kwargs: dict, result: Any) -> Tag | None:
        """``np.take_along_axis(rows, y[..., None], axis=-1)``: the numpy gather."""
        arr = args[0] if args else kwargs.get("arr")
        ids = _plain(args[1] if len(args) > 1 else kwargs.get("indices"))
        axis = args[2] if len(args) > 2 else kwargs.get("axis")
        if not isinstance(arr, np.ndarray) or not isinstance(ids, np.ndarray) or ids.dtype.kind not in "iu" or \
                arr.dtype.kind != "f" or axis not in (-1, arr.ndim - 1) or arr.shape[-1] < self.alphabet:
            return None
        pos = self.positions(ids)
        if pos is None or pos.size != np.size(result):
            return None
        plain = arr.view(np.ndarray)
        rows = {}
        if self.watch and ids.shape[-1] == 1 and arr.shape[:-1] == ids.shape[:-1]:
            flat = plain.reshape(-1, arr.shape[-1])
            rows = self.rows_at(pos, lambda k: flat[k])
        return Tag(pos.reshape(np.shape(result)), source_nll(_plain(result), plain.min(), plain.max()), rows)

    def _joined(self, name: str, args: tuple, kwargs: dict) -> Tag | None:
        parts = list(args[0])
        tags = [self.tag_of(t) for t in parts]
        if all(t is None for t in tags):
            return None
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        join = np.stack if name == "stack" else np.concatenate
        pos = join([t.pos if t is not None else np.full(tuple(x.shape), -1) for t, x in zip(tags, parts)], axis=dim)
        src = join([t.src if t is not None else np.full(tuple(x.shape), np.nan) for t, x in zip(tags, parts)], axis=dim)
        return Tag(pos, src, merge_rows(tags))

    def _lookup(self, name: str, args: tuple, kwargs: dict, result: Any) -> None:
        """``gather`` / ``take_along_dim`` of target ids from rows over the alphabet: a score source."""
        src = args[0] if args else kwargs.get("input")
        first, second = ("dim", "index") if name == "gather" else ("indices", "dim")
        dim, index = args[1] if len(args) > 1 else kwargs.get(first), args[2] if len(args) > 2 else kwargs.get(second)
        if name != "gather":
            dim, index = index, dim
        if not isinstance(src, torch.Tensor) or not isinstance(index, torch.Tensor) or not src.is_floating_point() \
                or not isinstance(result, torch.Tensor) or dim not in (-1, src.ndim - 1) or src.shape[-1] < self.alphabet:
            return
        pos = self.positions(index)
        if pos is None or pos.size != result.numel():
            return
        pos = pos.reshape(tuple(result.shape))
        rows = {}
        if self.watch & set(pos.reshape(-1).tolist()) and index.shape[-1] == 1 and src.shape[:-1] == index.shape[:-1]:
            flat = src.detach().reshape(-1, src.shape[-1])
            rows = self.rows_at(pos.reshape(-1), lambda i: flat[i].double().cpu().numpy())
        whole = src.detach()
        nll = source_nll(result.detach().double().cpu().numpy(), float(whole.min()), float(whole.max()))
        self._tag(result, Tag(pos, nll, rows))

    def rows_at(self, pos: np.ndarray, row: Any) -> dict[int, np.ndarray]:
        """Rows at the watched positions, as log-probabilities (None for rows that are neither)."""
        out = {}
        for t in self.watch:
            hit = np.flatnonzero(pos == t)
            if hit.size:
                r = as_log_probs(row(int(hit[0])))
                if r is not None:
                    out[t] = r
        return out

    def _ce_rows(self, func: Any, args: tuple, kwargs: dict, pos: np.ndarray) -> dict[int, np.ndarray]:
        watched = [t for t in self.watch if (pos == t).any()]
        return {int(t): np.asarray(r) for t, r in self._rows(func, args, kwargs, pos.reshape(-1), watched).items()} \
            if watched else {}

    def accumulate(self, values: np.ndarray, tag: Tag) -> None:
        """A sum over every element of a tagged tensor/array: the scores it adds up, one ACC event."""
        pos, vals = tag.pos.reshape(-1), np.asarray(values, dtype=np.float64).reshape(-1)
        keep = pos >= 0
        if not keep.any() or pos.size != vals.size:
            return
        extra = {}
        src = tag.src.reshape(-1)[keep]
        derived = ~(np.abs(vals[keep] - src) <= 1e-4 * np.maximum(1.0, np.abs(src)))  # NaN: unknown, derived
        if derived.any():
            extra["derived"] = ranges(pos[keep][derived])
        rows = {}
        for t, row in tag.rows.items():
            hit = np.flatnonzero(pos == t)
            # the row is the scored distribution only if the reported value is read off it
            if hit.size and abs(vals[hit[0]] + row[int(self.stream[t])]) <= 1e-4:
                rows[str(t)] = row.tolist()
        if rows:
            extra["rows"] = rows
        self.record("ACC", pos=pos[keep].tolist(), nll=vals[keep].tolist(), **extra)

    def _score(self, func: Any, args: tuple, kwargs: dict, target: torch.Tensor, pos: np.ndarray) -> None:
        kw = dict(kwargs)
        kw["reduction"] = "none"
        with torch.no_grad():
            per = func(*args, **kw).detach().to(torch.float64).reshape(-1).cpu().numpy()
        ignore = kwargs.get("ignore_index", -100)
        tgt = target.detach().reshape(-1).cpu().numpy()
        keep = (pos >= 0) & (tgt != ignore)
        if per.size != pos.size:
            return
        grad = torch.is_grad_enabled()
        if grad:
            self.pending_bwd.update(int(p) for p in pos[keep])
        self.score_events += 1
        extra = {}
        watched = [int(t) for t in self.watch if t in set(pos[keep].tolist())]
        if watched:
            extra["rows"] = self._rows(func, args, kwargs, pos, watched)
        self.record("SCORE", fn=func.__name__, grad=grad, pos=pos[keep].tolist(), nll=per[keep].tolist(),
                    red=str(kwargs.get("reduction", "mean")), **extra)

    def _rows(self, func: Any, args: tuple, kwargs: dict, pos: np.ndarray, watched: list[int]) -> dict[str, list[float]]:
        """The full row the call normalized over at watched positions (log-softmax for CE, raw for NLL)."""
        inp = args[0] if args else kwargs["input"]
        with torch.no_grad():
            x = inp.detach().float()
            x = x.movedim(1, -1) if x.ndim > 2 else x.reshape(-1, x.shape[-1]) if x.ndim == 2 else x[None]
            x = x.reshape(-1, x.shape[-1])
            if func is _CE:
                x = torch.log_softmax(x, dim=-1)
        out = {}
        for t in watched:
            i = int(np.flatnonzero(pos == t)[0])
            if i < x.shape[0]:
                out[str(t)] = x[i].double().tolist()
        return out

    def fwd_pre(self, module: torch.nn.Module, inputs: tuple) -> None:
        depth = getattr(self.depth, "n", 0)
        self.depth.n = depth + 1
        if depth:
            return
        self.fwd_seq += 1
        self.modules.setdefault(id(module), weakref.ref(module))
        self._check_update(module)
        found: list[np.ndarray] = []
        for a in inputs:
            pos = self.positions(a)
            if pos is not None:
                found.append(pos[pos >= 0])
        if not found:
            return
        pos = np.concatenate(found)
        grad = torch.is_grad_enabled()
        if grad:
            self.pending_bwd.update(int(p) for p in pos)
        pids = {id(p) for p in module.parameters()}
        oids = sorted(oid for oid, params in self.opt_params.items() if params & pids)
        self.record("FWD", pos=ranges(pos), grad=grad, inference=torch.is_inference_mode_enabled(),
                    training=bool(module.training), module=type(module).__name__, mid=id(module),
                    ver=_version(module), oids=oids)
        self.current_fwd_pos = pos

    def fwd_post(self, module: torch.nn.Module, inputs: tuple, output: Any) -> None:
        self.depth.n = max(getattr(self.depth, "n", 1) - 1, 0)
        if self.depth.n == 0:
            self.current_fwd_pos = None

    def _check_update(self, module: torch.nn.Module) -> None:
        """Parameters changed since this module's last forward with no optimizer step: a manual update."""
        version = _version(module)
        if version is None:
            return
        key = id(module)
        before = self.versions.get(key)
        self.versions[key] = version
        if before is not None and version != before and not self.step_since_fwd and self.pending_step:
            self.record("UPDATE", pos=ranges(np.fromiter(self.pending_step, dtype=np.int64)))
            self.pending_step.clear()
        self.step_since_fwd = False

    def backward(self) -> None:
        if self.pending_bwd:
            self.pending_step.update(self.pending_bwd)
            self.record("BWD", pos=ranges(np.fromiter(self.pending_bwd, dtype=np.int64)))
            self.pending_bwd = set()

    def step(self, optimizer: Any, *args: Any) -> None:
        self.step_since_fwd = True
        oid = self._watch(optimizer) if self.pending_step else None
        extra = {}
        if oid is not None:  # the weights of every module run so far, to show later what this step reached
            extra["mods"] = {str(k): _version(m) for k, ref in self.modules.items() if (m := ref()) is not None}
        self.record("STEP", pos=ranges(np.fromiter(self.pending_step, dtype=np.int64)), opt=type(optimizer).__name__,
                    oid=oid, **extra)
        self.pending_step.clear()

    def _watch(self, optimizer: Any) -> int:
        """Number an optimizer that steps on val ids and note when all its parameters are freed."""
        oid = self.optimizers.get(optimizer)
        if oid is None:
            oid = self.optimizers[optimizer] = self.next_oid
            self.next_oid += 1
            params = [p for group in optimizer.param_groups for p in group["params"]]
            self.opt_params[oid] = {id(p) for p in params}
            alive = {"n": len(params)}

            def gone() -> None:
                alive["n"] -= 1
                if alive["n"] == 0:
                    self.freed.append(oid)

            for p in params:
                weakref.finalize(p, gone)
        return oid

    def user_hook_fired(self) -> None:
        pos = getattr(self, "current_fwd_pos", None)
        if pos is not None and self.calib_fwd != self.fwd_seq:
            self.calib_fwd = self.fwd_seq
            self.record("CALIB", pos=ranges(pos))


def _version(module: torch.nn.Module) -> int | None:
    """The sum of a module's parameter version counters: it changes whenever any weight is written."""
    try:
        return sum(p._version for p in module.parameters())
    except Exception:
        return None


def _wrap_hook_registration(tape: Tape) -> None:
    nn = torch.nn.Module
    for name in ("register_forward_hook", "register_forward_pre_hook"):
        original = getattr(nn, name)

        def register(self, hook, *args, _original=original, **kwargs):
            def wrapped(*hargs, **hkwargs):
                tape.user_hook_fired()
                return hook(*hargs, **hkwargs)

            return _original(self, wrapped, *args, **kwargs)

        setattr(nn, name, register)


class _LineTap:
    """A text stream proxy that reports complete lines to the tape."""

    def __init__(self, stream: Any, tape: Tape) -> None:
        self._stream, self._tape, self._buf = stream, tape, ""

    def write(self, s: str) -> int:
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self._tape.log_line(line)
        return self._stream.write(s)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def install(config: dict) -> Tape:
    global _TAPE
    tape = _TAPE = Tape(config)
    pgcuda.TAPS.append(tape.on_torch)
    torch.nn.modules.module.register_module_forward_pre_hook(tape.fwd_pre)
    torch.nn.modules.module.register_module_forward_hook(tape.fwd_post, always_call=True)
    _optimizer.register_optimizer_step_pre_hook(tape.step)
    _wrap_hook_registration(tape)

    original_backward = torch.autograd.backward
    original_grad = torch.autograd.grad

    def backward(*args: Any, **kwargs: Any) -> Any:
        tape.backward()
        return original_backward(*args, **kwargs)

    def grad(*args: Any, **kwargs: Any) -> Any:
        tape.backward()
        return original_grad(*args, **kwargs)

    torch.autograd.backward = backward
    torch.autograd.grad = grad
    original_fromfile = np.fromfile

    def fromfile(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)):
            tape.record("READ", path=os.fspath(file))
        return original_fromfile(file, *args, **kwargs)

    np.fromfile = fromfile
    original_from_numpy = torch.from_numpy

    def from_numpy(arr: Any) -> torch.Tensor:  # not a torch function: the mode never sees it
        out = original_from_numpy(arr)
        if isinstance(arr, Scored) and arr.tag is not None:
            tape._tag(out, arr.tag)
        return out

    torch.from_numpy = from_numpy
    sys.stdout = _LineTap(sys.stdout, tape)
    sys.stderr = _LineTap(sys.stderr, tape)
    return tape


def record_exception(tape: Tape, exc: BaseException) -> None:
    frames = traceback.extract_tb(exc.__traceback__)
    line, file = 0, ""
    for fr in frames:
        if os.path.realpath(fr.filename) in tape.code_files:
            line, file = fr.lineno, os.path.basename(fr.filename)
    tape.record("EXC", type=type(exc).__name__, msg=str(exc)[:500], at_file=file, at_line=line,
                tb="".join(traceback.format_exception(exc))[-3000:])
