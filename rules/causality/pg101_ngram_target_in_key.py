"""The scored target token is part of a count-table key read at scoring time.

What it detects
    A read ``table[key]`` (or ``.get`` / ``np.take`` / ``index_select``) whose key is computed from the
    label of the scored position together with other values — ``(ctx ^ y*P) & M``, ``prev*V + y``,
    a dict key ``(ctx, y)`` — and whose value reaches a ``log``, i.e. is used as a probability of that
    label. The label is found by data flow: the target of ``cross_entropy``/``nll_loss``, the index of
    a ``gather`` on log-probabilities, or the newest token ``T[p]`` of a positional n-gram key built
    with ``T[p - k]``. Hash helpers returning ``(ctx_key, full_key)`` are followed per element.
Why it breaks the metric
    C1-a: only the gold token's bucket is ever read, so the n-gram term re-weights the correct token
    alone; in the one-bucket limit its probability goes to 1 whatever the data. The prediction at t
    depends on x_t.
Example
    full_key = ((ctx_hash ^ (y_np * PRIME)) & MASK)
    p_ng = np.minimum(full[full_key], ctx[ctx_key]) / np.maximum(ctx[ctx_key], 1)
    nll = -np.log((1 - a) * p_model + a * p_ng)
Legal alternative
    Key the table on the context x[<t] only, read the counts of every candidate v, normalize over v,
    and score ``-log q[y]`` from that distribution; update the table after the position is scored.
    Input-keyed hash embeddings (BigramHash) are not lookups of a probability and are not flagged.
How it is confirmed
    flip-test (changing one target must not change any other position's NLL); normalization probe.
Ruling
    Maintainer ruling on PR #779 (target in the hash key); Issue #1017 condition 1.
Known gaps
    Keys built in C/C++/Triton kernels are not seen. Flow-insensitive taint: a name reused for a
    context value and a target value in one function can over-approximate. Tables read in one
    function and scored two or more calls away are not followed.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis, ngram, scoring
from auditor.findings import Confidence, Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class NgramTargetInKey(Rule):
    code = "PG101"
    name = "ngram-target-in-key"
    rule_id = "C1-a"
    family = "C1-CAUSAL"
    status = Status.RULING
    level = Level.FAIL
    confidence = Confidence.HIGH
    rulings = ("ruling on PR #779",)
    ruling_url = "https://github.com/openai/parameter-golf/pull/779"
    probes = ("vocab-sweep", "flip-test")
    hint = "Key the table on the context x[<t] only and score a full normalized distribution over the vocabulary."

    VALID = [
        Valid(
            """
            import torch
            import torch.nn.functional as F
            class BigramHash(torch.nn.Module):
                def __init__(self, buckets, dim):
                    super().__init__()
                    self.buckets = buckets
                    self.embed = torch.nn.Embedding(buckets, dim)
                def forward(self, ids):
                    h = torch.bitwise_xor(36313 * ids[:, 1:], 27191 * ids[:, :-1]) % self.buckets
                    return self.embed(h)
            def score(model, x, y):
                logits = model(x)
                return F.cross_entropy(logits, y, reduction="sum")
            """,
            note="legal look-alike: input-keyed BigramHash embedding",
        ),
        Valid(
            """
            import numpy as np
            def score(lp, tokens, table, k):
                total = 0.0
                for t in range(k, len(tokens)):
                    ctx = hash(tuple(tokens[t - k:t])) % table.shape[0]
                    row = table[ctx] + 0.1
                    q = 0.9 * np.exp(lp[t - 1]) + 0.1 * row / row.sum()
                    total -= np.log(q[tokens[t]])
                    table[ctx, tokens[t]] += 1
                return total
            """,
            note="legal look-alike: context-keyed full-vocabulary n-gram, normalized, updated after scoring",
        ),
        Valid(
            """
            import numpy as np
            def train_weights(counts, prev, y):
                idx = prev * counts.shape[1] + y
                return 1.0 - 0.5 * counts.reshape(-1)[idx] / counts.sum()
            """,
            note="target-keyed table used only as a training loss weight (never a probability in a log)",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import torch.nn.functional as F
            def score(logits, x_np, y, full, ctx, mask):
                lp = F.log_softmax(logits, dim=-1)
                p_model = lp.gather(-1, y.unsqueeze(-1)).squeeze(-1).exp().numpy()
                y_np = y.numpy()
                ctx_key = (x_np * 36313) & mask
                full_key = (ctx_key ^ (y_np * 27191)) & mask
                p_ng = np.minimum(full[full_key], ctx[ctx_key]) / np.maximum(ctx[ctx_key], 1.0)
                return -np.log(0.7 * p_model + 0.3 * p_ng)
            """,
            lines=9,
            note="target hashed into the full key; only the gold bucket is read",
        ),
        Invalid(
            """
            import numpy as np
            def keys(tokens, pos, order, mask):
                h = np.zeros(len(pos), dtype=np.uint64)
                for k in range(1, order):
                    h ^= tokens[pos - k] * (k + 7)
                return h & mask, (h ^ (tokens[pos] * 31)) & mask
            def blend(tokens, pos, p_model, ctx, full, mask):
                ck, fk = keys(tokens, pos, 3, mask)
                p = full[fk] / np.maximum(ctx[ck], 1.0)
                return -np.log(0.8 * p_model + 0.2 * p)
            """,
            lines=9,
            note="hash helper returns (ctx_key, full_key); the full key includes the token at the scored position",
        ),
        Invalid(
            """
            import os
            import torch
            USE_CACHE = int(os.environ.get("USE_CACHE", "0"))
            def score(logits, prev, tgt, pairs, totals):
                probs = torch.softmax(logits, dim=-1)
                p = pairs.get((prev, tgt), 0) / max(totals.get(prev, 0), 1)
                return -torch.log(0.9 * probs[..., tgt] + 0.1 * p)
            def main(logits, prev, tgt, pairs, totals):
                if USE_CACHE:
                    return score(logits, prev, tgt, pairs, totals)
                return torch.nn.functional.cross_entropy(logits, tgt)
            if __name__ == "__main__":
                main(None, 1, 2, {}, {})
            """,
            lines=6,
            level=Level.REVIEW,
            note="dict key (context, target), only reachable when USE_CACHE is switched on: REVIEW",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        for look in a.fact(ngram.build).lookups:
            finding = scoring.report(
                self,
                a,
                look.node,
                f"table `{look.table}` is read with a key that includes the scored target "
                f"(key built at line {look.key_line}) and the value is used as the label's probability",
                evidence=[a.source.excerpt(look.key_line).strip(), a.source.excerpt(look.node.lineno).strip()],
            )
            if finding is not None:
                yield finding
