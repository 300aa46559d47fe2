from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reference.data import (
    DistributedTokenLoader,
    TokenStream,
    load_validation_tokens,
    read_shard,
    resolve_dataset,
    shard_files,
    shard_name,
    write_shard,
    write_split,
)


def test_shard_round_trip_exact_layout(tmp_path: Path) -> None:
    path = tmp_path / shard_name("val", 0)
    write_shard(path, [1, 0, 65535, 300, 7])
    raw = path.read_bytes()
    assert len(raw) == 1024 + 2 * 5
    header = np.frombuffer(raw[:1024], dtype="<i4")
    assert header[:3].tolist() == [20240520, 1, 5]
    assert not header[3:].any()
    assert raw[1024:] == bytes([1, 0, 0, 0, 255, 255, 44, 1, 7, 0])
    tokens = read_shard(path)
    assert tokens.dtype == np.uint16
    assert tokens.tolist() == [1, 0, 65535, 300, 7]


def test_empty_shard_round_trip(tmp_path: Path) -> None:
    write_shard(tmp_path / "e.bin", [])
    assert read_shard(tmp_path / "e.bin").tolist() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [(0, 20240521), (1, 2)],
    ids=["bad-magic", "bad-version"],
)
def test_reader_rejects_bad_header(tmp_path: Path, field: int, value: int) -> None:
    path = tmp_path / "s.bin"
    write_shard(path, [1, 2, 3])
    raw = bytearray(path.read_bytes())
    raw[4 * field : 4 * field + 4] = np.int32(value).tobytes()
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="header"):
        read_shard(path)


@pytest.mark.parametrize("delta", [-1, 1, 2], ids=["truncated", "odd-extra-byte", "extra-token"])
def test_reader_rejects_wrong_size(tmp_path: Path, delta: int) -> None:
    path = tmp_path / "s.bin"
    write_shard(path, [1, 2, 3])
    raw = path.read_bytes()
    path.write_bytes(raw[:delta] if delta < 0 else raw + b"\0" * delta)
    with pytest.raises(ValueError, match="size mismatch"):
        read_shard(path)


def test_reader_rejects_short_header(tmp_path: Path) -> None:
    path = tmp_path / "s.bin"
    path.write_bytes(np.array([20240520, 1, 0], dtype="<i4").tobytes())
    with pytest.raises(ValueError, match="header"):
        read_shard(path)


@pytest.mark.parametrize(("tokens", "vocab"), [([65536], None), ([-1], None), ([5, 1024], 1024)])
def test_writer_rejects_out_of_range_ids(tmp_path: Path, tokens: list[int], vocab: int | None) -> None:
    with pytest.raises(ValueError, match="token ids"):
        write_shard(tmp_path / "s.bin", tokens, vocab)
    assert not (tmp_path / "s.bin").exists()


def test_shard_names() -> None:
    assert shard_name("train", 12) == "fineweb_train_000012.bin"
    assert shard_name("val", 0) == "fineweb_val_000000.bin"
    with pytest.raises(ValueError):
        shard_name("test", 0)


def test_write_split_documents_straddle_shards(tmp_path: Path) -> None:
    paths = write_split([[5, 6, 7], [8, 9], [10, 11, 12, 13]], tmp_path, "train", shard_size=4)
    assert [p.name for p in paths] == [f"fineweb_train_00000{i}.bin" for i in range(3)]
    assert [read_shard(p).tolist() for p in paths] == [[1, 5, 6, 7], [1, 8, 9, 1], [10, 11, 12, 13]]


def test_write_split_exact_fill_leaves_no_empty_shard(tmp_path: Path) -> None:
    paths = write_split([[5], [6, 7]], tmp_path, "val", shard_size=5)
    assert [read_shard(p).tolist() for p in paths] == [[1, 5, 1, 6, 7]]


def test_shard_files_sorted_and_skip_byte_sidecar(tmp_path: Path) -> None:
    for name in ["fineweb_val_000001.bin", "fineweb_val_bytes_000000.bin", "fineweb_val_000000.bin"]:
        write_shard(tmp_path / name, [1])
    assert [p.name for p in shard_files(str(tmp_path / "fineweb_val_*.bin"))] == [
        "fineweb_val_000000.bin",
        "fineweb_val_000001.bin",
    ]
    with pytest.raises(FileNotFoundError):
        shard_files(str(tmp_path / "fineweb_train_*.bin"))


