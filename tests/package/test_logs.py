"""Typed log parsing in each dialect, and the headline choice."""

from __future__ import annotations

from auditor.package.logs import parse_log
from tests.package.records import SCRIPT, baseline_log, phased_log, sliding_log


def test_baseline_dialect_ignores_the_dumped_source():
    log = parse_log("train.log", baseline_log())
    h = log.headline
    assert (h.label, h.val_bpb, h.val_loss, h.line) == ("final_int8_zlib_roundtrip_exact", 1.2243657, 2.07269931, 19)
    assert log.headline_eval_ms() == 1401.0
    assert (log.total.bytes, log.total.method, log.total.line) == (15_815_847 + len(SCRIPT), "int8+zlib", 17)
    assert (log.model.bytes, log.code.bytes) == (15_815_847, len(SCRIPT))
    assert (log.train.value, log.train.line, log.step_avg_ms.value) == (599_960, 11, 43.54)
    assert (int(log.seed.value), int(log.val_tokens.value), log.tokenizer, int(log.world_size.value)) == (1337, 62_021_632, "sp1024", 8)
    assert [e.kind for e in log.evals] == ["periodic", "periodic", "roundtrip", "roundtrip"]
    assert log.parsed_fully


def test_sliding_dialect_prefers_the_sliding_exact_line():
    log = parse_log("s.log", sliding_log(42, 1.11437394, 1.88156874))
    assert (log.headline.label, log.headline.val_bpb, log.headline.stride) == ("final_int6_sliding_window_exact", 1.11437394, None)
    assert log.headline_eval_ms() == 72_611
    assert {e.stride for e in log.evals if e.kind == "sliding"} == {64, None}


def test_phased_ttt_dialect_with_timestamps_and_compressed_code():
    log = parse_log("p.log", phased_log(1, 1.06509678, 2.33082656))
    h = log.headline
    assert (h.label, h.kind, h.val_bpb, h.eval_ms, h.line) == ("quantized_ttt_phased", "ttt", 1.06509678, 391_198.0, 24)
    assert (log.code.bytes, log.code.method, log.total.bytes) == (28_025, "compressed", 15_979_182)
    assert (log.train.value, log.hessians_s.value, log.reserve.value) == (596_056, 3.4, 4000)
    assert (log.tokenizer, int(log.val_tokens.value), int(log.seed.value), log.total_eval_s.value) == ("sp8192-caseops", 47_851_520, 1, 391.2)
    assert [e.kind for e in log.evals if e.kind == "diagnostic"] == ["diagnostic", "diagnostic"]


def test_legal_ttt_exact_line_takes_its_time_from_the_timed_twin():
    text = "\n".join([
        "seed:7",
        "final_int6_sliding_window_exact val_loss:1.89000000 val_bpb:1.12000000",
        "legal_ttt val_loss:1.8891 val_bpb:1.1189 eval_time:410268ms",
        "legal_ttt_exact val_loss:1.88910000 val_bpb:1.11890000",
        "ttt_sliding:done val_loss=1.889100 val_bpb=1.118900 elapsed=410.3s",
    ])
    log = parse_log("t.log", text)
    assert (log.headline.label, log.headline.line, log.headline_eval_ms()) == ("legal_ttt_exact", 4, 410_268.0)


def test_key_value_dump_seed_and_unqualified_total_fallback():
    text = "adam_eps=1e-08 data_path=./data embed_lr=0.6 seed=42 tokenizer_path=./data/tokenizers/fineweb_8192_bpe.model warmup_steps=5\n" \
           "Total submission size: 15000000 bytes\nfinal_sliding val_loss:2.9869 val_bpb:1.1565 (stride=16, T=0.90) eval_time:429311ms\n"
    log = parse_log("k.txt", text)
    assert (int(log.seed.value), log.total.bytes, log.headline.val_bpb, log.headline.stride, log.tokenizer) == (42, 15_000_000, 1.1565, 16, "sp8192")
