from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from reference.corpus import (
    MIN_DOC_CHARS,
    EmbeddedDataset,
    build_dataset,
    build_embedded_dataset,
    num_val_documents,
    source_docstrings,
    topic_pages,
)
from reference.data import BOS_ID, load_data_shard, read_shard


def _digests(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}


def test_embedded_build_is_deterministic(embedded: EmbeddedDataset, tmp_path: Path) -> None:
    again = build_embedded_dataset(tmp_path)
    assert again.root.name == embedded.root.name  # same content key
    assert _digests(again.root) == _digests(embedded.root)
    assert sorted(p.name for p in embedded.root.iterdir()) == [
        "fineweb_train_000000.bin",
        "fineweb_val_000000.bin",
        "manifest.json",
        "tokenizer.model",
        "val_documents.json",
    ]


def test_embedded_build_is_cached(embedded: EmbeddedDataset, cache_dir: Path) -> None:
    stamp = embedded.tokenizer_path.stat().st_mtime_ns
    assert build_embedded_dataset(cache_dir) == embedded
    assert embedded.tokenizer_path.stat().st_mtime_ns == stamp
    assert [p.name for p in cache_dir.iterdir()] == [embedded.root.name]  # no leftover temp dirs


def test_embedded_sizes(embedded: EmbeddedDataset, sp: spm.SentencePieceProcessor) -> None:
    manifest = json.loads((embedded.root / "manifest.json").read_text())
    assert embedded.vocab_size == sp.vocab_size() == manifest["vocab_size"] == 1024
    assert manifest["num_val_docs"] == len(embedded.val_documents)
    assert manifest["num_docs"] > 2000
    val_share = manifest["val_text_bytes"] / (manifest["val_text_bytes"] + manifest["train_text_bytes"])
    assert 0.1 <= val_share < 0.11
    assert all(len(d) >= MIN_DOC_CHARS for d in embedded.val_documents)
    keys = [hashlib.sha256(d.encode()).digest() for d in embedded.val_documents]
    assert keys == sorted(keys)  # the deterministic hash order
    assert sum(read_shard(f).size for f in embedded.val_files) == manifest["val_tokens"]
    assert sum(read_shard(f).size for f in embedded.train_files) == manifest["train_tokens"]


def test_embedded_tokenizer_layout(sp: spm.SentencePieceProcessor) -> None:
    assert [sp.id_to_piece(i) for i in range(4)] == ["<pad>", "<s>", "</s>", "<unk>"]
    assert [sp.is_control(i) for i in range(4)] == [True, True, True, False]
    assert sp.is_unknown(3)
    assert all(sp.is_byte(i) and sp.id_to_piece(i) == f"<0x{i - 4:02X}>" for i in range(4, 260))
    assert sp.id_to_piece(sp.piece_to_id("\u2581")) == "\u2581"
    assert sp.encode("  Hello\n\n world  ", out_type=str)[0] != "\u2581"  # no dummy prefix, edges stripped


def test_val_shards_reproduce_encoded_documents(embedded: EmbeddedDataset, sp: spm.SentencePieceProcessor) -> None:
    stream = torch.cat([load_data_shard(f) for f in embedded.val_files]).tolist()
    expected = [t for doc in embedded.val_documents for t in [BOS_ID, *sp.encode(doc)]]
    assert stream == expected
    assert 2 not in stream  # no EOS


def test_custom_dataset_train_only_tokenizer_and_straddling(tmp_path: Path) -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "omega"]
    docs = [f"Жук {i}: " + "  ".join(words[(i + k) % 10] for k in range(12)) for i in range(3)]
    docs += [" ".join(words[(i * 3 + k) % 10] for k in range(30)) + f"\nline {i}" for i in range(60)]
    ds = build_dataset(docs, tmp_path / "ds", vocab_size=300, num_val_docs=3, shard_size=1000)
    sp = spm.SentencePieceProcessor(model_file=str(ds.tokenizer_path))
    assert ds.vocab_size == sp.vocab_size() <= 300
    assert ds.val_documents == docs[:3]
    # "Ж" and "у" appear only in val docs, so the train-only tokenizer spells them with byte pieces
    assert sp.encode("Жу", out_type=str) == ["<0xD0>", "<0x96>", "<0xD1>", "<0x83>"]
    train = [read_shard(f).tolist() for f in ds.train_files]
    assert len(train) > 1 and all(len(s) == 1000 for s in train[:-1])
    flat = [t for s in train for t in s]
    assert flat == [t for d in docs[3:] for t in [BOS_ID, *sp.encode(d)]]
    assert any(s[0] != BOS_ID for s in train[1:])  # a document straddles a shard boundary
    with pytest.raises(FileExistsError):
        build_dataset(docs, tmp_path / "ds", vocab_size=300, num_val_docs=3)
    with pytest.raises(ValueError, match="num_val_docs"):
        build_dataset(docs, tmp_path / "other", vocab_size=300, num_val_docs=len(docs))


def test_source_docstrings_order_and_nesting() -> None:
    source = b'''"""Module doc."""
import os
class A:
    """Class doc."""
    def f(self):
        """Method doc."""
        def inner():
            """Inner doc."""
if os.name:
    def g():
        """Conditional doc."""
else:
    def h():
        """Else doc."""
try:
    pass
except ImportError:
    async def k():
        """Handler doc."""
def nodoc():
    x = 1
'''
    assert source_docstrings(source) == [
        "Module doc.",
        "Class doc.",
        "Method doc.",
        "Inner doc.",
        "Conditional doc.",
        "Else doc.",
        "Handler doc.",
    ]
    assert source_docstrings(b"def broken(:\n") == []


def test_topic_pages_read_without_import() -> None:
    source = b"# autogenerated\ntopics = {'b': 'second page', 'a': 'first page'}\n"
    assert topic_pages(source) == ["first page", "second page"]


def test_num_val_documents() -> None:
    assert num_val_documents(["a" * 5, "b" * 3, "c" * 92], 0.1) == 3
    assert num_val_documents(["a" * 5, "b" * 5, "c" * 90], 0.1) == 2
    assert num_val_documents(["a" * 10, "b" * 90], 0.1) == 1
    assert num_val_documents(["é" * 5, "b" * 90], 0.1) == 1  # counted in UTF-8 bytes: 10 of 100
