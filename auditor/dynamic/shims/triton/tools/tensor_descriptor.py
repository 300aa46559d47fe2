"""``triton.tools.tensor_descriptor``: the host-side TMA descriptor, evaluated by the CPU stand-in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from triton.language import _Descriptor


class TensorDescriptor(_Descriptor):
    def __init__(self, base: Any, shape: Sequence[int], strides: Sequence[int], block_shape: Sequence[int],
                 padding: str = "zero") -> None:
        super().__init__(base, shape, strides, block_shape)

    @classmethod
    def from_tensor(cls, tensor: Any, block_shape: Sequence[int], padding: str = "zero") -> "TensorDescriptor":
        return cls(tensor, tensor.shape, tensor.stride(), block_shape)
