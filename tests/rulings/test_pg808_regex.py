"""PG808 reads every code-size dialect the logs print (RULEBOOK §11.5): ``Code size: N bytes`` and
``Code size (compressed|uncompressed): N bytes``."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")  # the dynamic probes' package imports torch

from auditor.dynamic.probes.pg808_artifact_accounting import _CODE_SIZE


@pytest.mark.parametrize("line,kind,n", [
    ("Code size: 48123 bytes", None, "48123"),
    ("Code size (compressed): 27310 bytes", "compressed", "27310"),
    ("Code size (uncompressed): 116694 bytes", "uncompressed", "116694"),
    ("code_bytes=5120", None, "5120"),
])
def test_code_size_dialects(line: str, kind: str | None, n: str) -> None:
    m = _CODE_SIZE.search(line)
    assert m is not None and (m.group("kind"), m.group("n")) == (kind, n)
