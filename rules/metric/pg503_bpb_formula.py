"""val_bpb is computed other than ``(loss_sum / ln 2) / byte_sum`` over the scored tokens.

What it detects
    The value an evaluator returns (or logs under ``val_bpb:``), flattened through its products,
    quotients and local assignments: (1) bits per *token* — the loss is divided by ln 2 and by token
    counts (``numel``/``len``/``size`` sums, or a mean cross-entropy) but never by the bytes that the
    script measures with its LUTs; (2) ln 2 applied twice, or to a loss accumulated with ``log2``;
    (3) a loss divided by the byte sum with no ln 2 (nats per byte); (4) the base-bytes table read at
    positions that are not the scored labels of the same function (bytes of other positions).
Why it breaks the metric
    BPB-FORMULA: ``val_bpb = loss_sum / (ln 2 · bytes)`` with loss and bytes summed over the same
    scored positions. Tokens cover several bytes each, so bits per token is several times bits per
    byte; a double ln 2 shrinks the number by 31 %; nats are 44 % larger than bits.
Example
    val_bpb = (loss_sum / tok_count) / math.log(2)      # byte_sum is computed and ignored
Legal alternative
    The reference: ``val_loss = loss_sum / tok``; ``val_bpb = val_loss / ln 2 * (tok / bytes)``, or
    ``(loss_sum / ln 2) / byte_sum``, with bytes from the LUTs (or a sidecar) at the scored labels.
How it is confirmed
    implied-byte-total check on the headline log line (package stage); byte-accounting probe.
Ruling
    README rule (metric definition, reference train_gpt.py); Issue #1017 section V.
Known gaps
    Byte tables are known only when a SentencePiece LUT builder is found; byte sidecars and byte
    sums accumulated inside another function count as unknown (no finding). Loss and bytes summed
    over differently *sliced* labels (``nll[:, s:]`` against ``y``) are not compared. Byte-level
    vocabularies (one token = one byte) are not flagged for bits per token.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

from auditor.analysis import Analysis, bpb, scoring
from auditor.findings import Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid

_LUTS = '''
import math
import numpy as np
import torch
import torch.nn.functional as F

def build_luts(sp, vocab_size):
    base = np.zeros(vocab_size, dtype=np.int16)
    lead = np.zeros(vocab_size, dtype=np.bool_)
    boundary = np.ones(vocab_size, dtype=np.bool_)
    for i in range(sp.vocab_size()):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
            continue
        boundary[i] = False
        if sp.is_byte(i):
            base[i] = 1
            continue
        piece = sp.id_to_piece(i)
        if piece.startswith("\\u2581"):
            lead[i] = True
            piece = piece[1:]
        base[i] = len(piece.encode("utf-8"))
    return torch.from_numpy(base), torch.from_numpy(lead), torch.from_numpy(boundary)

def main(sp, model, val_tokens, seq_len):
    base, lead, boundary = build_luts(sp, 1024)
    return evaluate(model, val_tokens, seq_len, base, lead, boundary)
'''  # 25 lines: the cases' evaluators start at line 26

_EVAL_HEAD = '''
def evaluate(model, val_tokens, seq_len, base, lead, boundary):
    loss_sum = torch.zeros((), dtype=torch.float64)
    tok_count = torch.zeros((), dtype=torch.float64)
    byte_sum = torch.zeros((), dtype=torch.float64)
    for ws in range(0, val_tokens.numel() - seq_len, seq_len):
        x = val_tokens[ws:ws + seq_len][None]
        y = val_tokens[ws + 1:ws + seq_len + 1][None]
        nll = F.cross_entropy(model(x)[0], y[0], reduction="none")
        loss_sum += nll.double().sum()
        tok_count += y.numel()
        tb = base[y].double() + (lead[y] & ~boundary[x]).double()
        byte_sum += tb.sum()
'''  # lines 26-38


# a sliding-window evaluator: the loss reads `targets`, the byte LUT a second name for the same label slice
_SLIDING = _LUTS.strip("\n") + "\n" + '''
def evaluate(model, val_tokens, seq_len, base, lead, boundary, stride=64):
    loss_sum, byte_sum = 0.0, 0.0
    for ws in range(0, val_tokens.numel() - seq_len, stride):
        chunk = val_tokens[ws:ws + seq_len + 1][None]
        x_batch = chunk[:, :-1]
        y_batch = chunk[:, 1:]
        s = 0 if ws == 0 else seq_len - stride
        logits = model(chunk[:, :-1])[:, s:]
        targets = y_batch[:, s:].reshape(-1)
        nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets, reduction="sum")
        loss_sum += float(nll)
        tgt = y_batch[:, s:].reshape(-1)
        prev = x_batch[:, s:].reshape(-1)
        tb = base[tgt].double() + (lead[tgt] & ~boundary[prev]).double()
        byte_sum += float(tb.sum())
    return loss_sum / math.log(2.0) / byte_sum
'''  # the byte line is line 41


def _case(tail: str) -> str:
    body = textwrap.indent(textwrap.dedent(tail).strip("\n"), "    ")
    return _LUTS.strip("\n") + "\n" + _EVAL_HEAD.strip("\n") + "\n" + body + "\n"


class BpbFormula(Rule):
    code = "PG503"
    name = "bpb-formula"
    rule_id = "BPB-FORMULA"
    family = "METRIC"
    status = Status.README
    level = Level.FAIL
    rulings = ("README (metric definition)", "Issue #1017 section V")
    ruling_url = "https://github.com/openai/parameter-golf/issues/1017"
    probes = ("byte-accounting",)
    hint = "Return (loss_sum / ln 2) / byte_sum, with loss and bytes summed over the same scored labels."

    VALID = [
        Valid(_case("""
            val_loss = loss_sum / tok_count
            bits_per_token = val_loss.item() / math.log(2.0)
            tokens_per_byte = tok_count.item() / byte_sum.item()
            return float(val_loss.item()), float(bits_per_token * tokens_per_byte)
            """), note="the reference eval_val formula"),
        Valid(_case("""
            return (loss_sum.item() / math.log(2)) / byte_sum.item()
            """), note="loss_sum / (ln 2 * bytes), written directly"),
        Valid(_case("""
            val_loss = (loss_sum / tok_count).item()
            return val_loss, val_loss / math.log(2.0) * (tok_count.item() / max(byte_sum.item(), 1))
            """), note="sliding-window style running bpb with a guarded denominator"),
        Valid("""
            import math
            def evaluate(model, val_tokens):
                loss_sum, count = 0.0, 0
                for x, y in val_tokens:
                    loss_sum += float(model(x, y)) * y.numel()
                    count += y.numel()
                return loss_sum / count / math.log(2.0)
            """, note="byte-level vocabulary (no tokenizer LUTs): one token is one byte"),
        Valid(_SLIDING, note="legal look-alike: the byte LUT is indexed through a second name bound to the same "
                             "label slice as the loss's targets"),
    ]
    INVALID = [
        Invalid(_case("""
            val_loss = loss_sum / tok_count
            return val_loss.item(), val_loss.item() / math.log(2.0)
            """), lines=40, note="bits per token: byte_sum is computed but not used"),
        Invalid(_case("""
            bits = loss_sum / math.log(2)
            return bits.item() / math.log(2) / byte_sum.item()
            """), lines=40, note="ln 2 applied twice"),
        Invalid(_case("""
            return loss_sum.item() / byte_sum.item()
            """), lines=39, note="nats per byte: no ln 2"),
        Invalid(_LUTS.strip("\n") + "\n" + '''
def evaluate(model, val_tokens, seq_len, base, lead, boundary):
    loss_sum, byte_sum = 0.0, 0.0
    for ws in range(0, val_tokens.numel() - seq_len, seq_len):
        x = val_tokens[ws:ws + seq_len]
        y = val_tokens[ws + 1:ws + seq_len + 1]
        loss_sum += float(F.cross_entropy(model(x[None])[0], y, reduction="sum"))
        byte_sum += float(base[x].sum())
    return loss_sum / math.log(2.0) / byte_sum
''', lines=34, note="bytes of the inputs x, not of the scored labels y"),
        Invalid(_SLIDING.replace("tb = base[tgt].double() + (lead[tgt]", "tb = base[prev].double() + (lead[prev]"),
                lines=41, note="sliding window: bytes of the inputs x_batch, not of the labels y_batch"),
        Invalid(_case("""
            if int(os.environ.get("REPORT_BITS_PER_TOKEN", "0")):
                return loss_sum.item() / tok_count.item() / math.log(2.0)
            return loss_sum.item() / math.log(2.0) / byte_sum.item()
            """).replace("import math", "import math\nimport os"), lines=41, level=Level.REVIEW,
            note="bits per token, on a path only an env flag turns on"),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        facts = a.fact(bpb.build)
        for d in [*facts.defects, *facts.positions]:
            finding = scoring.report(self, a, d.node, d.what)
            if finding is not None:
                yield finding
