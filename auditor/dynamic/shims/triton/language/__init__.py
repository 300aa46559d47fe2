"""``triton.language`` on torch blocks, for the CPU stand-in's kernel launches.

A block is a torch tensor; a pointer is a flat view of a tensor's memory plus element offsets (so
``ptr + row * stride + cols`` and masked ``load``/``store`` address memory as on the GPU); dtypes are
torch dtypes, so ``x.to(tl.float32)`` is torch's own cast; ``program_id`` comes from the launch loop in
``triton``. Reductions over half-precision blocks and ``dot`` accumulate in float32, as Triton does.
An op not defined here raises ``KernelUnavailable`` when a kernel calls it.
"""

from __future__ import annotations

import builtins
import contextlib
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from triton import MARK, KernelUnavailable

float16, bfloat16, float32, float64 = torch.float16, torch.bfloat16, torch.float32, torch.float64
int1, int8, int16, int32, int64, uint8 = torch.bool, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8
float8e4nv, float8e5 = torch.float8_e4m3fn, torch.float8_e5m2
dtype = torch.dtype
tensor = torch.Tensor
_HALF = (torch.float16, torch.bfloat16)


class constexpr:
    """``BLOCK: tl.constexpr`` annotates a launch-time constant; ``tl.constexpr(v)`` is ``v`` itself."""

    def __new__(cls, value: Any = None) -> Any:
        return value


class _State:
    kernel = ""
    pid: tuple[int, int, int] = (0, 0, 0)
    grid: tuple[int, int, int] = (1, 1, 1)


@contextlib.contextmanager
def launch_context(kernel: str, grid: tuple[int, int, int], args: Sequence[Any]) -> Iterator[None]:
    """Kernels write memory directly: no autograd, and inference-mode tensors stay writable."""
    _State.kernel, _State.grid = kernel, grid
    tensors = [a.base if isinstance(a, _Descriptor) else a for a in args]
    inference = any(isinstance(t, torch.Tensor) and t.is_inference() for t in tensors)
    with torch.inference_mode() if inference else torch.no_grad():
        try:
            yield
        except KernelUnavailable:
            raise
        except Exception as exc:  # a kernel the stand-in mis-evaluates must not look like the script's own bug
            raise KernelUnavailable(f"{MARK} {kernel!r} failed in the CPU stand-in: {type(exc).__name__}: {exc}") from exc


def enter_program(pid: tuple[int, int, int]) -> None:
    _State.pid = pid


class _PointerType:
    def __init__(self, element_ty: torch.dtype) -> None:
        self.element_ty = element_ty


def pointer_type(element_ty: torch.dtype) -> _PointerType:
    return _PointerType(element_ty)


class Pointer:
    """``base`` is a 1-D view of the memory from the tensor's first element on; ``offs`` counts elements."""

    __slots__ = ("base", "offs")

    def __init__(self, base: torch.Tensor, offs: Any = 0) -> None:
        self.base, self.offs = base, offs

    @classmethod
    def to_tensor(cls, t: torch.Tensor) -> "Pointer":
        start = t.storage_offset()
        size = t.untyped_storage().nbytes() // t.element_size() - start
        return cls(t.as_strided((size,), (1,), start))

    @property
    def dtype(self) -> _PointerType:
        return _PointerType(self.base.dtype)

    def __add__(self, other: Any) -> "Pointer":
        return Pointer(self.base, self.offs + other)

    __radd__ = __add__

    def __sub__(self, other: Any) -> "Pointer":
        return Pointer(self.base, self.offs - other)

    def offsets(self) -> torch.Tensor:
        return torch.as_tensor(self.offs).to(torch.int64)


def argument(value: Any) -> Any:
    """A launch argument as the kernel body sees it: tensors become pointers to their first element."""
    return Pointer.to_tensor(value) if isinstance(value, torch.Tensor) else value


def _t(x: Any) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x)


def _pointer(p: Any, op: str) -> Pointer:
    if not isinstance(p, Pointer):
        raise KernelUnavailable(f"{MARK} {_State.kernel!r}: tl.{op} on {type(p).__name__} is not available in the CPU stand-in")
    return p


