"""The run configuration read from a folder's logs and run commands, and its effect on gated paths."""

from __future__ import annotations

from pathlib import Path

from auditor.analysis import Analysis
from auditor.findings import Level, Provenance
from auditor.package.runconfig import run_configuration
from auditor.source import SourceFile
from rules.score_first.pg301_train_then_score import TrainThenScore

SCRIPT = '''\
import os
import numpy as np
import torch
import torch.nn.functional as F

class Hyperparameters:
    adapt = bool(int(os.environ.get("ADAPT", "0")))
    lr = float(os.environ.get("LR", "0.01"))

def main():
    args = Hyperparameters()
    model = torch.nn.Linear(4, 4)
    val_tokens = torch.from_numpy(np.fromfile("data/fineweb_val_000000.bin", dtype=np.uint16)).long()
    if args.adapt:
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
        for _ in range(3):
            loss = F.cross_entropy(model(val_tokens[:-1]), val_tokens[1:])
            loss.backward()
            opt.step()
    with torch.no_grad():
        val_loss = F.cross_entropy(model(val_tokens[:-1]), val_tokens[1:])
    print(val_loss)

if __name__ == "__main__":
    main()
'''


def _folder(tmp_path: Path, readme: str = "", log: str = "") -> Path:
    (tmp_path / "train_gpt.py").write_text(SCRIPT)
    (tmp_path / "README.md").write_text(readme)
    if log:
        (tmp_path / "train_seed1.log").write_text(log)
    return tmp_path


def _levels(folder: Path) -> list[tuple[int, Level]]:
    config = run_configuration(folder)
    source = SourceFile("train_gpt.py", SCRIPT, "0" * 64, Provenance("train_gpt.py"))
    a = Analysis(source, overrides=config.values)
    return [(f.line, f.level) for f in TrainThenScore().check(a) if f is not None]


LOG_ON = "Hyperparameters:\n  adapt: True\n  lr: 0.01\nstep:1/10 train_loss:5.0 train_time:10ms step_avg:10ms\n"


def test_readme_command_and_log_dump_are_read_with_their_origin(tmp_path: Path) -> None:
    readme = "Run:\n```bash\nADAPT=1 SEED=42 \\\n  LR=0.02 torchrun --nproc_per_node=8 train_gpt.py\n```\n"
    config = run_configuration(_folder(tmp_path, readme, LOG_ON))
    assert config.values == {"ADAPT": "1", "SEED": "42", "LR": "0.02", "adapt": "True", "lr": "0.01"}
    assert config.origin["ADAPT"] == "README.md:3"
    assert config.origin["adapt"] == "train_seed1.log:2"


def test_conflicting_values_are_left_out(tmp_path: Path) -> None:
    readme = "SEED=1 torchrun train_gpt.py\nSEED=2 torchrun train_gpt.py\nADAPT=0 torchrun train_gpt.py\n"
    assert run_configuration(_folder(tmp_path, readme)).values == {"ADAPT": "0"}


def test_default_off_path_is_review_without_a_run_configuration(tmp_path: Path) -> None:
    assert {lvl for _, lvl in _levels(_folder(tmp_path))} == {Level.REVIEW}


def test_path_switched_on_by_the_logged_run_fails(tmp_path: Path) -> None:
    assert {lvl for _, lvl in _levels(_folder(tmp_path, log=LOG_ON))} == {Level.FAIL}


def test_path_switched_on_by_the_run_command_fails(tmp_path: Path) -> None:
    readme = "ADAPT=1 torchrun --standalone --nproc_per_node=8 train_gpt.py\n"
    assert {lvl for _, lvl in _levels(_folder(tmp_path, readme))} == {Level.FAIL}
