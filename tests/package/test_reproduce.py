"""``reproduce`` with a fake runner on CPU, and end to end with the reference trainer's tiny preset."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.package.reproduce import RunOutcome, RunSpec, plan, reproduce
from tests.package.records import SCRIPT, sliding_log, three_seed_sliding

FRESH = {42: 1.11437394, 314: 1.11700000, 999: 1.11475014}  # seed 314 drifts by 0.0019


def fake_runner(calls: list[RunSpec]):
    def run(spec: RunSpec) -> RunOutcome:
        calls.append(spec)
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        spec.log_path.write_text(sliding_log(spec.seed, FRESH[spec.seed], 1.882, code=len(SCRIPT),
                                             total=16_100_000 if spec.seed == 999 else 15_900_000))
        return RunOutcome(spec.seed, 0, 1.5, False, spec.log_path)
    return run


def test_plan_runs_each_seed_in_a_clean_copy(tmp_path):
    folder = three_seed_sliding(tmp_path / "in")
    specs = plan(folder, [42, 314], tmp_path / "out", nproc=8, data_path="/d", tokenizer_path="/t.model",
                 extra_env={"EXTRA": "1"}, base_env={"PATH": "/usr/bin"})
    assert [s.cmd for s in specs] == [("torchrun", "--standalone", "--nproc_per_node=8", "train_gpt.py")] * 2
    assert {k: specs[1].env[k] for k in ("SEED", "DATA_PATH", "TOKENIZER_PATH", "EXTRA", "RUN_ID")} == {
        "SEED": "314", "DATA_PATH": "/d", "TOKENIZER_PATH": "/t.model", "EXTRA": "1", "RUN_ID": "reproduce_seed314"}
    assert sorted(p.name for p in specs[0].cwd.iterdir()) == ["README.md", "submission.json", "train_gpt.py"]


def test_fake_runner_end_to_end(tmp_path):
    claimed = {"42": {"val_bpb": 1.11437394}, "314": {"val_bpb": 1.11508120}, "999": {"val_bpb": 1.11475014}}
    folder = three_seed_sliding(tmp_path / "in", submission_update={"seed_results": claimed})
    calls: list[RunSpec] = []
    messages: list[str] = []
    rep = reproduce(folder, [42, 314, 999], tmp_path / "out", runner=fake_runner(calls), tolerance=0.001,
                    progress=messages.append)
    assert [c.seed for c in calls] == [42, 314, 999] and len(messages) == 6
    rows = {r["seed"]: r for r in rep.table()}
    assert (rows[314]["within_tolerance"], round(rows[314]["delta"], 8)) == (False, 0.0019188)
    assert rows[42]["within_tolerance"] is True and rows[999]["bytes_total"] == 16_100_000
    codes = sorted((f.code, f.level.name, f.path.rsplit("/", 1)[-1]) for f in rep.findings if f.level.name in ("FAIL", "REVIEW"))
    assert codes == [("PG611", "FAIL", "train_seed999.log"), ("PG711", "FAIL", "submission.json"),
                     ("PG712", "FAIL", "submission.json")]
    assert sorted(p.name for p in rep.fresh.iterdir()) == ["README.md", "submission.json", "train_gpt.py", "train_seed314.log",
                                                           "train_seed42.log", "train_seed999.log"]
    assert (folder / "train_seed42.log").read_text() != (rep.fresh / "train_seed42.log").read_text()  # shipped log untouched


TINY = textwrap.dedent('''
    import os, sys
    from reference.cli import train_main
    sys.exit(train_main(["--preset", "tiny", "--seed", os.environ["SEED"], "--out", ".", "--iterations", "3",
                         "--val-loss-every", "0"]))
''')


@pytest.mark.slow
def test_end_to_end_with_the_reference_tiny_preset(tmp_path):
    """torchrun --nproc_per_node=1 on CPU runs a one-file submission that trains the tiny preset."""
    if shutil.which("torchrun") is None:
        pytest.skip("torchrun is not installed")
    pytest.importorskip("torch")
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "train_gpt.py").write_text(TINY)
    (folder / "submission.json").write_text('{"name": "tiny", "author": "t", "github_id": "t", "date": "2026-04-01", "val_bpb": 4.0}')
    (folder / "README.md").write_text("tiny\n")
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    rep = reproduce(folder, [7], tmp_path / "out", nproc=1, extra_env=env, tolerance=10.0, timeout_s=240,
                    launcher=(sys.executable, "-m", "torch.distributed.run", "--standalone"))
    row = rep.table()[0]
    assert row["returncode"] == 0, (tmp_path / "out" / "logs" / "train_seed7.log").read_text()[-2000:]
    assert row["val_bpb"] is not None and row["bytes_total"] is not None and row["train_seconds"] is not None
