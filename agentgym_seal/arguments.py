"""Shared command-line value types and exit codes, below the CLI (commands of any layer import them from here)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def usage_error(exc: Exception, prefix: str = "error") -> int:
    """Writes ``prefix: exc`` to stderr as one unwrapped message (paths stay whole) and returns ``EXIT_USAGE``."""
    sys.stderr.write(f"{prefix}: {exc}\n")
    return EXIT_USAGE


def parse_option(text: str) -> tuple[str, Any]:
    """Parses ``KEY=VALUE``; the value is decoded as JSON when it can be, else kept as a string.

    Example:
        >>> parse_option("max_turns=5"), parse_option("action_format=plain")
        (('max_turns', 5), ('action_format', 'plain'))

    Raises:
        argparse.ArgumentTypeError: ``text`` has no ``=`` or an empty key.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE; got {text!r}. Fix: e.g. --option action_format=plain")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def positive_int(text: str) -> int:
    """Parses an integer >= 1.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not an integer >= 1.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; got {value}")
    return value


def port(text: str) -> int:
    """Parses a TCP port: an integer in 0..65535 (0 lets the OS pick a free one).

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such an integer.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number in 0..65535; got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number in 0..65535 (0 picks a free one); got {value}")
    return value
