"""``triton.language`` stand-in: every attribute is a definition-time placeholder."""

from typing import Any

from triton import _Any, jit

constexpr = _Any


def __getattr__(name: str) -> Any:
    return _Any()