# ---- program and memory ------------------------------------------------------------------------------


def program_id(axis: int) -> torch.Tensor:
    return torch.tensor(_State.pid[axis], dtype=torch.int32)


def num_programs(axis: int) -> torch.Tensor:
    return torch.tensor(_State.grid[axis], dtype=torch.int32)


def load(pointer: Any, mask: Any = None, other: Any = None, **hints: Any) -> torch.Tensor:
    p = _pointer(pointer, "load")
    offs = p.offsets()
    if mask is None:
        return p.base[offs]
    offs, m = torch.broadcast_tensors(offs, _t(mask).to(torch.bool))
    values = p.base[torch.where(m, offs, 0)]
    return torch.where(m, values, torch.as_tensor(0 if other is None else other, dtype=values.dtype))


def _targets(pointer: Any, value: Any, mask: Any, op: str) -> tuple[Pointer, torch.Tensor, torch.Tensor]:
    p = _pointer(pointer, op)
    v = _t(value).to(p.base.dtype)
    if mask is None:
        offs, v = torch.broadcast_tensors(p.offsets(), v)
        return p, offs, v
    offs, v, m = torch.broadcast_tensors(p.offsets(), v, _t(mask).to(torch.bool))
    return p, offs[m], v[m]


def store(pointer: Any, value: Any, mask: Any = None, **hints: Any) -> None:
    p, offs, v = _targets(pointer, value, mask, "store")
    p.base[offs] = v


def _atomic(reduce: str) -> Callable[..., torch.Tensor]:
    def atomic(pointer: Any, val: Any, mask: Any = None, sem: Any = None, scope: Any = None) -> torch.Tensor:
        old = load(pointer, mask)
        p, offs, v = _targets(pointer, val, mask, f"atomic_{reduce}")
        if reduce == "add":
            p.base.index_add_(0, offs.reshape(-1), v.reshape(-1))
        else:
            p.base.index_reduce_(0, offs.reshape(-1), v.reshape(-1), "a" + reduce, include_self=True)
        return old

    return atomic


atomic_add, atomic_max, atomic_min = _atomic("add"), _atomic("max"), _atomic("min")


class _Descriptor:
    """A TMA tensor descriptor: ``load``/``store`` move one block at integer offsets; out-of-bounds
    parts of a loaded block are zero and of a stored block are dropped, as with TMA."""

    def __init__(self, base: torch.Tensor, shape: Sequence[int], strides: Sequence[int], block_shape: Sequence[int],
                 storage_offset: int | None = None) -> None:
        self.base = base
        start = base.storage_offset() if storage_offset is None else storage_offset
        self.view = base.as_strided([int(s) for s in shape], [int(s) for s in strides], start)
        self.block_shape = [int(b) for b in block_shape]

    def _slices(self, offsets: Sequence[Any]) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
        src, dst = [], []
        for o, b, n in zip((int(o) for o in offsets), self.block_shape, self.view.shape):
            lo, hi = builtins.max(o, 0), builtins.min(o + b, n)
            if hi <= lo:
                return None
            src.append(slice(lo, hi))
            dst.append(slice(lo - o, hi - o))
        return tuple(src), tuple(dst)

    def load(self, offsets: Sequence[Any]) -> torch.Tensor:
        block = torch.zeros(self.block_shape, dtype=self.view.dtype)
        if (s := self._slices(offsets)) is not None:
            block[s[1]] = self.view[s[0]]
        return block

    def store(self, offsets: Sequence[Any], value: torch.Tensor) -> None:
        if (s := self._slices(offsets)) is not None:
            self.view[s[0]] = _t(value).to(self.view.dtype)[s[1]]


def make_tensor_descriptor(base: Any, shape: Sequence[int], strides: Sequence[int], block_shape: Sequence[int]) -> _Descriptor:
    p = _pointer(base, "make_tensor_descriptor")
    return _Descriptor(p.base, shape, strides, block_shape, p.base.storage_offset() + int(p.offs))


