"""A token's probability is spread over its UTF-8 bytes and scored per byte.

What it detects
    ``p ** (1 / n)``, ``pow(p, 1 / n)`` or ``exp(log p / n)`` where ``n`` is the byte count of a token
    (a read of the byte LUTs, or ``len`` of encoded text), when the result reaches a ``log`` — the
    per-byte share that byte-level PPM mixtures blend with their own byte model.
Why it breaks the metric
    C2-d: the per-byte shares are not a distribution over the token alphabet; summed over all token
    ids the implied probability is not 1, and the realized byte stream is what gets scored.
Example
    n = base_bytes[y]
    p_byte = torch.exp(lp_y / n)
    nll_bits = -torch.log2(lam * p_byte + (1 - lam) * ppm_byte_prob)
Legal alternative
    Score the token with a distribution over all V token ids; mix a byte model only after turning it
    into a normalized token distribution.
How it is confirmed
    normalization probe (push every token id through the scorer; Σ_v q(v) must be 1).
Ruling
    cocohearts' rulings of 2026-05-02 on byte-level PPM mixtures; #1905; Issue #1872.
Known gaps
    Byte counts computed in another function and passed as a plain parameter are not traced, unless
    they come from the LUT builder's tables; spreading done in C/C++ kernels is not seen.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, normalization, scoring
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

_LUTS = '''
import math
import os
import numpy as np
import torch
import torch.nn.functional as F

def build_luts(sp, vocab_size):
    base = np.zeros(vocab_size, dtype=np.int16)
    for i in range(sp.vocab_size()):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
            continue
        if sp.is_byte(i):
            base[i] = 1
            continue
        piece = sp.id_to_piece(i)
        if piece.startswith("\\u2581"):
            piece = piece[1:]
        base[i] = len(piece.encode("utf-8"))
    return (torch.from_numpy(base),)

def main(sp, model, x, y, ppm):
    (base,) = build_luts(sp, 1024)
    return score(model, x, y, base, ppm)
'''


class BytePpmSpreading(Rule):
    code = "PG204"
    name = "byte-ppm-spreading"
    rule_id = "C2-d"
    family = "C2-NORMALIZED"
    status = Status.RULING
    level = Level.FAIL
    rulings = ("cocohearts 2026-05-02 (byte-level PPM rulings)", "#1905", "Issue #1872")
    ruling_url = "https://github.com/openai/parameter-golf/issues/1872"
    probes = ("vocab-sweep",)
    hint = "Score each token under a full distribution over the V token ids; do not split p over bytes."

    VALID = [
        Valid(_LUTS + '''
def score(model, x, y, base, ppm):
    nll = F.cross_entropy(model(x), y, reduction="none")
    loss_sum = nll.double().sum()
    byte_sum = base[y].double().sum()
    return loss_sum / math.log(2.0) / byte_sum
''', note="legal look-alike: loss_sum / (ln 2 * bytes), the metric itself"),
        Valid('''
import math
def byte_perplexity(loss_sum, text):
    return math.exp(loss_sum / len(text.encode("utf-8")))
''', note="per-byte perplexity printed, never scored through a log"),
    ]
    INVALID = [
        Invalid(_LUTS + '''
def score(model, x, y, base, ppm):
    lp = F.log_softmax(model(x), -1).gather(-1, y[:, None])[:, 0]
    n = base[y].float()
    p_byte = torch.exp(lp / n)
    mix = 0.7 * p_byte + 0.3 * ppm
    return -(n * torch.log2(mix)).sum()
''', lines=28, note="exp(log p / n_bytes) mixed with a byte-level PPM"),
        Invalid('''
import numpy as np
def score(sp, probs, ids, ppm_prob):
    bits = 0.0
    for t, p in zip(ids, probs):
        piece = sp.id_to_piece(int(t)).encode("utf-8")
        share = p ** (1.0 / len(piece))
        for b in piece:
            bits -= np.log2(0.5 * share + 0.5 * ppm_prob(b))
    return bits
''', lines=6, note="p ** (1 / n) with n the piece's UTF-8 length"),
        Invalid(_LUTS + '''
def score(model, x, y, base, ppm):
    lp = F.log_softmax(model(x), -1).gather(-1, y[:, None])[:, 0]
    if int(os.environ.get("PPM_MIX", "0")):
        lp = torch.log(0.7 * torch.exp(lp / base[y]) + 0.3 * ppm)
    return -lp.sum()
''', lines=28, level=Level.REVIEW, note="spreading only when an env flag is switched on"),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for site in a.fact(normalization.build).spreads:
            finding = scoring.report(self, a, site.node, site.what)
            if finding is not None:
                yield finding
