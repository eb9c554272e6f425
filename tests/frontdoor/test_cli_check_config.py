"""`frontdoor check-config`: a summary for a good file, `FILE:LINE path: message` for a bad one."""

from pathlib import Path

import pytest

from frontdoor.cli import main

EXAMPLE = Path(__file__).parents[2] / "config" / "frontdoor.yaml"


def test_check_config_prints_the_summary_of_a_valid_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Config OK: 4 teams")
    assert "Opening hours this week" in out and "Coverage gaps this week" in out
    assert err == ""


def test_check_config_names_file_line_and_field_of_a_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLE.read_text()
    line = text.splitlines().index("    schedule: office") + 1
    broken = tmp_path / "frontdoor.yaml"
    broken.write_text(text.replace("    schedule: office", "    schedule: weekdy"))
    assert main(["check-config", str(broken)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"frontdoor.yaml:{line} teams.billing.schedule: unknown schedule 'weekdy'\n"


def test_check_config_reports_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read the file" in capsys.readouterr().err
