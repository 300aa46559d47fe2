"""Stand-in for ``triton`` on a CPU: kernels can be defined and decorated, but launching one raises
``KernelUnavailable``, which the sandbox reports as the reason its probes are INCONCLUSIVE."""

from __future__ import annotations

from typing import Any

__version__ = "0.0.0-pgolf-cpu"
MARK = "pgolf-shim: custom Triton kernel"


class KernelUnavailable(RuntimeError):
    pass


class _Kernel:
    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "kernel")
        self.__wrapped__ = fn

    def __getitem__(self, grid: Any) -> "_Kernel":
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise KernelUnavailable(f"{MARK} {self.__name__!r} cannot run on CPU (no fallback in the script)")

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return self(*args, **kwargs)


def jit(fn: Any = None, **kwargs: Any) -> Any:
    return _Kernel(fn) if fn is not None else (lambda f: _Kernel(f))


def autotune(*args: Any, **kwargs: Any) -> Any:
    return lambda f: f if isinstance(f, _Kernel) else _Kernel(f)


def heuristics(*args: Any, **kwargs: Any) -> Any:
    return autotune()


class Config:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.kwargs = kwargs


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def next_power_of_2(n: int) -> int:
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


class _Any:
    """Attribute sink for ``tl.constexpr``, dtypes and the like used at definition time."""

    def __getattr__(self, name: str) -> "_Any":
        return _Any()

    def __call__(self, *args: Any, **kwargs: Any) -> "_Any":
        return _Any()

    def __getitem__(self, item: Any) -> "_Any":
        return _Any()


def __getattr__(name: str) -> Any:
    return _Any()
