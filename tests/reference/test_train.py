"""The trainer and CLIs end to end on the embedded dataset: log formats, outputs, schedule and reset behaviour."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from reference.cli import eval_main, train_main
from reference.data import DatasetPaths, load_validation_tokens, read_shard, resolve_dataset, shard_files, write_shard
from reference.export import code_bytes
from reference.presets import PRESETS
from reference.tokenizer import build_sentencepiece_luts, load_tokenizer

FLOAT4 = r"\d+\.\d{4}"
FLOAT8 = r"\d+\.\d{8}"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matmuls gain nothing from a second intra-op thread, and on a busy 2-core machine OpenMP spin-waits
    make two threads several times slower; one keeps these tests' time predictable."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> DatasetPaths:
    mp = pytest.MonkeyPatch()
    mp.delenv("DATA_PATH", raising=False)
    mp.delenv("TOKENIZER_PATH", raising=False)
    try:
        return resolve_dataset()
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def small_val_dataset(dataset, tmp_path_factory) -> Path:
    """The embedded dataset with its val split cut to 4,097 tokens, for the runs that only check behaviour."""
    root = tmp_path_factory.mktemp("small_val")
    val = np.concatenate([read_shard(f) for f in shard_files(dataset.val_pattern)])[: 4096 + 1]
    write_shard(root / "fineweb_val_000000.bin", val)
    for f in shard_files(dataset.train_pattern):
        (root / f.name).symlink_to(f)
    (root / "tokenizer.model").symlink_to(dataset.tokenizer_path)
    return root


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _one(lines: list[str], pattern: str) -> re.Match:
    found = [m for m in (re.fullmatch(pattern, line) for line in lines) if m]
    assert len(found) == 1, (pattern, found)
    return found[0]


def unigram_bits_per_byte(dataset: DatasetPaths, seq_len: int) -> float:
    """Cross-entropy of the val targets under the train unigram distribution (add-one smoothed), per val byte:
    the bpb of the best context-free model."""
    train = np.concatenate([read_shard(f) for f in shard_files(dataset.train_pattern)]).astype(np.int64)
    sp = load_tokenizer(dataset.tokenizer_path)
    counts = np.bincount(train, minlength=sp.vocab_size()).astype(np.float64)
    p = (counts + 1) / (counts.sum() + counts.size)
    val = load_validation_tokens(dataset.val_pattern, seq_len).long()
    val_bytes = int(build_sentencepiece_luts(sp).token_bytes(val[:-1], val[1:]).sum())
    return float(-np.log2(p[val[1:].numpy()]).sum()) / val_bytes


@pytest.fixture(scope="module")
def tiny_run(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny_run")
    mp = pytest.MonkeyPatch()
    mp.delenv("DATA_PATH", raising=False)
    mp.delenv("TOKENIZER_PATH", raising=False)
    try:
        assert train_main(["--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    finally:
        mp.undo()
    return out


def test_tiny_run_beats_the_unigram_entropy(tiny_run, dataset):
    lines = _lines(tiny_run / "train_seed1337.log")
    m = _one(lines, rf"final_int8_zlib_roundtrip_exact val_loss:({FLOAT8}) val_bpb:({FLOAT8})")
    unigram = unigram_bits_per_byte(dataset, PRESETS["tiny"].train.train_seq_len)
    assert 3.0 < unigram < 3.6
    assert float(m.group(2)) < unigram - 0.5


def test_tiny_run_logs_in_the_baseline_format(tiny_run):
    lines = _lines(tiny_run / "train_seed1337.log")
    assert "model_params:123464" in lines
    assert "world_size:1 grad_accum_steps:1" in lines
    assert "train_batch_tokens:1024 train_seq_len:128 iterations:150 warmup_steps:2 max_wallclock_seconds:0.000" in lines
    assert ["warmup_step:1/2", "warmup_step:2/2"] == [x for x in lines if x.startswith("warmup_step:")]
    train_steps = [int(m.group(1)) for m in (re.fullmatch(rf"step:(\d+)/150 train_loss:{FLOAT4} train_time:\d+ms step_avg:\d+\.\d{{2}}ms", x) for x in lines) if m]
    assert train_steps == [*range(1, 11), 25, 50, 75, 100, 125, 150]
    _one(lines, rf"step:150/150 val_loss:{FLOAT4} val_bpb:{FLOAT4} train_time:\d+ms step_avg:\d+\.\d{{2}}ms")
    artifact = tiny_run / "final_model_seed1337.int8_zlib.ptz"
    size = int(_one(lines, r"Serialized model int8\+zlib: (\d+) bytes \(payload:248096 raw_torch:\d+ payload_ratio:\d+\.\d{2}x\)").group(1))
    assert size == artifact.stat().st_size
    total = int(_one(lines, r"Total submission size int8\+zlib: (\d+) bytes").group(1))
    assert total == size + code_bytes()
    _one(lines, rf"final_int8_zlib_roundtrip val_loss:{FLOAT4} val_bpb:{FLOAT4} eval_time:\d+ms")


def test_tiny_run_writes_a_record_folder(tiny_run):
    assert {p.name for p in tiny_run.iterdir()} == {
        "train_seed1337.log",
        "final_model_seed1337.int8_zlib.ptz",
        "config.json",
        "submission.json",
        "README.md",
    }
    sub = json.loads((tiny_run / "submission.json").read_text())
    lines = _lines(tiny_run / "train_seed1337.log")
    loss, bpb = (float(g) for g in _one(lines, rf"final_int8_zlib_roundtrip_exact val_loss:({FLOAT8}) val_bpb:({FLOAT8})").groups())
    total = int(_one(lines, r"Total submission size int8\+zlib: (\d+) bytes").group(1))
    assert sub["val_bpb"] == bpb and sub["val_loss"] == loss and sub["seeds"] == [1337]
    assert sub["seed_results"]["1337"]["artifact_bytes"] == total == sub["bytes_total"]
    assert sub["seed_results"]["1337"]["steps"] == 150
    assert sub["bytes_code"] == code_bytes()
    assert {"author", "github_id", "name", "blurb", "date", "track", "hardware", "pytorch_version"} <= sub.keys()


def test_pgolf_eval_reproduces_the_round_trip_score(tiny_run, capsys, monkeypatch):
    monkeypatch.delenv("DATA_PATH", raising=False)
    monkeypatch.delenv("TOKENIZER_PATH", raising=False)
    lines = _lines(tiny_run / "train_seed1337.log")
    expected = _one(lines, rf"final_int8_zlib_roundtrip_exact (val_loss:{FLOAT8} val_bpb:{FLOAT8})").group(1)
    assert eval_main(["--artifact", str(tiny_run / "final_model_seed1337.int8_zlib.ptz")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"final_eval_exact {expected}"


@pytest.mark.parametrize(("preset", "count"), [("baseline", 17_059_912), ("record", 35_945_671), ("tiny", 123_464)])
def test_dry_run_logs_exact_param_count(preset, count, capsys):
    assert train_main(["--preset", preset, "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"model_params:{count}"
    assert out[1].endswith(" cap:16000000")


def test_baseline_dry_run_estimates_the_logged_payload(capsys):
    train_main(["--preset", "baseline", "--dry-run"])
    assert re.fullmatch(r"artifact_estimate int8\+zlib: payload:17178912 code:(\d+) total_before_compression:(\d+) cap:16000000", capsys.readouterr().out.splitlines()[1])


def _run(small_val_dataset: Path, out: Path, monkeypatch, *args: str) -> list[str]:
    monkeypatch.setenv("DATA_PATH", str(small_val_dataset))
    monkeypatch.setenv("TOKENIZER_PATH", str(small_val_dataset / "tokenizer.model"))
    train_main(["--out", str(out), "--quiet", *args])
    return _lines(out / "train_seed1337.log")


def test_wallclock_cap_stops_early(small_val_dataset, tmp_path, monkeypatch):
    lines = _run(small_val_dataset, tmp_path, monkeypatch, "--preset", "tiny", "--iterations", "100000", "--max-wallclock-seconds", "0.5", "--warmup-steps", "0")
    m = _one(lines, r"stopping_early: wallclock_cap train_time:(\d+)ms step:(\d+)/100000")
    assert int(m.group(1)) >= 500 and 0 < int(m.group(2)) < 100000
    _one(lines, rf"step:{m.group(2)}/100000 val_loss:{FLOAT4} val_bpb:{FLOAT4} train_time:\d+ms step_avg:\d+\.\d{{2}}ms")


def test_compile_warmup_is_fully_undone(small_val_dataset, tmp_path, monkeypatch):
    """Warm-up steps restore weights and optimizer state and rewind the loader: the run is unchanged by them."""

    def final(warmup: str) -> str:
        lines = _run(small_val_dataset, tmp_path / warmup, monkeypatch, "--preset", "tiny", "--iterations", "6", "--warmup-steps", warmup)
        return _one(lines, rf"final_int8_zlib_roundtrip_exact (val_loss:{FLOAT8} val_bpb:{FLOAT8})").group(1)

    assert final("0") == final("3")


def test_tiny_record_path_end_to_end(small_val_dataset, tmp_path, monkeypatch, capsys):
    """Looping switches on at 35% of training, Hessians come from training batches, EMA is applied, and the
    int6+brotli artifact evaluates to the logged score through pgolf-eval."""
    lines = _run(small_val_dataset, tmp_path, monkeypatch, "--preset", "tiny-record", "--iterations", "20", "--warmup-steps", "1")
    assert "model_params:247541" in lines
    assert ["warmup_step:1/1", "warmup_step:1/1"] == [x for x in lines if x.startswith("warmup_step:")]  # unlooped, looped
    _one(lines, r"layer_loop:enabled step:7 frac:0\.350")
    _one(lines, r"gptq:collected 25 hessians from 4 training batches in \d+ms")
    _one(lines, rf"ema:applied decay:0\.9 val_loss:{FLOAT4} val_bpb:{FLOAT4}")
    expected = _one(lines, rf"final_int6_brotli_roundtrip_exact (val_loss:{FLOAT8} val_bpb:{FLOAT8})").group(1)
    capsys.readouterr()
    assert eval_main(["--artifact", str(tmp_path / "final_model_seed1337.int6_brotli.ptz")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"final_eval_exact {expected}"
