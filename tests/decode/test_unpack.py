"""Packed wrappers decode by pattern into the exact script, with the exact provenance chain."""

from __future__ import annotations

import base64
import binascii
import bz2
import gzip
import lzma
import zlib

import pytest

from auditor.analysis import Analysis
from auditor.decode import load
from rules.meta.pg902_dynamic_code_construction import DynamicCodeConstruction

from decode_fixtures import SCRIPT, raw_lzma_b85, raw_wrapper

S = SCRIPT.encode()
B85_RAW = raw_lzma_b85(SCRIPT)
XZ_B85 = base64.b85encode(lzma.compress(S)).decode()
ZLIB_B64 = base64.b64encode(zlib.compress(S)).decode()

WRAPPERS = {
    "b85-raw-lzma2": (raw_wrapper(SCRIPT), ("b85", "lzma-raw"), 2),
    "b85-xz": (f'import lzma, base64\nexec(lzma.decompress(base64.b85decode("{XZ_B85}")))\n', ("b85", "xz"), 2),
    "b64-zlib": (f"import zlib, base64\nexec(zlib.decompress(base64.b64decode('{ZLIB_B64}')).decode())\n", ("b64", "zlib"), 2),
    "b64-bz2": (f'import bz2, base64\nexec(bz2.decompress(base64.b64decode("{base64.b64encode(bz2.compress(S)).decode()}")))\n', ("b64", "bz2"), 2),
    "a85-gzip": (f'import gzip, base64\nexec(gzip.decompress(base64.a85decode({base64.a85encode(gzip.compress(S)).decode()!r})))\n', ("a85", "gzip"), 2),
    "hex-zlib": (f'import zlib\nexec(zlib.decompress(bytes.fromhex("{zlib.compress(S).hex()}")))\n', ("hex", "zlib"), 2),
    "codecs-hex": (f'import codecs\nexec(codecs.decode("{binascii.hexlify(S).decode()}", "hex"))\n', ("hex",), 2),
    "split-literals-in-parens": (
        'import lzma as L, base64 as B\n'
        f'exec(L.decompress(B.b85decode(\n    "{XZ_B85[:40]}"\n    "{XZ_B85[40:80]}" "{XZ_B85[80:]}"\n)))\n',
        ("b85", "xz"), 2),
    "plus-and-join": (
        f'import lzma, base64\nP1 = "{XZ_B85[:30]}"\nP2 = "".join(["{XZ_B85[30:60]}", "{XZ_B85[60:]}"])\n'
        'exec(lzma.decompress(base64.b85decode(P1 + P2)))\n', ("b85", "xz"), 4),
    "from-import-aliases": (
        f'from base64 import b85decode as d\nfrom lzma import decompress as z\nSIZE = 123\nexec(z(d("{XZ_B85}")))\n',
        ("b85", "xz"), 4),
    "builtins-exec-compile": (
        f'import builtins, zlib, base64\nbuiltins.exec(compile(zlib.decompress(base64.b64decode("{ZLIB_B64}")), "<p>", "exec"))\n',
        ("b64", "zlib"), 2),
    "dunder-builtins": (
        f'import zlib, base64\n__builtins__.exec(zlib.decompress(base64.b64decode("{ZLIB_B64}")).decode("utf-8"))\n',
        ("b64", "zlib"), 2),
    "rebound-name-and-compile": (
        f'import lzma as L, base64 as B, linecache as C\nS = L.decompress(B.b85decode("{XZ_B85}"))\nS = S.decode()\n'
        'F = __file__ + ".src.py"\nC.cache[F] = (len(S), None, S.splitlines(True), F)\nexec(compile(S, F, "exec"))\n',
        ("b85", "xz"), 6),
    "join-over-a-str": (
        f'import base64 as B, lzma as L\n_DATA = (\n    "{XZ_B85[:50]}"\n    "{XZ_B85[50:]}"\n)\n'
        "exec(L.decompress(B.b85decode(''.join(_DATA))))\n", ("b85", "xz"), 6),
    "nested-2-layers": (raw_wrapper(f'import zlib, base64\nexec(zlib.decompress(base64.b64decode("{ZLIB_B64}")))\n'),
                        ("b85", "lzma-raw", "b64", "zlib"), 2),
}


