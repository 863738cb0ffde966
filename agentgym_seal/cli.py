"""The ``agentgym-seal`` command line (also ``python -m agentgym_seal``).

Each subcommand is one :class:`Command` in :data:`COMMANDS`; :func:`build_parser` turns every entry
into a subparser, so adding a command is one ``COMMANDS.register(name, Command(...))`` call and no
dispatch code changes. A command's ``run`` returns the process exit code. Commands that need heavy
dependencies import them inside ``run``, so ``agentgym-seal --help`` stays fast.

Exit codes: 0 success, 1 a check or task failed, 2 bad usage (unknown id, bad option).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from rich.console import Console
from rich.text import Text

from agentgym_seal import __version__
from agentgym_seal.arguments import EXIT_FAILED, EXIT_OK, EXIT_USAGE, parse_option, port, positive_int, usage_error
from agentgym_seal.errors import AgentGymError, UnknownNameError
from agentgym_seal.registry import Registry, load_entry_point


@dataclass(frozen=True)
class Command:
    """One ``agentgym-seal`` subcommand.

    Attributes:
        help: One line shown in ``agentgym-seal --help`` and as the subcommand's description.
        configure: Adds the subcommand's arguments to its parser.
        run: Runs the subcommand on the parsed arguments and returns the exit code.
        passthrough: The subcommand parses the rest of the command line itself (``args.flags``; its own
            ``--help``).
    """

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    passthrough: bool = False


COMMANDS: Registry[Command] = Registry("command")


def _configure_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("env_id", metavar="ENV_ID", help="a registered env id, e.g. ALFWorldText-v0")
    parser.add_argument(
        "--episodes",
        type=positive_int,
        default=3,
        help="episodes of the determinism and expert checks (default: 3)",
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    parser.add_argument(
        "--option",
        type=parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keyword option for gymnasium.make, repeatable; VALUE is JSON when it parses, else a string",
    )


def _run_validate(args: argparse.Namespace) -> int:
    from agentgym_seal.testing.validation import validate_env

    try:
        report = validate_env(args.env_id, episodes=args.episodes, seed=args.seed, env_kwargs=dict(args.option))
    except UnknownNameError as exc:
        return usage_error(exc, "agentgym-seal validate: error")
    console = Console()
    console.print(report.to_table())
    console.print(Text(report.summary(), style="bold green" if report.passed else "bold red"))
    return EXIT_OK if report.passed else EXIT_FAILED


COMMANDS.register(
    "validate",
    Command(
        help="run every conformance check on a registered env id (exit 1 if one fails)",
        configure=_configure_validate,
        run=_run_validate,
    ),
)


def _configure_serve_webshop(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=port, default=3000, help="port (default: 3000; 0 picks a free one)")
    parser.add_argument("--num-products", type=positive_int, default=1000, help="catalog size (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="catalog seed (default: 0)")
    parser.add_argument("--data-dir", default=None, help="folder with WebShop's real data files")
    parser.add_argument("--human-goals", action="store_true", help="with --data-dir: human instructions")
    parser.add_argument("--show-attrs", action="store_true", help="show the Attributes tab on item pages")


def _run_serve_webshop(args: argparse.Namespace) -> int:
    serve = cast(Callable[..., int], load_entry_point("agentgym_seal.environments.webshop.serve:serve_webshop"))
    try:
        return serve(
            host=args.host,
            port=args.port,
            num_products=args.num_products,
            seed=args.seed,
            data_dir=args.data_dir,
            human_goals=args.human_goals,
            show_attrs=args.show_attrs,
        )
    except AgentGymError as exc:
        return usage_error(exc)


COMMANDS.register(
    "serve-webshop",
    Command(
        help="serve the WebShop site (Flask) on 127.0.0.1:PORT; Ctrl-C stops it",
        configure=_configure_serve_webshop,
        run=_run_serve_webshop,
    ),
)

# Search QA commands live beside the env (lazy entries; they import nothing heavy until they run).
COMMANDS.register("searchqa-world", "agentgym_seal.environments.searchqa.commands:SEARCHQA_WORLD")
COMMANDS.register("build-index", "agentgym_seal.environments.searchqa.commands:BUILD_INDEX")
COMMANDS.register("serve-retriever", "agentgym_seal.environments.searchqa.commands:SERVE_RETRIEVER")


def build_parser() -> argparse.ArgumentParser:
    """The ``agentgym-seal`` parser, with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="agentgym-seal",
        description="Text environments, learners and training-dynamics monitoring for LLM-agent RL.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMANDS.names():
        command = COMMANDS.get(name)
        subparser = subparsers.add_parser(
            name, help=command.help, description=command.help, add_help=not command.passthrough
        )
        command.configure(subparser)
        subparser.set_defaults(run=command.run, passthrough=command.passthrough)
    return parser


def _configure_train(parser: argparse.ArgumentParser) -> None:
    """No arguments of its own: every flag after ``train`` goes to examples/train_seal.py's parser."""


def _run_train(args: argparse.Namespace) -> int:
    # The CLI is the one module that reaches up into backends/, through entry-point strings (lazy, heavy).
    parse_train_args = cast(
        Callable[[list[str]], Any], load_entry_point("agentgym_seal.backends.config:parse_train_args")
    )
    train = cast(Callable[[Any], Any], load_entry_point("agentgym_seal.backends.trainer:train"))
    try:
        run_dir = train(parse_train_args(list(args.flags)))
    except AgentGymError as exc:
        return usage_error(exc)
    Console().print(f"run folder: {run_dir}")
    return EXIT_OK


COMMANDS.register(
    "train",
    Command(
        help="train with GRPO/GiGPO (+SEAL); same flags as examples/train_seal.py",
        configure=_configure_train,
        run=_run_train,
        passthrough=True,
    ),
)


def _configure_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders (several overlay; seeds band)")
    parser.add_argument("-o", "--output", default="report.html", help="the HTML file to write (default: report.html)")


def _run_report(args: argparse.Namespace) -> int:
    from agentgym_seal.logging.report import write_report

    try:
        path = write_report(args.run_dirs, args.output)
    except AgentGymError as exc:
        return usage_error(exc, "agentgym-seal report: error")
    Console().print(f"report: {path}")
    return EXIT_OK


COMMANDS.register(
    "report",
    Command(
        help="write a self-contained HTML report (entropy phases, log-probs, interference, ...) of run folders",
        configure=_configure_report,
        run=_run_report,
    ),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line and returns the exit code.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns:
        0 on success, 1 when the command's checks or task failed, 2 on bad usage.
    """
    parser = build_parser()
    try:
        args, rest = parser.parse_known_args(argv)
        if rest and not getattr(args, "passthrough", False):
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    args.flags = rest
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
