"""submission.json variants, rounding-aware numbers, schema problems with lines."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.package.submission import Num, load_submission


def _load(tmp_path: Path, text: str):
    p = tmp_path / "submission.json"
    p.write_text(text)
    return load_submission(p)


def test_num_keeps_the_written_precision():
    assert (Num("1.0912").decimals, Num("1.0912").rounding) == (4, 0.00005)
    assert Num("1.22436570").rounding == 0.000000005
    assert Num("2e-3").rounding == 0.0005


def test_seed_results_variant_with_lines(tmp_path):
    claim, problems = _load(tmp_path, json.dumps({
        "author": "a", "github_id": "a", "name": "n", "date": "2026-04-22", "val_bpb": 1.06453,
        "seed_results": {"314": {"val_bpb": 1.06356801, "artifact_bytes": 15979114, "train_time_s": 596.091, "eval_time_s": 400.7}},
        "artifact_bytes_max": 15979182}, indent=2))
    assert problems == []
    assert (claim.val_bpb.value, claim.val_bpb.line, claim.bytes_total.key) == (1.06453, 6, "artifact_bytes_max")
    s = claim.seeds[314]
    assert (s.val_bpb.line, s.bytes_total.value, s.train_ms.value, s.eval_ms.value) == (9, 15979114, 596_091.0, 400_700.0)


def test_seeds_list_with_seed_scores_and_mean_bpb(tmp_path):
    claim, problems = _load(tmp_path, '{"mean_bpb": 1.08, "seeds": [42, 0], "seed_scores": [1.07, 1.09], "code_bytes": 5}')
    assert [p.message for p in problems] == [f"submission.json lacks the metadata field {k!r}" for k in ("name", "author", "github_id", "date")]
    assert (claim.val_bpb.key, claim.seeds[0].val_bpb.value, claim.bytes_code.value) == ("mean_bpb", 1.09, 5)


def test_schema_failures(tmp_path):
    claim, problems = _load(tmp_path, '{\n  "name": "x",\n  "val_bpb": "1.09",\n  "bytes_total": 1.5\n}')
    fatal = sorted((p.line, p.message) for p in problems if p.fatal)
    assert fatal == [(1, "submission.json has no val_bpb (nor mean_val_bpb / mean_bpb) claim"),
                     (3, "submission.json field val_bpb: '1.09' is not of type 'number', 'null'"),
                     (4, "submission.json field bytes_total: 1.5 is not of type 'integer', 'null'")]
    assert claim.val_bpb is None
    assert load_submission(_write(tmp_path, "{broken"))[0] is None


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.json"
    p.write_text(text)
    return p
