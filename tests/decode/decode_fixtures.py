"""Builders for the loader tests: every packed fixture is made here from our own small scripts."""

from __future__ import annotations

import base64
import lzma

#: the script every wrapper packs; line 6 is a marker the tests look for in the decoded text
SCRIPT = '''import os

def main():
    total = 0
    for i in range(3):
        total += i  # marker line 6
    print(total)

if __name__ == "__main__":
    main()
'''


def raw_lzma_b85(text: str) -> str:
    data = lzma.compress(text.encode(), format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2}])
    return base64.b85encode(data).decode()


def raw_wrapper(text: str) -> str:
    """The common real-world shape: one-letter aliases, b85 + raw LZMA2 with an explicit filter chain."""
    return (
        "import lzma as L,base64 as B\n"
        f'exec(L.decompress(B.b85decode("{raw_lzma_b85(text)}"),format=L.FORMAT_RAW,filters=[{{"id":L.FILTER_LZMA2}}]))\n'
    )
