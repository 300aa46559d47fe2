"""The sandbox reproduces the scored run's configuration: each changed setting becomes the env text
the script's own parsing turns into the logged value."""

from __future__ import annotations

from pathlib import Path

from auditor.analysis import Analysis
from auditor.dynamic.runenv import run_environment
from auditor.findings import Provenance
from auditor.package.runconfig import run_configuration
from auditor.source import SourceFile

SCRIPT = '''\
import os

class Hyperparameters:
    adapt = bool(int(os.environ.get("ADAPT", "0")))
    slot = os.environ.get("SLOT", "0") == "1"
    lr = float(os.environ.get("LR", "0.01"))
    epochs = int(os.environ.get("EPOCHS", 3))
    mode = os.environ.get("MODE", "plain") in ("fast", "exact")
    data_path = os.environ.get("DATA_PATH", "./data/fineweb")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
'''


def _env(tmp_path: Path, readme: str = "", log: str = "") -> tuple[dict[str, str], list[str]]:
    (tmp_path / "README.md").write_text(readme)
    if log:
        (tmp_path / "train_seed1.log").write_text(log + "step:1/10 train_loss:5.0 train_time:10ms step_avg:10ms\n")
    values = run_configuration(tmp_path).values
    source = SourceFile("train_gpt.py", SCRIPT, "0" * 64, Provenance("train_gpt.py"))
    return run_environment(Analysis(source, overrides=values), values)


def test_logged_values_are_spelled_as_the_script_parses_them(tmp_path: Path) -> None:
    log = "Hyperparameters:\n  adapt: True\n  slot: True\n  lr: 0.01\n  epochs: 8\n  mode: True\n  world_size: 8\n"
    env, notes = _env(tmp_path, log=log)
    assert env == {"ADAPT": "1", "SLOT": "1", "EPOCHS": "8"}
    assert "ADAPT=1 (the scored run's configuration; code default False)" in notes
    # which of "fast"/"exact" made it True is not in the log: said, not guessed
    assert any(n.startswith("MODE: the scored run used True") for n in notes)


def test_the_log_wins_over_the_command_and_paths_topology_and_shell_variables_stay_out(tmp_path: Path) -> None:
    readme = "LR=0.02 EPOCHS=$N DATA_PATH=/data/x WORLD_SIZE=8 ADAPT=1 torchrun --nproc_per_node=8 train_gpt.py\n"
    env, _ = _env(tmp_path, readme=readme, log="Hyperparameters:\n  lr: 0.01\n")
    assert env == {"ADAPT": "1"}


def test_no_configuration_means_no_environment(tmp_path: Path) -> None:
    assert _env(tmp_path) == ({}, [])
