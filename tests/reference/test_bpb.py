from __future__ import annotations

import math

import numpy as np
import pytest
import sentencepiece as spm
import torch

from reference.bpb import audit_byte_function, bits_per_byte, ground_truth_document_bytes, split_documents
from reference.corpus import EmbeddedDataset
from reference.data import BOS_ID
from reference.tokenizer import ByteLuts, assert_standalone_space, build_sentencepiece_luts, encode_document

SPACE = "\u2581"


def _stream(sp: spm.SentencePieceProcessor, docs: list[str]) -> torch.Tensor:
    return torch.tensor([t for d in docs for t in encode_document(sp, d)], dtype=torch.int64)


def _lut_total(luts: ByteLuts, stream: torch.Tensor) -> int:
    return int(luts.token_bytes(stream[:-1], stream[1:]).sum())


def test_bits_per_byte() -> None:
    assert bits_per_byte(math.log(2.0) * 300, 300) == 1.0
    assert bits_per_byte(0.0, 7) == 0.0
    assert bits_per_byte(math.log(2.0) * 50, 100) == 0.5
    with pytest.raises(ValueError):
        bits_per_byte(1.0, 0)


def test_lut_construction(sp: spm.SentencePieceProcessor, luts: ByteLuts) -> None:
    assert luts.base_bytes.dtype == torch.int16 and luts.base_bytes.numel() == 1024
    assert luts.is_boundary[:4].tolist() == [True] * 4
    assert luts.base_bytes[:4].tolist() == [0] * 4 and not luts.has_leading_space[:4].any()
    assert luts.base_bytes[4:260].tolist() == [1] * 256 and not luts.has_leading_space[4:260].any()
    assert not luts.is_boundary[4:].any()
    space = sp.piece_to_id(SPACE)
    assert (luts.base_bytes[space].item(), luts.has_leading_space[space].item()) == (0, True)
    for i in range(260, 1024):
        piece = sp.id_to_piece(i)
        assert luts.has_leading_space[i].item() == piece.startswith(SPACE)
        assert luts.base_bytes[i].item() == len(piece.removeprefix(SPACE).encode())
    wide = build_sentencepiece_luts(sp, 1100)  # ids past the tokenizer are boundaries with 0 bytes
    assert wide.base_bytes.numel() == 1100 and wide.is_boundary[1024:].all() and not wide.base_bytes[1024:].any()
    assert_standalone_space(sp)


def test_lut_bytes_equal_ground_truth_on_whole_val_set(
    embedded: EmbeddedDataset, sp: spm.SentencePieceProcessor, luts: ByteLuts, val_stream: torch.Tensor
) -> None:
    per_doc = ground_truth_document_bytes(sp, val_stream)
    assert len(per_doc) == len(embedded.val_documents)
    assert per_doc == [len(sp.decode(sp.encode(d)).encode()) for d in embedded.val_documents]
    lut_total = _lut_total(luts, val_stream)
    assert lut_total == sum(per_doc)
    # per document too: each document's targets run from its first token to the next BOS
    starts = (val_stream == BOS_ID).nonzero().flatten().tolist() + [val_stream.numel()]
    b = luts.token_bytes(val_stream[:-1], val_stream[1:])
    assert [int(b[s : e - 1].sum()) for s, e in zip(starts[:-1], starts[1:])] == per_doc
    # normalization only ever removes bytes (whitespace runs, edges)
    assert lut_total < sum(len(d.encode()) for d in embedded.val_documents)


@pytest.mark.parametrize(
    ("text", "normalized_bytes"),
    [
        ("plain words here", 16),
        ("naïve café — 東京", 23),  # 2- and 3-byte characters, here all byte-fallback pieces
        ("  leading and trailing  ", 20),  # edges stripped
        ("double  space\tand\nnewline", 24),  # each whitespace run is one byte
        ("x \U0001f600 y", 8),  # an emoji absent from training: 4 byte-fallback pieces
        ("\u2581 literal", 7),  # U+2581 in the text is the meta symbol: a space, stripped at the edge
        ("a\u2581b", 3),
        ("123 4567", 8),
    ],
)
def test_crafted_strings(
    sp: spm.SentencePieceProcessor, luts: ByteLuts, text: str, normalized_bytes: int
) -> None:
    assert len(sp.decode(sp.encode(text)).encode()) == normalized_bytes
    for docs in ([text], [text, text, "tail"]):  # BOS at every document start
        stream = _stream(sp, docs)
        assert _lut_total(luts, stream) == sum(ground_truth_document_bytes(sp, stream))
    assert _lut_total(luts, _stream(sp, [text])) == normalized_bytes