@pytest.mark.parametrize("shape", sorted(WRAPPERS))
def test_wrapper_decodes_to_the_script(shape: str, write) -> None:
    text, chain, line = WRAPPERS[shape]
    path = write("train_gpt.py", text)
    loaded = load(path)
    assert loaded.main.text == SCRIPT
    assert loaded.main.provenance.chain == chain
    assert loaded.main.provenance.wrapper_line == line
    assert loaded.main.provenance.packed_path == str(path)
    assert loaded.main.path == str(path)
    assert (loaded.opaque, loaded.missing, loaded.helpers) == ([], [], [])


def test_findings_use_decoded_line_numbers(write) -> None:
    inner = "import os\n\n\nk = os.environ.get('K', '1')\nexec(f'x = {k}')\n"
    path = write("train_gpt.py", raw_wrapper(inner))
    loaded = load(path)
    findings = [f for f in DynamicCodeConstruction().check(Analysis(loaded.main)) if f]
    assert [(f.line, f.code, f.path) for f in findings] == [(5, "PG902", str(path))]
    assert findings[0].provenance.describe() == "b85 → lzma-raw"


def test_decompression_bomb_is_opaque_fast_and_small(write, tmp_path) -> None:
    # 64 concatenated xz streams of 16 MiB of zeros: lzma.decompress would produce 1 GiB
    stream = lzma.compress(bytes(16 * 1024 * 1024), preset=0)
    bomb = base64.b85encode(stream * 64).decode()
    path = write("train_gpt.py", f'import lzma, base64\nexec(lzma.decompress(base64.b85decode("{bomb}")))\n')
    # peak RSS from VmHWM: unlike ru_maxrss it is not inherited from the (large) pytest parent
    probe = (
        "import re, sys, time\n"
        "from auditor.decode import load\n"
        "t = time.perf_counter(); loaded = load(sys.argv[1]); dt = time.perf_counter() - t\n"
        "rss = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024\n"
        "print(dt, rss, [(o.line, o.reason) for o in loaded.opaque])\n"
    )
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, cwd=root, check=True)
    seconds, rss_mb, opaque = done.stdout.split(" ", 2)
    assert float(seconds) < 2.0
    assert float(rss_mb) < 200
    assert opaque.strip() == "[(2, 'decompressed size exceeds 16 MB cap')]"


def test_payload_that_is_not_utf8_is_opaque(write) -> None:
    blob = base64.b64encode(zlib.compress(b"\xff\xfe code")).decode()
    path = write("train_gpt.py", f'import zlib, base64\nexec(zlib.decompress(base64.b64decode("{blob}")))\n')
    loaded = load(path)
    assert loaded.main.provenance.chain == ()
    assert [(o.line, o.reason) for o in loaded.opaque] == [(2, "payload is not valid UTF-8 (byte 0)")]


def test_payload_that_is_not_python_is_opaque(write) -> None:
    blob = base64.b64encode(zlib.compress(b"this is not python (")).decode()
    path = write("train_gpt.py", f'import zlib, base64\nexec(zlib.decompress(base64.b64decode("{blob}")))\n')
    (opaque,) = load(path).opaque
    assert opaque.line == 2 and opaque.reason.startswith("decoded payload is not valid Python: syntax error at line 1")


def test_run_time_text_in_a_stub_is_opaque(write) -> None:
    path = write("train_gpt.py", "import os\nexec(os.environ['CODE'])\n")
    loaded = load(path)
    assert [(o.line, o.reason) for o in loaded.opaque] == [(2, "argument is not a constant expression")]


def test_nesting_deeper_than_four_layers_stops(write) -> None:
    text = SCRIPT
    for _ in range(6):
        text = raw_wrapper(text)
    loaded = load(write("train_gpt.py", text))
    assert loaded.main.provenance.chain == ("b85", "lzma-raw") * 4
    assert [(o.line, o.reason) for o in loaded.opaque] == [(2, "more than 4 nested packing layers")]


def test_plain_script_is_its_own_text(write) -> None:
    loaded = load(write("train_gpt.py", SCRIPT))
    assert loaded.main.text == SCRIPT and loaded.main.provenance.chain == ()


def test_full_script_exec_of_a_literal_becomes_an_embedded_helper(write) -> None:
    text = "def f():\n    return 1\nexec('import os\\nos.getcwd()')\n"
    path = write("train_gpt.py", text)
    loaded = load(path)
    assert loaded.main.text == text
    (helper,) = loaded.helpers
    assert helper.path == f"{path}:exec@3" and helper.text == "import os\nos.getcwd()"
    assert helper.provenance.chain == ("literal", "exec@3")
