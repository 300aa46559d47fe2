"""Bad input gives a clear InputError (exit 2), never a traceback; trampolines and helpers are followed."""

from __future__ import annotations

import sys

import pytest

from auditor.decode import InputError, load
from decode_fixtures import SCRIPT, raw_wrapper


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary file (contains NUL bytes), not a Python script"),
        (b"x = '\xff\xfe'\n", "not valid utf-8 text (byte 0xff at offset 5); a Python script must be UTF-8"),
        (b"def f(:\n", "syntax error at line 1: invalid syntax"),
    ],
)
def test_bad_file_is_an_input_error(content: bytes, message: str, write) -> None:
    path = write("train_gpt.py", content)
    with pytest.raises(InputError) as err:
        load(path)
    assert str(err.value) == f"{path}: {message}"


def test_huge_file_is_refused_before_reading(write) -> None:
    path = write("train_gpt.py", b"")
    with path.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    with pytest.raises(InputError, match=r"file is 52\.4 MB; the limit is 20 MB"):
        load(path)


@pytest.mark.parametrize("nesting", ["x = " + "(" * 2000 + "1" + ")" * 2000, "x = " + "[" * 2000 + "]" * 2000])
def test_deep_nesting_is_an_input_error(nesting: str, write) -> None:
    with pytest.raises(InputError, match="nests too deeply"):
        load(write("train_gpt.py", nesting + "\n"))


def test_missing_path_is_an_input_error(tmp_path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "train_gpt.py")


def test_latin1_coding_cookie_is_honoured(write) -> None:
    loaded = load(write("train_gpt.py", b"# -*- coding: latin-1 -*-\nname = '\xe9'\n"))
    assert loaded.main.text == "# -*- coding: latin-1 -*-\nname = '\u00e9'\n"


#: stub text and the line of its run call
TRAMPOLINES = {
    "exec-replace": ('exec(open(__file__.replace("train_gpt.py","impl.py")).read())\n', 1),
    "exec-join": ('import os\nexec(open(os.path.join(os.path.dirname(__file__), "impl.py")).read())\n', 2),
    "runpy-path": ('import runpy\nfrom pathlib import Path\nrunpy.run_path(str(Path(__file__).parent / "impl.py"), run_name="__main__")\n', 3),
    "runpy-module": ('import runpy\nrunpy.run_module("impl", run_name="__main__")\n', 2),
    "subprocess": ('import subprocess, sys, os\nsys.exit(subprocess.call([sys.executable, os.path.join(os.path.dirname(__file__), "impl.py")]))\n', 2),
    "importlib": ('import importlib\nimportlib.import_module("impl").main()\n', 2),
    "import": ("from impl import main\nmain()\n", 1),
}


@pytest.mark.parametrize("shape", sorted(TRAMPOLINES))
def test_trampoline_is_followed(shape: str, write) -> None:
    write("impl.py", SCRIPT)
    stub, line = TRAMPOLINES[shape]
    path = write("train_gpt.py", stub)
    loaded = load(path)
    assert loaded.main.text == SCRIPT
    assert loaded.main.path == str(path)
    assert loaded.main.provenance.chain == ("trampoline:impl.py",)
    assert loaded.main.provenance.text_path == str(path.parent / "impl.py")
    assert loaded.main.provenance.wrapper_line == line
    assert (loaded.helpers, loaded.missing, loaded.opaque) == ([], [], [])


def test_trampoline_into_a_packed_sibling(write) -> None:
    write("impl.py", raw_wrapper(SCRIPT))
    loaded = load(write("train_gpt.py", TRAMPOLINES["exec-replace"][0]))
    assert loaded.main.text == SCRIPT
    assert loaded.main.provenance.chain == ("trampoline:impl.py", "b85", "lzma-raw")
    assert loaded.main.provenance.wrapper_line == 1


def test_missing_trampoline_target(write) -> None:
    path = write("train_gpt.py", TRAMPOLINES["exec-join"][0])
    loaded = load(path)
    assert loaded.main.text == TRAMPOLINES["exec-join"][0]
    assert [(m.path, m.line, m.name) for m in loaded.missing] == [(str(path), 2, "impl.py")]


def test_helpers_and_foreign_sources_are_found(write) -> None:
    write("train_gpt.py", "import os\nfrom tilt import run\n\ndef main():\n    run()\n")
    write("tilt.py", raw_wrapper(
        "import ctypes, subprocess\nfrom pathlib import Path\n"
        "HERE = Path(__file__).resolve().parent\n"
        "SRC = HERE / 'csrc' / 'kernel.cpp'\n"
        "def run():\n"
        "    subprocess.run(['g++', '-O3', '-shared', str(SRC), '-o', 'k.so'], check=True)\n"
        "    return ctypes.CDLL('k.so')\n"
        "def other():\n"
        "    return HERE / 'absent_kernel.cu'\n"))
    write("csrc/kernel.cpp", "int f() { return 1; }\n")
    write("unused_tool.py", "print('not called')\n")
    loaded = load(write("train_gpt.py", "import os\nfrom tilt import run\n\ndef main():\n    run()\n"))
    (helper,) = loaded.helpers
    assert helper.path.endswith("tilt.py") and helper.role == "helper"
    assert helper.provenance.chain == ("b85", "lzma-raw")
    (kernel,) = loaded.foreign
    assert kernel.path.endswith("csrc/kernel.cpp") and kernel.line == 4 and kernel.invoked
    assert kernel.referenced_in == helper.path and kernel.size == 22
    assert [(m.line, m.name) for m in loaded.missing] == [(9, "absent_kernel.cu")]


def test_record_folder_loads_its_entry_script(write, tmp_path) -> None:
    write("train_gpt.py", SCRIPT)
    assert load(tmp_path).main.path == str(tmp_path / "train_gpt.py")


def test_no_traceback_from_the_cli_path(write) -> None:
    """The engine turns InputError into verdict ERROR; here: the message is a single line."""
    path = write("train_gpt.py", b"\x00\x01")
    with pytest.raises(InputError) as err:
        load(path)
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)
    assert sys.getrecursionlimit() >= 1000
