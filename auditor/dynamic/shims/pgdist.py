"""``torch.distributed`` as one CPU process: collectives are identities over a world of size 1.

No process group is created (gloo would need a network interface, and the sandbox has none); DDP
becomes a thin wrapper that forwards calls and exposes ``.module``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

_STATE = {"initialized": False}


class _Work:
    def wait(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def is_completed(self) -> bool:
        return True

    def get_future(self) -> Any:
        fut = torch.futures.Future()
        fut.set_result(None)
        return fut


def _done(async_op: bool = False, **kwargs: Any) -> Any:
    return _Work() if async_op else None


def _all_reduce(tensor: torch.Tensor, op: Any = None, group: Any = None, async_op: bool = False) -> Any:
    return _done(async_op)


def _all_gather_into_tensor(output: torch.Tensor, input: torch.Tensor, group: Any = None, async_op: bool = False) -> Any:
    output.copy_(input.reshape(output.shape))
    return _done(async_op)


def _reduce_scatter_tensor(output: torch.Tensor, input: torch.Tensor, op: Any = None, group: Any = None, async_op: bool = False) -> Any:
    output.copy_(input.reshape(output.shape))
    return _done(async_op)


def _all_gather(tensor_list: list, tensor: torch.Tensor, group: Any = None, async_op: bool = False) -> Any:
    tensor_list[0].copy_(tensor)
    return _done(async_op)


def _all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    object_list[0] = obj


def _broadcast_object_list(object_list: list, src: int = 0, group: Any = None, device: Any = None) -> None:
    return None


def _init_process_group(*args: Any, **kwargs: Any) -> None:
    _STATE["initialized"] = True


def _destroy_process_group(*args: Any, **kwargs: Any) -> None:
    _STATE["initialized"] = False


class DistributedDataParallel(nn.Module):
    def __init__(self, module: nn.Module, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.module = module
        self.require_backward_grad_sync = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        yield


def install() -> None:
    fixed: dict[str, Any] = {
        "is_available": lambda: True,
        "is_initialized": lambda: _STATE["initialized"],
        "init_process_group": _init_process_group,
        "destroy_process_group": _destroy_process_group,
        "get_rank": lambda *a, **k: 0,
        "get_world_size": lambda *a, **k: 1,
        "get_local_rank": lambda *a, **k: 0,
        "barrier": lambda *a, **k: _done(k.get("async_op", False)),
        "all_reduce": _all_reduce,
        "reduce": lambda tensor, *a, **k: _done(k.get("async_op", False)),
        "broadcast": lambda tensor, *a, **k: _done(k.get("async_op", False)),
        "all_gather": _all_gather,
        "all_gather_into_tensor": _all_gather_into_tensor,
        "reduce_scatter_tensor": _reduce_scatter_tensor,
        "_all_gather_base": _all_gather_into_tensor,
        "_reduce_scatter_base": _reduce_scatter_tensor,
        "all_gather_object": _all_gather_object,
        "broadcast_object_list": _broadcast_object_list,
        "new_group": lambda *a, **k: None,
    }
    for name, value in fixed.items():
        setattr(dist, name, value)
    torch.nn.parallel.DistributedDataParallel = DistributedDataParallel
    torch.nn.parallel.distributed.DistributedDataParallel = DistributedDataParallel
