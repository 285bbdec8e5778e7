"""`polyalign COMMAND --help` works for every command (a bare % in a help string once crashed one)."""

from __future__ import annotations

import pytest

from polyalign_lf.cli import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_working_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: polyalign" in capsys.readouterr().out
