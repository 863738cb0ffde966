"""One validator for ``env.reset(options=...)``: every env family reads its reset options through it.

Each family names the options it accepts and, for an index option, how many items it indexes. A value that
is not a dict, or an index out of range or not an int, is refused with the same one-line
:class:`~agentgym_seal.errors.ConfigError` in every env; an option the env does not know is ignored with a
warning (API checkers such as PettingZoo's pass made-up options to prove ``reset`` accepts them)::

    picked = read_reset_options(options, where="SearchQA-v0", indices={"question_index": len(questions)})
    index = picked.get("question_index")  # an int in range, or absent
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from agentgym_seal.errors import ConfigError


def read_reset_options(options: object, *, where: str, indices: Mapping[str, int]) -> dict[str, int]:
    """The validated index options of a ``reset(options=...)`` call.

    Args:
        options: What the caller passed: ``None`` or a dict (keys not in ``indices`` are ignored, with a warning).
        where: The env id, named in the error.
        indices: Each accepted option and the number of items it indexes (valid values ``0..n-1``).

    Returns:
        The options given, each an ``int`` in range.

    Raises:
        ConfigError: ``options`` is not a dict, or an index is not an int in range.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ConfigError(
            f"reset(options=...) of {where}: expected a dict or None; got {type(options).__name__} "
            f"{_short(options)}. Fix: pass options={{{', '.join(repr(k) + ': 0' for k in indices)}}} or leave it out."
        )
    picked: dict[str, int] = {}
    for name, value in options.items():
        if name not in indices:
            warnings.warn(f"reset option {name!r} of {where} is ignored (known: {sorted(indices)})", stacklevel=3)
            continue
        size = indices[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
            allowed = f"an int in 0..{size - 1}" if size > 0 else "nothing (there are no items to pick)"
            shown = value if len(repr(value)) <= 60 else _short(value)
            raise ConfigError.bad_option(name, shown, [allowed], where=f"{where} reset")
        picked[name] = int(value)
    return picked


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