def test_load_validation_tokens_truncation(tmp_path: Path) -> None:
    write_shard(tmp_path / "fineweb_val_000000.bin", range(6))
    write_shard(tmp_path / "fineweb_val_000001.bin", range(6, 11))
    tokens = load_validation_tokens(str(tmp_path / "fineweb_val_*.bin"), 4)
    # 11 tokens -> 10 targets -> 2 whole windows of 4 -> 8 targets + 1
    assert tokens.tolist() == list(range(9))
    assert load_validation_tokens(str(tmp_path / "fineweb_val_*.bin"), 5).tolist() == list(range(11))
    with pytest.raises(ValueError, match="too short"):
        load_validation_tokens(str(tmp_path / "fineweb_val_*.bin"), 11)


def _arange_shards(tmp_path: Path, sizes: list[int]) -> str:
    start = 0
    for i, n in enumerate(sizes):
        write_shard(tmp_path / shard_name("train", i), range(start, start + n))
        start += n
    return str(tmp_path / "fineweb_train_*.bin")


def test_token_stream_crosses_shards_and_wraps(tmp_path: Path) -> None:
    stream = TokenStream(_arange_shards(tmp_path, [5, 3]))
    assert stream.take(4).tolist() == [0, 1, 2, 3]
    assert stream.take(6).tolist() == [4, 5, 6, 7, 0, 1]
    assert stream.take(2).tolist() == [2, 3]


def test_distributed_loader_rank_spans(tmp_path: Path) -> None:
    pattern = _arange_shards(tmp_path, [100, 57, 300])
    world, seq_len, accum, global_tokens = 3, 4, 2, 48  # local = 48 // (3 * 2) = 8 tokens, span 9
    loaders = [DistributedTokenLoader(pattern, r, world) for r in range(world)]
    for step in range(6):
        spans = []
        for rank, loader in enumerate(loaders):
            x, y = loader.next_batch(global_tokens, seq_len, accum)
            assert x.shape == y.shape == (2, seq_len) and x.dtype == torch.int64
            flat_x, flat_y = x.reshape(-1), y.reshape(-1)
            assert torch.equal(flat_x[1:], flat_y[:-1])
            begin = (step * world + rank) * 9 % 457
            assert flat_x.tolist() == [(begin + i) % 457 for i in range(8)]
            assert flat_y.tolist() == [(begin + 1 + i) % 457 for i in range(8)]
            spans.append(set(((begin + i) % 457 for i in range(9))))
        assert all(spans[a].isdisjoint(spans[b]) for a in range(world) for b in range(a + 1, world))
    # the stream advanced by world * (local + 1) per step
    assert loaders[0].stream.take(1).tolist() == [6 * world * 9 % 457]


def test_distributed_loader_rejects_bad_batch(tmp_path: Path) -> None:
    loader = DistributedTokenLoader(_arange_shards(tmp_path, [50]), 0, 2)
    with pytest.raises(ValueError, match="multiple"):
        loader.next_batch(20, 4, 1)  # 10 local tokens are not whole sequences


def test_resolve_dataset_env_and_embedded(monkeypatch: pytest.MonkeyPatch, cache_dir: Path, embedded) -> None:
    monkeypatch.setenv("DATA_PATH", "/data/fineweb10B_sp1024")
    monkeypatch.setenv("TOKENIZER_PATH", "/tok/fineweb_1024_bpe.model")
    paths = resolve_dataset()
    assert paths.data_path == Path("/data/fineweb10B_sp1024")
    assert paths.tokenizer_path == Path("/tok/fineweb_1024_bpe.model")
    assert paths.val_pattern == "/data/fineweb10B_sp1024/fineweb_val_*.bin"
    assert paths.train_pattern == "/data/fineweb10B_sp1024/fineweb_train_*.bin"
    monkeypatch.delenv("TOKENIZER_PATH")
    with pytest.raises(ValueError, match="both"):
        resolve_dataset()
    monkeypatch.delenv("DATA_PATH")
    monkeypatch.setenv("PGOLF_CACHE", str(cache_dir))
    assert resolve_dataset() == embedded.paths
