"""The event tape, recorded inside the child.

Every event carries a sequence number, a timestamp and the submission line responsible (the
innermost frame in a submission file). Val positions come from the content-addressable stream
(``valindex``): an id tensor the code touches is mapped back to the stream positions it holds.

Kinds: READ/WRITE/OUTSIDE/NET/SUBPROC/FORK (from ``pgguard``), LOG (a printed line), FWD (outermost
module forward on val ids), SCORE (per-token NLL of a cross-entropy / NLL call on val targets), BWD,
STEP (optimizer step), UPDATE (parameters changed without an optimizer step), CALIB (a user forward
hook fired on val ids), EXC (the exception that ended the run), END.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import traceback
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
_SAME_SHAPE = {"to", "float", "double", "detach", "contiguous", "clone", "cpu", "type", "__neg__"}


def ranges(pos: np.ndarray) -> list[list[int]]:
    """Sorted unique positions as inclusive ``[a, b]`` runs (compact on the tape)."""
    if pos.size == 0:
        return []
    u = np.unique(pos)
    cuts = np.flatnonzero(np.diff(u) != 1)
    starts = np.concatenate([[0], cuts + 1])
    ends = np.concatenate([cuts, [u.size - 1]])
    return [[int(u[a]), int(u[b])] for a, b in zip(starts, ends)]


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
        self.metric_logs = 0
        self.score_events = 0
        self.versions: dict[int, int] = {}
        self.step_since_fwd = False
        self.calib_fwd = -1
        self.fwd_seq = 0
        self.listeners: list[Any] = []  # called after every event (the fork plan)
        self.tags: dict[int, tuple[np.ndarray, Any]] = {}  # id(per-token NLL tensor) -> its target positions
        self.watch: set[int] = {int(t) for t in (config.get("fork") or {}).get("watch", [])}

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
        pos = self.index.positions(arr).reshape(-1)
        return pos if (pos >= 0).any() else None

    def record(self, kind: str, **data: Any) -> dict:
        with self.lock:
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
                    self._tag(result, self._target_positions(target, pos, kwargs).reshape(result.shape))
        elif self.tags and args and isinstance(args[0], torch.Tensor) and id(args[0]) in self.tags:
            self._follow(func, args, kwargs, result)
        return result

    # -- accumulation tap: follow per-token NLL tensors through slicing and casts to their sums ----------
    def _target_positions(self, target: torch.Tensor, pos: np.ndarray, kwargs: dict) -> np.ndarray:
        tgt = target.detach().reshape(-1).cpu().numpy()
        return np.where(tgt == kwargs.get("ignore_index", -100), -1, pos)

    def _tag(self, t: torch.Tensor, pos: np.ndarray) -> None:
        import weakref

        key = id(t)
        self.tags[key] = (pos, weakref.ref(t, lambda _r, k=key: self.tags.pop(k, None)))

    def _follow(self, func: Any, args: tuple, kwargs: dict, result: Any) -> None:
        pos = self.tags[id(args[0])][0]
        name = getattr(func, "__name__", "")
        try:
            if name == "__getitem__":
                index = args[1]
                index = tuple(i.cpu().numpy() if isinstance(i, torch.Tensor) else i for i in index) if isinstance(index, tuple) \
                    else (index.cpu().numpy() if isinstance(index, torch.Tensor) else index)
                out = pos[index]
            elif name in _SAME_SHAPE:
                out = pos
            elif name in ("reshape", "view", "flatten", "squeeze", "unsqueeze", "ravel"):
                out = pos.reshape(result.shape)
            elif name == "sum" and len(args) == 1 and not kwargs.get("dim"):
                values = args[0].detach().to(torch.float64).reshape(-1).cpu().numpy()
                keep = pos.reshape(-1) >= 0
                self.record("ACC", pos=pos.reshape(-1)[keep].tolist(), nll=values[keep].tolist())
                return
            else:
                return
        except (IndexError, ValueError, TypeError, RuntimeError):
            return
        if isinstance(result, torch.Tensor) and np.shape(out) == tuple(result.shape):
            self._tag(result, np.asarray(out))

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
        self.record("FWD", pos=ranges(pos), grad=grad, inference=torch.is_inference_mode_enabled(),
                    training=bool(module.training), module=type(module).__name__)
        self.current_fwd_pos = pos

    def fwd_post(self, module: torch.nn.Module, inputs: tuple, output: Any) -> None:
        self.depth.n = max(getattr(self.depth, "n", 1) - 1, 0)
        if self.depth.n == 0:
            self.current_fwd_pos = None

    def _check_update(self, module: torch.nn.Module) -> None:
        """Parameters changed since this module's last forward with no optimizer step: a manual update."""
        try:
            version = sum(p._version for p in module.parameters())
        except Exception:
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
        self.record("STEP", pos=ranges(np.fromiter(self.pending_step, dtype=np.int64)), opt=type(optimizer).__name__)
        self.pending_step.clear()

    def user_hook_fired(self) -> None:
        pos = getattr(self, "current_fwd_pos", None)
        if pos is not None and self.calib_fwd != self.fwd_seq:
            self.calib_fwd = self.fwd_seq
            self.record("CALIB", pos=ranges(pos))


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
    tape = Tape(config)
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
