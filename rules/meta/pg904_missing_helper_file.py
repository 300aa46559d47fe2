"""A local file the code runs, loads or compiles is missing from the record folder.

What it detects
    A file name with a code suffix (``.py``, ``.c``, ``.cpp``, ``.cu``, ...) that the code uses as a
    path to run, read as code, or compile: ``exec(open(..).read())``, ``runpy.run_path``,
    ``subprocess``/``os.system`` command lines, ``cpp_extension.load(sources=...)``, ``Path`` joins,
    ``__file__.replace(..)`` trampolines; and which exists nowhere in the folder. Files the script
    writes itself are not missing. A module import that resolves to no local file is treated as an
    installed package, not reported.
Why it breaks the metric
    FOLDER: the submission must compile and run from inside its folder; a missing helper means the
    shipped code cannot reproduce the claimed score.
Example
    exec(open(__file__.replace("train_gpt.py", "train_impl.py")).read())   # train_impl.py not shipped
Legal alternative
    Ship the file in the record folder (and count its bytes), or inline it into ``train_gpt.py``.
How it is confirmed
    Package check on the folder contents; the static loader reports the same file (``missing``).
Ruling
    README rule (submission folder must run as shipped); maintainers sent back PRs with missing files.
Known gaps
    A missing module imported by name (``import my_helpers``) cannot be told from an uninstalled
    package and is not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.files import file_facts
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class MissingHelperFile(Rule):
    code = "PG904"
    name = "missing-helper-file"
    rule_id = "FOLDER"
    family = "PACKAGE"
    status = Status.README
    level = Level.FAIL
    rulings = ("README: records must run from inside their folder",)
    ruling_url = "https://github.com/openai/parameter-golf#submission-process"
    hint = "Ship the named file in the record folder, or inline it into train_gpt.py."

    VALID = [
        Valid(
            """
            import numpy, sentencepiece
            from pathlib import Path
            from torch.utils.cpp_extension import load
            src = Path("pgolf_generated_kernel.cu")
            src.write_text("__global__ void k() {}")
            ext = load(name="k", sources=["pgolf_generated_kernel.cu"])
            """,
            note="packages imported by name, and a source the script writes before compiling it",
        ),
        Valid(
            """
            import runpy, sys
            from pathlib import Path
            ROOT = Path(__file__).resolve().parent
            FILES = {"tools/pgolf_bundled_tool.py": "print(1)\\n"}
            for rel, text in FILES.items():
                (ROOT / rel).write_text(text)
            for entry in sys.path:
                candidate = Path(entry) / "pgolf_never_shipped_helper.py"
            runpy.run_path(str(ROOT / "tools" / "pgolf_bundled_tool.py"))
            """,
            note="a bundle the script writes out before running it; a probe along sys.path is not a sibling",
        ),
        Valid(
            """
            import subprocess
            def unused():
                subprocess.run(["python", "pgolf_never_shipped_helper.py"])
            if __name__ == "__main__":
                print("no call to unused()")
            """,
            note="a reference in dead code is not a failure",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import os
            exec(open(os.path.join(os.path.dirname(__file__), "pgolf_never_shipped_helper.py")).read())
            """,
            lines=2,
        ),
        Invalid(
            """
            from torch.utils.cpp_extension import load
            def build():
                return load(name="k", sources=["csrc/pgolf_never_shipped_kernel.cu"])
            """,
            lines=3,
        ),
        Invalid(
            """
            import os, subprocess
            USE_HELPER = bool(int(os.environ.get("USE_HELPER", "0")))
            if USE_HELPER:
                subprocess.run("python pgolf_never_shipped_helper.py", shell=True)
            """,
            lines=4,
            level=Level.REVIEW,
            note="behind a default-off flag",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        reported: set[str] = set()
        for ref in a.fact(file_facts).refs:
            if ref.missing and ref.name not in reported:
                finding = self.report(a, ref.node, f"{ref.name} is named here ({ref.how}) but is not in the record folder")
                if finding is not None:
                    reported.add(ref.name)
                    yield finding
