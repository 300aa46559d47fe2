"""The training script loads a local file that the folder does not contain.

What it detects
    A file name with a code suffix (``.py``, ``.c``, ``.cpp``, ``.cu``, ``.h``) written as a string
    literal in the entry script (``exec(open("train_gpt_decode.py").read())``, ``load(sources=["k.cpp"])``)
    or a relative import, when no such file is in the folder.
Why it breaks the metric
    FOLDER: the script must compile and run from inside the records folder; a missing dependency
    means the submitted code cannot reproduce the score, and its bytes were never counted.
Example
    exec(open(__file__.replace("train_gpt.py", "train_gpt_decode.py")).read())   # decode file absent
Legal alternative
    Ship every file the script runs, or inline it into ``train_gpt.py``.
How it is confirmed
    Package check (names vs files); the dynamic sandbox run fails on the missing file.
Ruling
    README rule; missing helpers are a FOLDER failure (RULEBOOK FOLDER).
Known gaps
    Absolute imports of a missing sibling module look like third-party imports (PG704 reports them);
    names built at run time are not seen.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.findings import Finding, Level, Status
from auditor.package.check import Context, PackageCheck


class MissingHelper(PackageCheck):
    code = "PG703"; name = "missing-helper"; rule_id = "FOLDER"; family = "PACKAGE"
    status = Status.README; level = Level.FAIL
    rulings = ("README Submission Process",)
    hint = "Add the missing file to the folder (its bytes count toward the artifact)."

    def check(self, ctx: Context) -> Iterator[Finding]:
        f = ctx.folder
        if f.entry is None:
            return
        for name, line in f.missing_helpers:
            yield self.finding(ctx, f.entry, line, f"{f.entry} loads {name}, which is not in the folder",
                               evidence=[f"{f.entry}:{line} references {name!r}"])
