"""The agentgym_seal error hierarchy.

Every message says what was expected, what came, and how to fix it, so that a user reading a
traceback at the top of their own script knows what to change without reading our source.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches


class AgentGymError(Exception):
    """Base class of every error agentgym_seal raises on purpose."""


def _format(expected: str, got: object, fix: str) -> str:
    return f"expected {expected}; got {got!r}. Fix: {fix}"


class ConfigError(AgentGymError, ValueError):
    """A configuration value or keyword option is not allowed."""

    @classmethod
    def bad_option(cls, name: str, got: object, allowed: Iterable[object], *, where: str = "") -> ConfigError:
        """Builds the error for an option whose value is not one of ``allowed``."""
        allowed_list = list(allowed)
        where_txt = f" of {where}" if where else ""
        hint = ""
        if isinstance(got, str):
            close = get_close_matches(got, [str(a) for a in allowed_list], n=1)
            if close:
                hint = f" Did you mean {close[0]!r}?"
        return cls(
            f"option {name!r}{where_txt}: "
            + _format(f"one of {allowed_list}", got, f"pass one of the allowed values.{hint}")
        )


class UnknownNameError(AgentGymError, KeyError):
    """A registry lookup for a name that is not registered."""

    def __init__(self, kind: str, name: str, available: Iterable[str]) -> None:
        names = sorted(available)
        close = get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        self.message = (
            f"unknown {kind} {name!r}. Available: {', '.join(names) or '(none)'}.{hint} "
            f"Fix: use one of the registered names, or register yours first."
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class DuplicateNameError(AgentGymError, ValueError):
    """A registry already holds an entry of that name."""


class DependencyNotInstalled(AgentGymError, ImportError):
    """An optional dependency is missing; the message gives the exact pip command."""

    def __init__(self, extra: str, missing: str) -> None:
        self.extra = extra
        self.missing = missing
        super().__init__(
            f"this feature needs the optional dependency {missing!r}, which is not installed. "
            f'Fix: pip install "agentgym-seal[{extra}]"'
        )


class GameDataError(AgentGymError, RuntimeError):
    """A game or data file is missing, corrupt, or not in the expected layout."""


class EnvCheckError(AgentGymError, AssertionError):
    """An environment failed a conformance check; the message names the likely bug."""


class ResumeError(AgentGymError, ValueError):
    """A run folder cannot be resumed: it is missing, or one of its files is missing, corrupt or disagrees."""
