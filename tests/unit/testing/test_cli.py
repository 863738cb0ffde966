from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType

import pytest

from agentgym_seal.cli import COMMANDS, EXIT_USAGE, Command, main, parse_option, usage_error

RegisterFn = Callable[..., str]


def test_validate_correct_env_exits_0(
    envs: ModuleType, register: RegisterFn, capsys: pytest.CaptureFixture[str]
) -> None:
    env_id = register(envs.GuessEnv)
    assert main(["validate", env_id, "--episodes", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "expert solvability" in out
    assert "FAIL" not in out
    assert f"{env_id}: 6/6 checks passed" in out


def test_validate_passes_options_to_the_env(envs: ModuleType, register: RegisterFn) -> None:
    env_id = register(envs.GuessEnv)
    assert main(["validate", env_id, "--option", "action_format=tagged", "--option", "max_number=30"]) == 0


def test_validate_broken_env_exits_1(
    envs: ModuleType, register: RegisterFn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", register(envs.RaisesOnSecondCloseEnv), "--episodes", "1"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert "5/6 checks passed" in out


def test_validate_unknown_id_exits_2_with_a_hint(
    envs: ModuleType, register: RegisterFn, capsys: pytest.CaptureFixture[str]
) -> None:
    env_id = register(envs.GuessEnv)
    assert main(["validate", env_id.lower()]) == 2
    captured = capsys.readouterr()
    assert f"Did you mean {env_id!r}?" in captured.err
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.parametrize(
    "argv",
    [["validate"], ["validate", "X-v0", "--option", "no_equals_sign"], ["validate", "X-v0", "--episodes", "0"], []],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: agentgym-seal" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "validate" in capsys.readouterr().out


def test_parse_option_decodes_json_else_keeps_the_string() -> None:
    assert parse_option("max_number=5") == ("max_number", 5)
    assert parse_option("action_format=plain") == ("action_format", "plain")
    assert parse_option('tasks=["a", "b"]') == ("tasks", ["a", "b"])
    assert parse_option("flag=true") == ("flag", True)
    assert parse_option("name=") == ("name", "")
    assert parse_option("url=http://x/?a=b") == ("url", "http://x/?a=b")
    with pytest.raises(argparse.ArgumentTypeError, match="expected KEY=VALUE"):
        parse_option("=3")


def test_a_new_command_is_one_registry_entry(capsys: pytest.CaptureFixture[str]) -> None:
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name")

    def run(args: argparse.Namespace) -> int:
        print(f"hello {args.name}")
        return 7

    COMMANDS.register("hello", Command(help="say hello", configure=configure, run=run))
    try:
        assert main(["hello", "world"]) == 7
    finally:
        COMMANDS.unregister("hello")
    assert capsys.readouterr().out == "hello world\n"


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentgym_seal", "validate", "ALFWorldTxt-v0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "Did you mean 'ALFWorldText-v0'?" in done.stderr
    assert "Traceback" not in done.stderr


def test_usage_error_writes_one_unwrapped_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = "runs/" + "deeply-nested-folder/" * 8 + "manifest.json"
    assert usage_error(ValueError(f"{path}: no index manifest here"), "agentgym-seal x: error") == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == f"agentgym-seal x: error: {path}: no index manifest here\n"


def test_train_hands_every_flag_to_the_training_parser(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[list[str]] = []

    def parse(flags: list[str]) -> list[str]:
        seen.append(flags)
        raise SystemExit(0)  # as tyro does after --help

    import agentgym_seal.cli as cli

    real = cli.load_entry_point
    monkeypatch.setattr(
        cli, "load_entry_point", lambda spec: parse if spec.endswith(":parse_train_args") else real(spec)
    )
    for flags in (["--steps", "2"], ["--backend", "gigpo", "--seal-alpha", "0"], ["--help"], []):
        with pytest.raises(SystemExit):
            main(["train", *flags])
    assert seen == [["--steps", "2"], ["--backend", "gigpo", "--seal-alpha", "0"], ["--help"], []]


def test_other_commands_still_refuse_unknown_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "runs/x", "--bogus"]) == EXIT_USAGE
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
