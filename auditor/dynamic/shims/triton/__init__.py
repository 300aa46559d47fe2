"""Stand-in for ``triton`` on a CPU: a kernel launch runs the kernel's own Python body once per program
of its grid, with ``triton.language`` ops evaluated on torch blocks (see ``triton.language``).

Triton's own interpreter (``TRITON_INTERPRET=1``) needs the 290 MB GPU wheel and, measured on a record's
TMA matmul kernel, left its outputs unwritten on CPU tensors; this stand-in covers the ops the challenge's
kernels use and nothing else. A kernel that needs an op it lacks raises ``KernelUnavailable`` naming the
op, which the sandbox reports as the reason its probes are INCONCLUSIVE — never a silent wrong value.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from typing import Any

__version__ = "0.0.0-pgolf-cpu"
MARK = "pgolf-shim: custom Triton kernel"


class KernelUnavailable(RuntimeError):
    pass


class Config:
    def __init__(self, kwargs: dict[str, Any] | None = None, num_warps: int = 4, num_stages: int = 2,
                 num_ctas: int = 1, pre_hook: Callable | None = None, **options: Any) -> None:
        self.kwargs = dict(kwargs or {})
        self.num_warps, self.num_stages, self.num_ctas, self.pre_hook = num_warps, num_stages, num_ctas, pre_hook

    def all_kwargs(self) -> dict[str, Any]:
        return dict(self.kwargs)


class _Kernel:
    """A ``@triton.jit`` function: ``kernel[grid](*args)`` launches it; a plain call (one jitted
    function calling another inside a kernel) runs the body directly."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "kernel")
        self.__wrapped__ = fn
        self.signature = inspect.signature(fn)
        self.config: dict[str, Any] = {}  # the first autotune config: CPU timings would not pick a better one
        self.heuristics: dict[str, Callable[[dict[str, Any]], Any]] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __getitem__(self, grid: Any) -> Callable[..., None]:
        return lambda *args, **kwargs: self.launch(grid, args, kwargs)

    def run(self, *args: Any, grid: Any, **kwargs: Any) -> None:
        self.launch(grid, args, kwargs)

    def launch(self, grid: Any, args: tuple, kwargs: dict[str, Any]) -> None:
        from triton import language as tl

        params = self.signature.parameters
        # launch options (num_warps, num_stages, ...) tune GPU scheduling only
        positional = set(list(params)[: len(args)])
        given = {k: v for k, v in {**self.config, **kwargs}.items() if k in params and k not in positional}
        known = self.signature.bind_partial(*args, **given).arguments
        for name, rule in self.heuristics.items():
            given.setdefault(name, rule(dict(known)))
        bound = self.signature.bind(*args, **given)
        bound.apply_defaults()
        meta = dict(bound.arguments)
        shape = grid(meta) if callable(grid) else grid
        shape = tuple(int(g) for g in (shape if isinstance(shape, (tuple, list)) else (shape,)))
        shape = (shape + (1, 1, 1))[:3]
        values = {k: tl.argument(v) for k, v in meta.items()}
        with tl.launch_context(self.__name__, shape, list(meta.values())):
            for pid in itertools.product(*(range(n) for n in shape)):
                tl.enter_program(pid)
                self.fn(**values)


def jit(fn: Any = None, **kwargs: Any) -> Any:
    return _Kernel(fn) if fn is not None else _Kernel


def autotune(configs: list[Config] | None = None, key: Any = None, **kwargs: Any) -> Callable[[Any], _Kernel]:
    def wrap(kernel: Any) -> _Kernel:
        kernel = kernel if isinstance(kernel, _Kernel) else _Kernel(kernel)
        if configs:
            kernel.config = configs[0].all_kwargs()
        return kernel

    return wrap


def heuristics(values: dict[str, Callable[[dict[str, Any]], Any]]) -> Callable[[Any], _Kernel]:
    def wrap(kernel: Any) -> _Kernel:
        kernel = kernel if isinstance(kernel, _Kernel) else _Kernel(kernel)
        kernel.heuristics.update(values)
        return kernel

    return wrap


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def next_power_of_2(n: int) -> int:
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


class _Any:
    """Attribute sink for host-side helpers used at definition time (``triton.runtime``, ``triton.testing``)."""

    def __getattr__(self, name: str) -> "_Any":
        return _Any()

    def __call__(self, *args: Any, **kwargs: Any) -> "_Any":
        return _Any()

    def __getitem__(self, item: Any) -> "_Any":
        return _Any()


def __getattr__(name: str) -> Any:
    return _Any()
