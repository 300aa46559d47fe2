"""A network download or remote call on the executed path.

What it detects
    Live calls that reach the network: ``urllib.request.*``, ``requests.*``, ``http.client.*``,
    ``socket`` connections, ``huggingface_hub`` downloads, ``datasets.load_dataset``, and
    ``subprocess``/``os.system`` commands running ``wget``, ``curl`` or ``pip install``.
    Calls are resolved through import aliases, never by the name of the enclosing function.
Why it breaks the metric
    NO-NETWORK (C1-e as secondary tag): the artifact must be self-contained; anything fetched at run
    time is side information that the 16 MB budget does not pay for.
Example
    weights = hf_hub_download("someone/tables", "ngram.npz")
Legal alternative
    Ship what the evaluation needs inside the artifact; download datasets in a separate
    data-preparation script that runs before training. A file that neither trains nor scores (no
    loss, no backward) is treated as such a script and reported as INFO.
How it is confirmed
    static only (the dynamic sandbox has no network).
Ruling
    README rule (FAQ: no downloads or network calls during evaluation).
Known gaps
    Network access from compiled extensions or through an indirection the alias table does not
    resolve (``getattr(module, name)``) is not seen.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.nodes import of_type, walk
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

NETWORK_PREFIXES = (
    "urllib.request.", "urllib2.", "requests.", "http.client.", "httpx.", "aiohttp.", "ftplib.",
    "huggingface_hub.", "datasets.load_dataset", "socket.create_connection", "socket.socket",
    "torch.hub.load", "torch.hub.download_url_to_file", "wget.download",
)
SHELL_CALLS = ("subprocess.", "os.system", "os.popen")
SHELL_WORDS = ("wget", "curl", "pip install", "pip3 install", "huggingface-cli", "git clone")
SCORING_CALLS = frozenset({"cross_entropy", "nll_loss", "backward", "log_softmax"})


def _command_text(call: ast.Call) -> str:
    return " ".join(n.value for a in call.args for n in walk(a)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str))


class NetworkAtEval(Rule):
    code = "PG404"
    name = "network-at-eval"
    rule_id = "NO-NETWORK"
    family = "DATA-ACCESS"
    status = Status.README
    level = Level.FAIL
    rulings = ("README FAQ",)
    ruling_url = "https://github.com/openai/parameter-golf#faq"
    hint = "Ship everything evaluation needs in the artifact; download data only in a separate preparation step."

    VALID = [
        Valid(
            """
            import subprocess
            import torch.nn.functional as F
            def build(src):
                subprocess.run(["g++", "-O3", "-shared", src, "-o", "k.so"], check=True)
            def score(logits, y):
                return F.cross_entropy(logits, y)
            """,
            note="legal look-alike: compiling a shipped C++ source at run time",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch.nn.functional as F
            from huggingface_hub import hf_hub_download as dl
            def score(logits, y):
                table = dl("someone/tables", "bigram.pt")
                return F.cross_entropy(logits, y)
            """,
            lines=4,
            note="download through an aliased import inside the scorer",
        ),
        Invalid(
            """
            import os
            import subprocess
            import torch.nn.functional as F
            FETCH = int(os.environ.get("FETCH", "0"))
            def score(logits, y):
                if FETCH:
                    subprocess.run("curl -sO https://example.com/t.bin", shell=True)
                return F.cross_entropy(logits, y)
            """,
            lines=7,
            level=Level.REVIEW,
            note="download behind a default-off flag",
        ),
        Invalid(
            """
            import urllib.request
            def fetch(url, path):
                urllib.request.urlretrieve(url, path)
            """,
            lines=3,
            level=Level.INFO,
            note="data-preparation script (no loss, no backward): INFO",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        prep_only = not any(
            isinstance(n, ast.Call) and isinstance(n.func, (ast.Attribute, ast.Name))
            and (n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id) in SCORING_CALLS
            for n in of_type(a.tree, ast.Call))
        for node in of_type(a.tree, ast.Call):
            assert isinstance(node, ast.Call)
            qual = a.qualname(node.func) or ""
            if qual.startswith(NETWORK_PREFIXES) or qual in {p.rstrip(".") for p in NETWORK_PREFIXES}:
                what = f"network call `{qual}`"
            elif qual.startswith(SHELL_CALLS) and any(w in _command_text(node) for w in SHELL_WORDS):
                what = f"shell command fetching over the network via `{qual}`"
            else:
                continue
            level = Level.INFO if prep_only else None
            message = what + (" in a data-preparation script" if prep_only else " on the executed path")
            finding = self.report(a, node, message, level=level)
            if finding is not None:
                yield finding
