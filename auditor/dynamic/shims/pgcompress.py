"""Fast compressor settings in the sandbox.

Records compress their artifact at the slowest settings (brotli quality 11, zstd level 22, lzma
preset 9e): on the tiny model that alone took 10 s of a 56 s run. A compressor's level changes only
how small its output is; decompression gives back the same bytes, so the round-trip evaluation is
unchanged, and the tiny run's artifact size is no measurement (the package stage reads the scored
run's logged sizes).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

FAST = {"brotli": 1, "zstd": 3, "lzma": 1, "zlib": 1}


def _clamped(fn: Callable, name: str, position: int, ceiling: int, default_slow: bool = False) -> Callable:
    """``fn`` with its level argument (keyword ``name`` or positional ``position``) at most ``ceiling``;
    ``default_slow``: the library's default level is the slow one (brotli), so an omitted level is set."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position and isinstance(args[position], int):
            args = (*args[:position], min(args[position], ceiling), *args[position + 1:])
        elif isinstance(kwargs.get(name), int):
            kwargs[name] = min(kwargs[name], ceiling)
        elif default_slow and name not in kwargs:
            kwargs[name] = ceiling
        return fn(*args, **kwargs)

    return call


def install() -> None:
    import lzma
    import zlib

    lzma.compress = _clamped(lzma.compress, "preset", 3, FAST["lzma"])
    lzma.LZMACompressor = _clamped(lzma.LZMACompressor, "preset", 2, FAST["lzma"])
    zlib.compress = _clamped(zlib.compress, "level", 1, FAST["zlib"])
    try:
        import brotli
    except ImportError:
        pass
    else:
        brotli.compress = _clamped(brotli.compress, "quality", 2, FAST["brotli"], default_slow=True)
        brotli.Compressor = _clamped(brotli.Compressor, "quality", 1, FAST["brotli"], default_slow=True)
    try:
        import zstandard
    except ImportError:
        pass
    else:
        zstandard.ZstdCompressor = _clamped(zstandard.ZstdCompressor, "level", 0, FAST["zstd"])
        zstandard.compress = _clamped(zstandard.compress, "level", 1, FAST["zstd"])
