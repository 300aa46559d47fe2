"""PG601 and PG904 on real folders (tmp_path): byte counts, invoked vs shipped-but-uncalled."""

from __future__ import annotations

from pathlib import Path

from auditor.analysis import Analysis
from auditor.decode import load
from decode_fixtures import raw_wrapper
from rules.meta.pg601_uncounted_helper_code import UncountedHelperCode
from rules.meta.pg901_opaque_packed_code import OpaquePackedCode
from rules.meta.pg904_missing_helper_file import MissingHelperFile


def _run(rule, source) -> list[tuple[int, str, str]]:
    return sorted((f.line, f.level.name, f.message) for f in rule().check(Analysis(source)) if f)


def test_invoked_helpers_warn_and_uncalled_files_are_info(tmp_path: Path) -> None:
    (tmp_path / "tilt.py").write_text("import torch\nfrom torch.utils.cpp_extension import load\n"
                                      "def build():\n    return load(name='k', sources=['kern.cu'])\n")
    (tmp_path / "kern.cu").write_text("// kernel\n")
    (tmp_path / "train_gpt_human.py").write_text("print('readable copy')\n")
    main = tmp_path / "train_gpt.py"
    main.write_text(raw_wrapper("import tilt\n\ndef main():\n    tilt.build()\n\nmain()\n"))
    loaded = load(main)
    assert _run(UncountedHelperCode, loaded.main) == [
        (1, "INFO", "train_gpt_human.py (23 bytes) ships in the folder but nothing runs it"),
        (1, "WARN", "tilt.py (116 bytes) runs at run time; it is not in train_gpt.py, and the code-bytes figure must include it"),
    ]
    (helper,) = loaded.helpers
    assert _run(UncountedHelperCode, helper) == [
        (4, "WARN", "kern.cu (10 bytes) runs at run time; it is not in tilt.py, and the code-bytes figure must include it"),
    ]


def test_trampoline_target_is_uncounted_code(tmp_path: Path) -> None:
    (tmp_path / "train_gpt_decode.py").write_text("x = 1\n")
    main = tmp_path / "train_gpt.py"
    main.write_text('exec(open(__file__.replace("train_gpt.py","train_gpt_decode.py")).read())\n')
    assert _run(UncountedHelperCode, load(main).main) == [
        (1, "WARN", "train_gpt_decode.py (6 bytes) runs as the trampoline's target; it is not in train_gpt.py, "
                    "and the code-bytes figure must include it"),
    ]


def test_missing_trampoline_target_fails_and_is_not_opaque(tmp_path: Path) -> None:
    main = tmp_path / "train_gpt.py"
    main.write_text('exec(open(__file__.replace("train_gpt.py","train_gpt_decode.py")).read())\n')
    source = load(main).main
    assert _run(MissingHelperFile, source) == [
        (1, "FAIL", "train_gpt_decode.py is named here (exec) but is not in the record folder")]
    assert _run(OpaquePackedCode, source) == []


def test_bomb_wrapper_is_opaque_for_pg901(tmp_path: Path) -> None:
    import base64
    import lzma

    bomb = base64.b85encode(lzma.compress(bytes(17 * 1024 * 1024), preset=0)).decode()
    main = tmp_path / "train_gpt.py"
    main.write_text(f'import lzma as L, base64 as B\nexec(L.decompress(B.b85decode("{bomb}")))\n')
    loaded = load(main)
    assert [(o.line, o.reason) for o in loaded.opaque] == [(2, "decompressed size exceeds 16 MB cap")]
    assert _run(OpaquePackedCode, loaded.main) == [
        (2, "REVIEW", "exec() runs code this tool cannot decode: decompressed size exceeds 16 MB cap")]


def test_a_helper_audited_alone_does_not_call_the_entry_uncalled(tmp_path: Path) -> None:
    (tmp_path / "train_gpt.py").write_text("import evaluator\n")
    helper = tmp_path / "evaluator.py"
    helper.write_text("x = 1\n")
    assert _run(UncountedHelperCode, load(helper).main) == []
