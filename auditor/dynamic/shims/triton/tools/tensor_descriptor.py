"""``triton.tools.tensor_descriptor`` stand-in: building a descriptor means a Triton launch follows."""

from typing import Any

from triton import MARK, KernelUnavailable


class TensorDescriptor:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise KernelUnavailable(f"{MARK} TensorDescriptor (TMA) cannot run on CPU")

    @classmethod
    def from_tensor(cls, *args: Any, **kwargs: Any) -> "TensorDescriptor":
        raise KernelUnavailable(f"{MARK} TensorDescriptor (TMA) cannot run on CPU")
