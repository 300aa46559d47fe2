"""The per-token byte tables deviate from the reference SentencePiece rule.

What it detects
    In the function that walks the vocabulary (``id_to_piece``) and measures pieces with
    ``len(piece.encode())``: byte-fallback pieces not charged exactly 1; control, unknown or unused
    ids not all treated as 0-byte boundaries; the leading ``▁`` not stripped before measuring, turned
    into a space inside ``base_bytes`` (charged twice), or never handled.
Why it breaks the metric
    BPB-FORMULA / TOKENIZER-BYTES: the denominator must be the raw UTF-8 bytes of the validation
    text. Every one of these deviations inflates (or deflates) it and moves val_bpb; merged records
    were removed for byte-fallback over-counting (PR #1806).
Example
    base_bytes[i] = len(sp.id_to_piece(i).replace("▁", " ").encode("utf-8"))
    has_leading_space[i] = piece.startswith("▁")
Legal alternative
    The reference builder: boundary ids 0 bytes; ``is_byte`` pieces 1 byte; otherwise strip one
    leading ``▁`` (setting ``has_leading_space``) and measure the rest.
How it is confirmed
    LUT rebuild from the shipped tokenizer and the decode invariant (package stage).
Ruling
    README rule (metric definition, reference train_gpt.py); Issue #897, Issue #1719; PR #1806.
Known gaps
    Byte sidecars and custom (non-SentencePiece) tokenizers are not checked here; a builder spread
    over several functions is judged per function.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, bytes_lut
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

_REFERENCE = '''
import numpy as np
def build_luts(sp, vocab_size):
    size = max(sp.vocab_size(), vocab_size)
    base = np.zeros(size, dtype=np.int16)
    lead = np.zeros(size, dtype=np.bool_)
    boundary = np.ones(size, dtype=np.bool_)
    for i in range(sp.vocab_size()):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
            continue
        boundary[i] = False
        if sp.is_byte(i):
            base[i] = 1
            continue
        piece = sp.id_to_piece(i)
        if piece.startswith("\u2581"):
            lead[i] = True
            piece = piece[1:]
        base[i] = len(piece.encode("utf-8"))
    return base, lead, boundary
'''


class ByteLutDeviation(Rule):
    code = "PG501"
    name = "byte-lut-deviation"
    rule_id = "TOKENIZER-BYTES"
    family = "METRIC"
    status = Status.README
    level = Level.FAIL
    rulings = ("README (metric definition)", "Issue #897", "Issue #1719", "PR #1806")
    ruling_url = "https://github.com/openai/parameter-golf/issues/897"
    probes = ("byte-accounting",)
    hint = "Build the byte tables exactly as the reference build_sentencepiece_luts does."

    VALID = [Valid(_REFERENCE, note="the reference LUT builder")]
    INVALID = [
        Invalid(
            _REFERENCE.replace("            piece = piece[1:]\n", "")
            .replace('base[i] = len(piece.encode("utf-8"))', 'base[i] = len(piece.replace("\u2581", " ").encode("utf-8"))'),
            lines=17,
            note="▁ turned into a space inside base_bytes while has_leading_space is also set (double count)",
        ),
        Invalid(
            _REFERENCE.replace("            base[i] = 1\n", '            base[i] = len("\\ufffd".encode())\n'),
            lines=12,
            note="byte-fallback piece charged 3 bytes",
        ),
        Invalid(
            _REFERENCE.replace(" or sp.is_unknown(i) or sp.is_unused(i)", ""),
            lines=18,
            note="unknown and unused ids measured as text",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for dev in a.fact(bytes_lut.build).deviations:
            finding = self.report(a, dev.line, f"byte LUT in `{dev.fn.qualname}`: {dev.what}")
            if finding is not None and not a.liveness(dev.fn.node).dead and not a.function_liveness(dev.fn).dead:
                yield finding
