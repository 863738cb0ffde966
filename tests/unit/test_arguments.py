"""Shared command-line value types: ports are checked at parse time, with one line and exit code 2."""

import argparse

import pytest

from agentgym_seal.arguments import EXIT_USAGE, port
from agentgym_seal.cli import main


@pytest.mark.parametrize("text", ["0", "1", "8000", "65535"])
def test_ports_in_range_parse(text: str) -> None:
    assert port(text) == int(text)


@pytest.mark.parametrize("text", ["-1", "65536", "99999", "abc", "", "80.5"])
def test_other_ports_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"port number in 0\.\.65535"):
        port(text)


@pytest.mark.parametrize("command", ["serve-webshop", "serve-retriever"])
@pytest.mark.parametrize("bad", ["99999", "-1", "abc"])
def test_serve_commands_refuse_a_bad_port_in_one_line(
    command: str, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--port", bad]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "port number in 0..65535" in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("agentgym-seal")  # argparse's one-line usage error
