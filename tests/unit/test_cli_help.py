"""`python -m bot --help` is a user's help: what the bot does, its commands, where settings
live; each command's options carry a text and their default."""

from __future__ import annotations

import pytest

from bot.__main__ import main


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as ended:
        main([*argv, "--help"])
    assert ended.value.code == 0
    return capsys.readouterr().out


def test_the_top_help_says_what_the_bot_does_and_lists_every_command(capsys) -> None:
    text = _help(capsys)
    assert "Entry points" not in text and "bot/" not in text  # no source paths
    assert "onboard and offboard employees of a Coolblue Closed Community" in text
    for command in ("web", "worker", "sandbox", "console", "slack-standin"):
        assert f"\n    {command}" in text, command
    assert "docs/configuration.md" in text and "Exit status" in text


def test_sandbox_help_gives_port_and_host_a_text_and_a_default(capsys) -> None:
    text = " ".join(_help(capsys, "sandbox").split())  # argparse wraps to the terminal
    assert "--port PORT the port to serve on (default: 8765)" in text
    assert "--host HOST the address to serve on; 0.0.0.0 for every interface (default: " in text
    assert "127.0.0.1)" in text


def test_console_help_documents_keep(capsys) -> None:
    text = " ".join(_help(capsys, "console").split())
    assert "--keep keep requests and sandbox members in DATA_DIR" in text
    assert "--script FILE" in text and "--socket-mode" in text
