"""Make CUDA-only scripts run on the CPU: devices, ``torch.cuda`` queries, autocast, ``torch.compile``,
and ``torch.inference_mode`` (run as ``no_grad``, see :class:`inference_mode`).

A ``TorchFunctionMode`` rewrites every ``device=`` / ``.to(...)`` / ``.cuda()`` that names CUDA; the
same mode carries the tape's taps (``pgtape``) so there is one interception layer. The mode is pushed
in the main thread and in every thread the script starts.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import torch
from torch.overrides import TorchFunctionMode

_RealDevice = torch.device
CPU = _RealDevice("cpu")


def _is_cuda(dev: Any) -> bool:
    if isinstance(dev, str):
        return dev.startswith("cuda")
    if isinstance(dev, _RealDevice):
        return dev.type == "cuda"
    return False


def _map(dev: Any) -> Any:
    return CPU if _is_cuda(dev) else dev


class _DeviceMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _RealDevice)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], str) and args[0].startswith("cuda"):
            return CPU
        if kwargs.get("type", "").startswith("cuda") if isinstance(kwargs.get("type"), str) else False:
            return CPU
        if args and isinstance(args[0], _RealDevice):
            return _map(args[0])
        return _RealDevice(*args, **kwargs)


class device(metaclass=_DeviceMeta):  # noqa: N801 - replaces torch.device
    pass


#: extra taps called as ``tap(func, args, kwargs, result) -> result`` (set by pgtape)
TAPS: list[Callable[..., Any]] = []


class CpuMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if kwargs.get("pin_memory"):
            kwargs["pin_memory"] = False  # pinned host memory needs an accelerator
        if "device" in kwargs:
            kwargs["device"] = _map(kwargs["device"])
        if func is torch.Tensor.cuda or func is torch.Tensor.pin_memory:
            return args[0]
        if func is torch.Tensor.to:
            args = tuple(_map(a) for a in args)
            kwargs.pop("non_blocking", None)
        elif func is torch.Tensor.is_pinned:
            return False
        result = func(*args, **kwargs)
        for tap in TAPS:
            result = tap(func, args, kwargs, result)
        return result


MODE = CpuMode()


class _Event:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.t = None

    def record(self, *args: Any, **kwargs: Any) -> None:
        self.t = time.perf_counter()

    def synchronize(self) -> None:
        pass

    def query(self) -> bool:
        return True

    def wait(self, *args: Any, **kwargs: Any) -> None:
        pass

    def elapsed_time(self, other: "_Event") -> float:
        return 1000.0 * ((other.t or 0.0) - (self.t or 0.0))


class _Stream:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def wait_stream(self, *args: Any) -> None:
        pass

    def wait_event(self, *args: Any) -> None:
        pass

    def record_event(self, *args: Any) -> _Event:
        e = _Event()
        e.record()
        return e

    def __enter__(self) -> "_Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


class _Props:
    name = "NVIDIA H100 80GB HBM3 (pgolf CPU sandbox)"
    total_memory = 80 * 1024**3
    multi_processor_count = 132
    major, minor = 9, 0


def _install_cuda_module() -> None:
    c = torch.cuda
    fixed: dict[str, Any] = {
        "is_available": lambda: True,
        "device_count": lambda: 1,
        "current_device": lambda: 0,
        "set_device": lambda *a, **k: None,
        "synchronize": lambda *a, **k: None,
        "empty_cache": lambda: None,
        "is_initialized": lambda: True,
        "init": lambda: None,
        "is_bf16_supported": lambda *a, **k: True,
        "get_device_name": lambda *a, **k: _Props.name,
        "get_device_capability": lambda *a, **k: (9, 0),
        "get_device_properties": lambda *a, **k: _Props(),
        "mem_get_info": lambda *a, **k: (70 * 1024**3, 80 * 1024**3),
        "memory_allocated": lambda *a, **k: 0,
        "memory_reserved": lambda *a, **k: 0,
        "max_memory_allocated": lambda *a, **k: 0,
        "max_memory_reserved": lambda *a, **k: 0,
        "reset_peak_memory_stats": lambda *a, **k: None,
        "reset_max_memory_allocated": lambda *a, **k: None,
        "manual_seed": lambda *a, **k: None,
        "manual_seed_all": lambda *a, **k: None,
        "seed": lambda: None,
        "seed_all": lambda: None,
        "get_rng_state": lambda *a, **k: torch.get_rng_state(),
        "set_rng_state": lambda *a, **k: None,
        "get_rng_state_all": lambda: [torch.get_rng_state()],
        "set_rng_state_all": lambda *a, **k: None,
        "Event": _Event,
        "Stream": _Stream,
        "stream": lambda *a, **k: _Stream(),
        "current_stream": lambda *a, **k: _Stream(),
        "default_stream": lambda *a, **k: _Stream(),
        "device": lambda *a, **k: _Stream(),
        "nvtx": type("nvtx", (), {"range_push": staticmethod(lambda *a: None), "range_pop": staticmethod(lambda *a: None)}),
    }
    for name, value in fixed.items():
        setattr(c, name, value)
    c.memory.empty_cache = lambda: None


class autocast(torch.amp.autocast_mode.autocast):  # noqa: N801 - replaces torch.autocast
    def __init__(self, device_type: str = "cpu", dtype: Any = None, enabled: bool = True, cache_enabled: Any = None) -> None:
        if device_type == "cuda":
            device_type = "cpu"
        if dtype is None:
            dtype = torch.bfloat16
        super().__init__(device_type, dtype=dtype, enabled=enabled and dtype == torch.bfloat16, cache_enabled=cache_enabled)


def _cuda_autocast(*args: Any, **kwargs: Any) -> autocast:
    kwargs.pop("device_type", None)
    return autocast("cpu", *args, **kwargs)


def _compile(model: Any = None, *args: Any, **kwargs: Any) -> Any:
    # torch.compile as identity, in all three call forms: compile(f), compile(f, **kw), compile(**kw)(f)
    if model is None:
        return lambda m: m
    return model


_RealInferenceMode = torch.inference_mode
_real_is_inference_mode_enabled = torch.is_inference_mode_enabled
_INFERENCE = threading.local()


class inference_mode(_RealInferenceMode):  # noqa: N801 - replaces torch.inference_mode
    """``torch.inference_mode`` with ``no_grad`` semantics; ``is_inference_mode_enabled`` still answers.

    Why: the tiny configuration takes branches the real run never takes. The common case is a rotary
    table cached on the module: built under inference mode during an eval and reused by TTT training.
    At the real ``seq_len`` (2048, above the ``train_seq_len=1024`` the scripts hard-code) the table is
    rebuilt in float32 and ``.to(bfloat16)`` hands training a fresh normal tensor; at the tiny length it
    comes from the bf16 ``inv_freq`` buffer, ``.to(bfloat16)`` is a no-op, and autograd refuses the
    inference tensor itself. Inference mode computes the same values as ``no_grad``; it only adds checks
    that fire later (inference tensors in autograd, in-place updates outside the mode), so running it as
    ``no_grad`` changes no value a real run computes. As in torch, ``inference_mode(False)`` enables grad.
    """

    def __enter__(self) -> None:
        self._saved = (torch.is_grad_enabled(), getattr(_INFERENCE, "on", False))
        torch._C._set_grad_enabled(not self.mode)
        _INFERENCE.on = bool(self.mode)

    def __exit__(self, *exc: Any) -> None:
        grad, on = self._saved
        torch._C._set_grad_enabled(grad)
        _INFERENCE.on = on


def _is_inference_mode_enabled() -> bool:
    return getattr(_INFERENCE, "on", False) or _real_is_inference_mode_enabled()


def _push_mode_in_threads() -> None:
    start = threading.Thread.run

    def run(self: threading.Thread) -> None:
        with MODE:
            start(self)

    threading.Thread.run = run


def _skip_dynamo_disable() -> None:
    """torch wraps optimizer methods to import torch._dynamo (about 3 s) on first use just to disable
    compilation; with ``torch.compile`` an identity that is a no-op, so pre-seed the cached result."""
    import inspect

    import torch.optim.optimizer as optimizer_module

    classes = {c for m in (torch.optim, optimizer_module) for c in vars(m).values()
               if inspect.isclass(c) and issubclass(c, torch.optim.Optimizer)}
    for cls in classes:
        for attr in vars(cls).values():
            fn = getattr(attr, "__wrapped__", None)
            code = getattr(attr, "__code__", None)
            if callable(fn) and code is not None and code.co_name == "inner" and "torch/_compile" in code.co_filename:
                fn.__dynamo_disable = fn


def _noop_dynamo_reset() -> None:
    """``torch._dynamo.reset()`` would import inductor, which imports triton and meets the stand-in;
    with ``torch.compile`` an identity there is nothing to reset."""
    import importlib.abc
    import importlib.util
    import sys

    def patch(module: Any) -> None:
        module.reset = lambda *a, **k: None

    if "torch._dynamo" in sys.modules:
        patch(sys.modules["torch._dynamo"])
        return

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
            if name != "torch._dynamo":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            original = spec.loader.exec_module

            def exec_module(module: Any) -> None:
                original(module)
                patch(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Finder())


def install() -> None:
    _skip_dynamo_disable()
    _noop_dynamo_reset()
    torch.device = device
    _install_cuda_module()
    torch.autocast = autocast
    torch.amp.autocast = autocast
    torch.cuda.amp.autocast = _cuda_autocast
    torch.compile = _compile
    torch.inference_mode = torch.autograd.inference_mode = torch.autograd.grad_mode.inference_mode = inference_mode
    torch.is_inference_mode_enabled = _is_inference_mode_enabled
    torch.Tensor.pin_memory = lambda self, *a, **k: self
    # every tensor stands for a CUDA tensor, as ``torch.device("cuda")`` maps to the CPU: scripts that
    # guard a kernel with ``x.is_cuda`` take the path the scored run took (kernels: the Triton stand-in)
    torch.Tensor.is_cuda = property(lambda self: True)
    _push_mode_in_threads()
    MODE.__enter__()