def test_byte_fallback_is_one_byte_per_piece(sp: spm.SentencePieceProcessor, luts: ByteLuts) -> None:
    ids = sp.encode("\U0001f600")
    assert [sp.id_to_piece(i) for i in ids] == ["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]
    stream = _stream(sp, ["\U0001f600"])
    assert luts.token_bytes(stream[:-1], stream[1:]).tolist() == [1, 1, 1, 1]


def test_leading_space_charged_except_after_bos(sp: spm.SentencePieceProcessor, luts: ByteLuts) -> None:
    the = sp.piece_to_id(SPACE + "the")
    assert sp.id_to_piece(the) == SPACE + "the"
    stream = torch.tensor([BOS_ID, the, the, BOS_ID, the])
    assert luts.token_bytes(stream[:-1], stream[1:]).tolist() == [3, 4, 0, 3]


def test_split_documents(sp: spm.SentencePieceProcessor) -> None:
    assert split_documents(sp, [1, 5, 6, 1, 1, 7, 2, 8]) == [[5, 6], [7], [8]]
    assert split_documents(sp, [9, 1, 5]) == [[9], [5]]


def _true_luts(luts: ByteLuts) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return luts.base_bytes.clone(), luts.has_leading_space.clone(), luts.is_boundary.clone()


def test_audit_accepts_the_reference(sp: spm.SentencePieceProcessor, luts: ByteLuts, val_stream: torch.Tensor) -> None:
    audit = audit_byte_function(sp, _true_luts(luts), val_stream)
    assert audit.ok and audit.reference_exact and audit.inflation == 1.0
    assert audit.num_targets == val_stream.numel() - 1
    assert audit.candidate_total == audit.reference_total == _lut_total(luts, val_stream)


def test_audit_finds_missing_leading_space(sp: spm.SentencePieceProcessor, luts: ByteLuts, val_stream: torch.Tensor) -> None:
    base, space, boundary = _true_luts(luts)
    audit = audit_byte_function(sp, (base.numpy(), np.zeros(1024, dtype=bool), boundary.numpy()), val_stream)
    prev, ids = val_stream[:-1], val_stream[1:]
    charged = luts.has_leading_space[ids] & ~luts.is_boundary[prev]
    expected_ids = sorted(set(ids[charged].tolist()))
    assert audit.mismatched_ids == expected_ids
    assert all(sp.id_to_piece(i).startswith(SPACE) for i in expected_ids)
    for m in audit.mismatches:
        assert m.piece == sp.id_to_piece(m.token_id)
        assert m.count == int((charged & (ids == m.token_id)).sum())
        assert m.reference_bytes - m.candidate_bytes == m.count
        assert val_stream[m.first_position].item() == m.token_id
    assert audit.reference_total - audit.candidate_total == int(charged.sum())
    assert audit.inflation < 1.0 and audit.reference_exact


def test_audit_finds_mis_sized_byte_tokens(sp: spm.SentencePieceProcessor, luts: ByteLuts) -> None:
    base, space, boundary = _true_luts(luts)
    base[4:260] = 3  # the U+FFFD length instead of one byte (rejected PRs #1143/#1184)
    stream = _stream(sp, ["emoji \U0001f600 and", "\U0001f600"])
    audit = audit_byte_function(sp, (base, space, boundary), stream)
    assert audit.mismatched_ids == sorted({0xF0 + 4, 0x9F + 4, 0x98 + 4, 0x80 + 4})
    by_id = {m.token_id: m for m in audit.mismatches}
    assert (by_id[0xF0 + 4].count, by_id[0xF0 + 4].reference_bytes, by_id[0xF0 + 4].candidate_bytes) == (2, 2, 6)
    assert by_id[0x80 + 4].piece == "<0x80>"
    assert audit.candidate_total - audit.reference_total == 16
    assert audit.reference_exact


def test_audit_callable_double_counted_space(sp: spm.SentencePieceProcessor, luts: ByteLuts) -> None:
    def double_count(prev: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        # the space inside base_bytes and again via the flag (pitfall (c) of §2.3)
        return luts.token_bytes(prev, ids) + luts.has_leading_space[ids].long()

    stream = _stream(sp, ["the cat sat on the mat"])
    audit = audit_byte_function(sp, double_count, stream)
    spaced = [t for t in stream[1:].tolist() if luts.has_leading_space[t]]
    assert audit.mismatched_ids == sorted(set(spaced))
    assert audit.candidate_total == audit.reference_total + len(spaced) == 22 + 5


def test_audit_rejects_bad_candidates(sp: spm.SentencePieceProcessor, luts: ByteLuts) -> None:
    stream = _stream(sp, ["hello world"])
    with pytest.raises(ValueError, match="smaller"):
        audit_byte_function(sp, (luts.base_bytes[:10], luts.has_leading_space[:10], luts.is_boundary[:10]), stream)
    with pytest.raises(ValueError, match="byte counts"):
        audit_byte_function(sp, lambda prev, ids: [1], stream)