# ---- block construction and shape --------------------------------------------------------------------


def arange(start: int, end: int) -> torch.Tensor:
    return torch.arange(int(start), int(end), dtype=torch.int32)


def zeros(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    return torch.zeros([int(s) for s in shape], dtype=dtype)


def full(shape: Sequence[int], value: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.full([int(s) for s in shape], float(value) if dtype.is_floating_point else int(value), dtype=dtype)


def zeros_like(x: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(x)


def _dims(dims: tuple) -> list[int]:
    return [int(d) for d in (dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)]


def reshape(x: torch.Tensor, *shape: Any, can_reorder: bool = False) -> torch.Tensor:
    return _t(x).reshape(_dims(shape))


view = reshape


def permute(x: torch.Tensor, *dims: Any) -> torch.Tensor:
    return x.permute(_dims(dims))


def trans(x: torch.Tensor, *dims: Any) -> torch.Tensor:
    return x.permute(_dims(dims)) if dims else x.transpose(-1, -2)


def split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., 0], x[..., 1]


def join(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.stack(torch.broadcast_tensors(_t(a), _t(b)), dim=-1)


def interleave(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    joined = join(a, b)
    return joined.reshape(*joined.shape[:-2], -1)


def expand_dims(x: Any, axis: int | Sequence[int]) -> torch.Tensor:
    out = _t(x)
    for a in sorted(axis) if isinstance(axis, (tuple, list)) else [axis]:
        out = out.unsqueeze(int(a))
    return out


def broadcast_to(x: Any, *shape: Any) -> torch.Tensor:
    return _t(x).expand(_dims(shape))


def broadcast(a: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.broadcast_tensors(_t(a), _t(b))  # type: ignore[return-value]


def ravel(x: torch.Tensor, can_reorder: bool = False) -> torch.Tensor:
    return x.reshape(-1)


def cast(x: Any, dtype: torch.dtype, fp_downcast_rounding: Any = None, bitcast: bool = False) -> torch.Tensor:
    return _t(x).view(dtype) if bitcast else _t(x).to(dtype)


# ---- arithmetic -----------------------------------------------------------------------------------------


def cdiv(a: Any, b: Any) -> Any:
    return (a + b - 1) // b


def where(condition: Any, x: Any, y: Any) -> torch.Tensor:
    return torch.where(_t(condition).to(torch.bool), x, y)


def maximum(a: Any, b: Any, propagate_nan: Any = None) -> torch.Tensor:
    return torch.maximum(_t(a), _t(b))


def minimum(a: Any, b: Any, propagate_nan: Any = None) -> torch.Tensor:
    return torch.minimum(_t(a), _t(b))


def clamp(x: Any, min: Any, max: Any, propagate_nan: Any = None) -> torch.Tensor:
    return minimum(maximum(x, min), max)


def fma(a: Any, b: Any, c: Any) -> torch.Tensor:
    return _t(a) * b + c


def _float(x: Any) -> torch.Tensor:
    x = _t(x)
    return x if x.is_floating_point() else x.to(torch.float32)


def _unary(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    return lambda x, **kwargs: fn(_float(x))


exp, exp2, log, log2 = _unary(torch.exp), _unary(torch.exp2), _unary(torch.log), _unary(torch.log2)
sqrt, sqrt_rn, rsqrt = _unary(torch.sqrt), _unary(torch.sqrt), _unary(torch.rsqrt)
sigmoid, cos, sin, erf = _unary(torch.sigmoid), _unary(torch.cos), _unary(torch.sin), _unary(torch.erf)
floor, ceil = _unary(torch.floor), _unary(torch.ceil)


def abs(x: Any) -> torch.Tensor:
    return torch.abs(_t(x))


def fdiv(x: Any, y: Any, ieee_rounding: bool = False) -> torch.Tensor:
    return _float(x) / y


div_rn = fdiv


def dot(a: torch.Tensor, b: torch.Tensor, acc: torch.Tensor | None = None, input_precision: Any = None,
        allow_tf32: Any = None, max_num_imprecise_acc: Any = None, out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    if a.is_floating_point():
        out = (a.to(torch.float32) @ b.to(torch.float32)).to(out_dtype)
    else:
        out = (a.to(torch.int64) @ b.to(torch.int64)).to(torch.int32)
    return out if acc is None else acc + out


# ---- reductions -----------------------------------------------------------------------------------------


def _widen(x: Any) -> torch.Tensor:
    x = _t(x)
    return x.to(torch.float32) if x.dtype in _HALF else x


def _reduce(x: Any, axis: Any, keep_dims: bool, fn: Callable[..., torch.Tensor]) -> torch.Tensor:
    x = _t(x)
    if axis is None:
        out = fn(x.reshape(-1), 0)
        return out.reshape([1] * x.dim()) if keep_dims else out
    return fn(x, int(axis), keep_dims)


def sum(x: Any, axis: Any = None, keep_dims: bool = False, dtype: torch.dtype | None = None) -> torch.Tensor:
    return _reduce(_widen(x) if dtype is None else _t(x).to(dtype), axis, keep_dims,
                   lambda t, d, k=False: t.sum(dim=d, keepdim=k))


def _extremum(largest: bool) -> Callable[..., Any]:
    def extremum(x: Any, axis: Any = None, return_indices: bool = False, return_indices_tie_break_left: bool = True,
                 keep_dims: bool = False) -> Any:
        op = torch.max if largest else torch.min
        values = _reduce(x, axis, keep_dims, lambda t, d, k=False: op(t, dim=d, keepdim=k).values)
        if not return_indices:
            return values
        return values, _reduce(x, axis, keep_dims, lambda t, d, k=False: op(t, dim=d, keepdim=k).indices.to(torch.int32))

    return extremum


max, min = _extremum(True), _extremum(False)


def argmax(x: Any, axis: int, tie_break_left: bool = True, keep_dims: bool = False) -> torch.Tensor:
    return max(x, axis, return_indices=True, keep_dims=keep_dims)[1]


def argmin(x: Any, axis: int, tie_break_left: bool = True, keep_dims: bool = False) -> torch.Tensor:
    return min(x, axis, return_indices=True, keep_dims=keep_dims)[1]


def cumsum(x: Any, axis: int = 0, reverse: bool = False) -> torch.Tensor:
    x = _widen(x)
    return x.flip(axis).cumsum(axis).flip(axis) if reverse else x.cumsum(axis)


# ---- compile-time helpers: no effect on values ---------------------------------------------------------


def range(start: Any, stop: Any = None, step: Any = 1, **hints: Any) -> builtins.range:
    return builtins.range(int(start)) if stop is None else builtins.range(int(start), int(stop), int(step))


static_range = range


def multiple_of(x: Any, values: Any) -> Any:
    return x


max_contiguous = max_constancy = multiple_of


def static_assert(condition: Any, msg: str = "") -> None:
    assert condition, msg


def device_assert(condition: Any, msg: str = "", mask: Any = None) -> None:
    assert bool(_t(condition).all()), msg


def static_print(*args: Any, **kwargs: Any) -> None:
    return None


device_print = debug_barrier = static_print

math = types.SimpleNamespace(exp=exp, exp2=exp2, log=log, log2=log2, sqrt=sqrt, sqrt_rn=sqrt_rn, rsqrt=rsqrt,
                             sigmoid=sigmoid, cos=cos, sin=sin, erf=erf, floor=floor, ceil=ceil, abs=abs,
                             fdiv=fdiv, div_rn=div_rn, fma=fma, max=maximum, min=minimum, cdiv=cdiv)


class _Missing:
    """An op this stand-in lacks: harmless at definition time, named when a kernel calls it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, name: str) -> "_Missing":
        return _Missing(f"{self.name}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise KernelUnavailable(f"{MARK} {_State.kernel!r}: tl.{self.name} is not available in the CPU stand-in")


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return _Missing(name)
