"""``check_bad_reset_options``: an env that reads an index option through ``read_reset_options`` refuses bad ones."""

from __future__ import annotations

from typing import Any

import gymnasium

from agentgym_seal.errors import ConfigError, EnvCheckError
from agentgym_seal.testing.contract import short_repr


def bad_reset_options(option: str) -> list[tuple[object, str]]:
    """``(options, what the error must name)`` for every malformed ``options`` of an index option ``option``."""
    not_a_dict: list[object] = [f"{option}=3", [(option, 3)], 3]
    bad_values: list[object] = [-1, 10**9, "3", True, 2.0, None]
    return [(o, "dict or None") for o in not_a_dict] + [({option: v}, repr(option)) for v in bad_values]


def check_bad_reset_options(env: gymnasium.Env[Any, Any], option: str, *, env_id: str) -> None:
    """Each of :func:`bad_reset_options` must raise a one-line ``ConfigError`` naming the problem and ``env_id``.

    Raises:
        EnvCheckError: A bad ``options`` was accepted, raised something else, or explained itself badly.
    """
    for options, named in bad_reset_options(option):
        call = f"env.reset(options={short_repr(options, 40)})"
        try:
            env.reset(seed=0, options=options)  # type: ignore[arg-type]  # malformed on purpose
        except ConfigError as exc:
            message = str(exc)
            if named not in message or env_id not in message or "\n" in message:
                raise EnvCheckError(
                    f"{call}: the error must name {named} and {env_id} in one line; got {message!r}"
                ) from exc
            continue
        except Exception as exc:
            raise EnvCheckError(f"{call} raised {type(exc).__name__}, not ConfigError: {exc}") from exc
        raise EnvCheckError(f"{call} was accepted. Fix: read options with agentgym_seal.reset_options.")
