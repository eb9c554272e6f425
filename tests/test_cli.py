"""The `frontdoor` command's subcommands that later issues build answer clearly for now."""

from __future__ import annotations

import pytest

from bot.cli import EXIT_USAGE, main


@pytest.mark.parametrize("command", ["sandbox", "report", "simulate"])
def test_a_command_not_built_yet_says_so_with_exit_code_2(command, capsys):
    assert main([command]) == EXIT_USAGE
    assert f"frontdoor {command}: not yet available" in capsys.readouterr().err


def test_an_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["launch-rockets"])
    assert exit_info.value.code == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err
