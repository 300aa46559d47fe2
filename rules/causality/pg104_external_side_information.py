"""Evaluation reads data that the artifact does not contain (external side information).

What it detects
    After the last training loop (in the function that runs it, or in functions called from
    there): a file read (``open`` for reading, ``np.load``/``np.fromfile``/``np.memmap``,
    ``torch.load``, ``Path(...).read_bytes()``) whose path is not the validation data, not the
    tokenizer, not the script's own code and not a path this run writes; and, anywhere, an
    environment variable decoded into data (``b64decode(os.environ[...])``, ``np.frombuffer``, ...).
Why it breaks the metric
    C1-e: the prediction at t may depend only on the artifact and the strict prefix. A precomputed
    table, another run's checkpoint or an environment blob carries information that is neither
    counted in the 16 MB nor produced by this run's training.
Example
    train(model)
    bias = torch.load("/data/unigram_table.pt")     # never written by this script
    eval_val(model, val_tokens, bias=bias)
Legal alternative
    Compute the statistics during training and store them in the artifact (counted in the 16 MB);
    read back only the artifact this run wrote.
How it is confirmed
    data-access (the sandbox records every file opened after the training loop).
Ruling
    README (artifact must be self-contained); RULEBOOK C1-e. Training shards at evaluation are
    reported by PG402 (NO-TRAIN-DATA-AT-EVAL), network access by PG404, with C1-e as secondary tag.
Known gaps
    Scripts without a training loop have no evaluation region here; a path that reaches the read as
    a function parameter is not judged (loaders shared by training and evaluation); a path built at
    run time that equals a written path only by value (two different f-strings) counts as external;
    JSON/text settings from the environment are configuration, not blobs; reads inside libraries or
    native code are not seen.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

from auditor.analysis import Analysis, external, scoring
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

_TRAIN = '''
import base64
import glob
import io
import os
import zlib
import numpy as np
import torch
import torch.nn.functional as F

def evaluate(model, tokens, bias):
    with torch.no_grad():
        logits = model(tokens[:-1]) + bias
        return F.cross_entropy(logits, tokens[1:], reduction="sum").item()

def main(model):
    opt = torch.optim.AdamW(model.parameters())
    for path in sorted(glob.glob("data/fineweb_train_*.bin")):
        tokens = torch.from_numpy(np.fromfile(path, dtype=np.uint16).astype(np.int64))
        F.cross_entropy(model(tokens[:-1]), tokens[1:]).backward()
        opt.step()
'''  # 20 lines: the cases continue main() from line 21


def _case(body: str) -> str:
    return _TRAIN.strip("\n") + "\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


class ExternalSideInformation(Rule):
    code = "PG104"
    name = "external-side-information"
    rule_id = "C1-e"
    family = "C1-CAUSAL"
    status = Status.README
    level = Level.FAIL
    rulings = ("README (self-contained artifact)", "RULEBOOK C1-e")
    ruling_url = "https://github.com/openai/parameter-golf#readme"
    probes = ("data-access",)
    hint = "Put everything evaluation needs into the counted artifact; read back only what this run wrote."

    VALID = [
        Valid(_case('''
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    with open("final_model.ptz", "wb") as f:
        f.write(zlib.compress(buf.getvalue()))
    with open("final_model.ptz", "rb") as f:
        model.load_state_dict(torch.load(io.BytesIO(zlib.decompress(f.read()))))
    code_bytes = len(open(__file__, "rb").read())
    val = np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16)
    return evaluate(model, torch.from_numpy(val.astype(np.int64)), 0.0), code_bytes
'''), note="legal look-alike: reads back the artifact it wrote, its own source and the val shard"),
        Valid(_case('''
    with open("eval_prior.npy", "wb") as f:
        np.save(f, model.head.weight.detach().numpy().mean(0))
    bias = torch.from_numpy(np.load("eval_prior.npy"))
    val = np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16)
    return evaluate(model, torch.from_numpy(val.astype(np.int64)), bias)
'''), note="a table this run computed and wrote, read back at evaluation"),
    ]
    INVALID = [
        Invalid(_case('''
    bias = torch.load("/shared/unigram_logprior.pt")
    val = np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16)
    return evaluate(model, torch.from_numpy(val.astype(np.int64)), bias)
'''), lines=21, note="precomputed table loaded from a path this run never wrote"),
        Invalid(_case('''
    blob = base64.b64decode(os.environ["EVAL_PRIOR"])
    bias = torch.from_numpy(np.frombuffer(blob, dtype=np.float32).copy())
    val = np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16)
    return evaluate(model, torch.from_numpy(val.astype(np.int64)), bias)
'''), lines=21, note="data blob passed through an environment variable"),
        Invalid(_case('''
    bias = 0.0
    if int(os.environ.get("USE_TEACHER", "0")):
        model.load_state_dict(torch.load("../other_run/final_model.pt"))
    val = np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16)
    return evaluate(model, torch.from_numpy(val.astype(np.int64)), bias)
'''), lines=23, level=Level.REVIEW, note="another run's weights, only when an env flag is switched on"),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for r in a.fact(external.build).reads:
            finding = scoring.report(self, a, r.node, r.what)
            if finding is not None:
                yield finding
