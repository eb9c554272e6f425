"""The command works from any folder: the example config ships inside the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from frontdoor import __version__
from frontdoor.cli import DEFAULT_CONFIG, config_path, example_config, main
from handoff.config_loader import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_example_is_the_repositorys_config() -> None:
    assert example_config().read_bytes() == (ROOT / DEFAULT_CONFIG).read_bytes()
    assert load_config(str(example_config())).teams


def test_without_config_here_the_example_is_used_and_a_given_one_always_wins(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Path(config_path(None)) == example_config()
    assert config_path("mine.yaml") == "mine.yaml"
    (tmp_path / "config").mkdir()
    (tmp_path / DEFAULT_CONFIG).write_text("teams: {}\n")
    assert config_path(None) == DEFAULT_CONFIG


def test_check_config_works_from_an_empty_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith("Config OK:")


def test_python_m_frontdoor_prints_its_version(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "frontdoor", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"frontdoor {__version__}"
