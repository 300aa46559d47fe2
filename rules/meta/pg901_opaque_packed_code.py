"""Code run from a payload that cannot be decoded statically (opaque code).

What it detects
    An ``exec``/``eval``/``compile`` call (also through ``builtins``, ``__builtins__`` or an alias)
    whose argument is an encoded or compressed payload the decoder could not fold: a decoder or
    decompressor outside the whitelist (zstandard, brotli, marshal, pickle), a payload that is not
    valid for its codec, a decompressed size over the 16 MB cap, a payload that is not valid UTF-8,
    or code read from a file this tool cannot name. The folding is the loader's own
    (``auditor.decode.unpack``), so the rule fires exactly where the loader gave up.
Why it breaks the metric
    RULEBOOK §7: a packed script is analysed through its decoded text; code the auditor cannot read
    cannot be checked against any rule, so the verdict is REVIEW ("opaque code"), never PASS.
    Packing itself is not a violation.
Example
    import zstandard, base64
    exec(zstandard.decompress(base64.b85decode("...")))
Legal alternative
    Pack with the common shapes (base85/base64 + raw LZMA2, xz, zlib, gzip or bz2), or ship the
    plain script.
How it is confirmed
    static only
Ruling
    Tool policy from RULEBOOK §7.6 (decoding failure → REVIEW).
Known gaps
    A payload assembled by code the whitelist does not model (slicing, reversing, XOR) is opaque
    even when it is harmless; text built from run-time values is PG902's, not this rule's.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.analysis import Analysis
from auditor.analysis.files import exec_sites, file_facts
from auditor.decode.layers import undecodable
from auditor.decode.unpack import Unfoldable
from auditor.findings import Confidence, Finding, Level, Status
from auditor.rule import Invalid, Rule, Valid


class OpaquePackedCode(Rule):
    code = "PG901"
    name = "opaque-packed-code"
    rule_id = "PACKED"
    family = "META"
    status = Status.META
    level = Level.REVIEW
    confidence = Confidence.HIGH
    rulings = ("RULEBOOK §7.6",)
    hint = "Pack with base85/base64 + LZMA/xz/zlib/gzip/bz2, or ship the plain script, so the code can be audited."

    VALID = [
        Valid(
            """
            import lzma as L, base64 as B
            exec(L.decompress(B.b85decode("{Wp48S^xk9=GL@E0stWa761SMbT8$j0RRPfAUz;43IG5Aq^Ht+^!n4s00ABb!7rp8AGY&-0RR9100dcD")))
            """,
            note="a decodable xz payload is read by the loader, not opaque",
        ),
        Valid(
            """
            import re, torch
            model = torch.compile(torch.nn.Linear(2, 2))
            model.eval()
            pattern = re.compile("x+")
            """,
            note="legal look-alike: methods and library functions named eval/compile",
        ),
        Valid(
            """
            import os
            exec(open(os.path.join(os.path.dirname(__file__), "train_impl.py")).read())
            """,
            note="a trampoline to a named sibling is followed by the loader (PG904 if it is missing)",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import zstandard, base64
            exec(zstandard.ZstdDecompressor().decompress(base64.b85decode("c${Nk")))
            """,
            lines=2,
            note="decompressor outside the whitelist",
        ),
        Invalid(
            """
            import lzma, base64
            blob = "not base85 ~~~"
            exec(lzma.decompress(base64.b85decode(blob)))
            """,
            lines=3,
            note="payload is not valid base85",
        ),
        Invalid(
            """
            import os
            import builtins
            builtins.exec(open(os.environ["CODE_PATH"]).read())
            """,
            lines=3,
            note="code read from a file named at run time",
        ),
    ]

    def check(self, a: Analysis) -> Iterator[Finding]:
        sites = a.fact(exec_sites)
        needs_refs = any(isinstance(s.result, Unfoldable) and s.result.kind == "file" for s in sites)
        refs = a.fact(file_facts).refs if needs_refs else []
        for site in sites:
            reason = undecodable(site, refs)
            if reason is not None:
                yield self.report(a, site.node, f"{site.runner}() runs code this tool cannot decode: {reason}")
