"""The sandbox's compressors run at fast levels and stay lossless. Run in a child process, as in the
sandbox, so this process's compressors keep their own levels (reference/ counts exact bytes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import auditor.dynamic.shims as shims

CHECK = r'''
import brotli, lzma, zlib, zstandard
slow = {"brotli": brotli.compress, "zstd": zstandard.ZstdCompressor}
import pgcompress
pgcompress.install()
data = bytes(range(256)) * 4000 + b"parameter golf " * 3000
print(brotli.compress(data) == brotli.compress(data, quality=1) == slow["brotli"](data, quality=1))
print(zstandard.ZstdCompressor(level=22).compress(data) == slow["zstd"](level=3).compress(data))
print(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME) == lzma.compress(data, preset=1))
raw = lzma.compress(data, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 9}])
print(lzma.decompress(raw, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2}]) == data)
print(brotli.decompress(brotli.compress(data, quality=11)) == zlib.decompress(zlib.compress(data, 9)) == data)
'''


def test_levels_are_clamped_and_round_trips_exact() -> None:
    env = {"PYTHONPATH": str(Path(shims.__file__).parent), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True"] * 5
