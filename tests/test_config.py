"""Maintainer config: discovery, validation (a waiver needs a reason and a ruling link), matching."""

from __future__ import annotations

from pathlib import Path

import pytest
from findings_factory import finding

from auditor.config import ConfigError, discover, load_file

WAIVER = """
[[waiver]]
code = "PG990"
path = "records/*/train_gpt.py"
reason = "counted by the maintainers' recount"
ruling = "https://github.com/openai/parameter-golf/pull/2"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_full_config(tmp_path: Path) -> None:
    config = load_file(write(tmp_path / "pgolf-audit.toml", 'select = ["PG1", "PG990"]\nignore = ["PG905"]\nfail-on = "fail"\n' + WAIVER))
    assert (config.select, config.ignore, config.fail_on) == (("PG1", "PG990"), ("PG905",), "fail")
    (waiver,) = config.waivers
    assert (waiver.code, waiver.path, waiver.ruling) == ("PG990", "records/*/train_gpt.py", "https://github.com/openai/parameter-golf/pull/2")
    assert config.root == tmp_path


def test_waiver_matches_code_and_glob_relative_to_config(tmp_path: Path) -> None:
    config = load_file(write(tmp_path / "pgolf-audit.toml", WAIVER))
    inside = str(tmp_path / "records" / "x" / "train_gpt.py")
    assert config.waiver_for(finding(path=inside)) is config.waivers[0]
    assert config.waiver_for(finding(path=inside, code="PG101")) is None
    assert config.waiver_for(finding(path=str(tmp_path / "other" / "train_gpt.py"))) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[waiver]]\ncode = "PG990"\nruling = "https://x.org/r"\n', "waiver[0]: missing required key 'reason' (every waiver needs a reason and a ruling link)"),
        ('[[waiver]]\ncode = "PG990"\nreason = "ok"\n', "waiver[0]: missing required key 'ruling' (every waiver needs a reason and a ruling link)"),
        ('[[waiver]]\ncode = "PG990"\nreason = "ok"\nruling = "PR 12"\n', "waiver[0].ruling: 'PR 12' is not an http(s) link to the ruling"),
        ('[[waiver]]\ncode = "PG990"\nreason = "  "\nruling = "https://x.org/r"\n', "waiver[0].reason: the reason must not be empty"),
        ('fail-on = "warn"\n', "fail-on: 'warn' is not one of ['review', 'fail']"),
        ('selct = ["PG1"]\n', "top level: Additional properties are not allowed ('selct' was unexpected)"),
        ('select = "PG1"\n', "select: 'PG1' is not of type 'array'"),
        ("select = [\n", "invalid TOML"),
    ],
)
def test_invalid_configs_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "pgolf-audit.toml", text)
    with pytest.raises(ConfigError) as err:
        load_file(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_discovery_walks_up_and_skips_pyproject_without_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.pgolf-audit]\nignore = ["PG9"]\n')
    (tmp_path / "a" / "b").mkdir(parents=True)
    write(tmp_path / "a" / "pyproject.toml", '[project]\nname = "x"\n')
    config = discover(tmp_path / "a" / "b")
    assert config is not None and config.ignore == ("PG9",) and config.path == tmp_path / "pyproject.toml"
    write(tmp_path / "a" / "pgolf-audit.toml", 'fail-on = "fail"\n')
    nearer = discover(tmp_path / "a" / "b")
    assert nearer is not None and nearer.fail_on == "fail" and nearer.ignore == ()


def test_explicit_pyproject_needs_the_table(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no \[tool.pgolf-audit\] table"):
        load_file(path)
    with pytest.raises(ConfigError, match="config file not found"):
        load_file(tmp_path / "missing.toml")
