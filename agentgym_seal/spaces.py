"""Text spaces for language environments.

Gymnasium's :class:`gymnasium.spaces.Text` defaults to an alphanumeric charset and a minimum length
of 1, so "go to shelf 1" or an empty model message are *outside* it and ``check_env`` fails on real
language. :class:`TextSpace` accepts any ``str`` up to ``max_length`` characters.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium.spaces import Space

#: Characters :meth:`TextSpace.sample` draws from: printable ASCII (letters, digits, punctuation,
#: space) plus a few non-ASCII letters and symbols so samplers exercise unicode handling.
SAMPLE_CHARSET: str = string.ascii_letters + string.digits + string.punctuation + " " + "éüßøñ中文→…"

#: Default maximum length: long enough for any observation or model message we produce.
DEFAULT_MAX_LENGTH: int = 1 << 20


class TextSpace(Space[str]):
    """Any Python ``str`` of length ``0..max_length`` (unicode allowed, empty allowed).

    ``sample()`` draws a length uniformly in ``[0, min(max_length, sample_max_length)]`` and characters
    uniformly from :data:`SAMPLE_CHARSET`. ``contains`` only checks the type and the length.

    Example:
        >>> space = TextSpace(max_length=64)
        >>> space.contains("go to shelf 1"), space.contains(""), space.contains(3)
        (True, True, False)
    """

    def __init__(
        self,
        max_length: int = DEFAULT_MAX_LENGTH,
        *,
        sample_max_length: int = 64,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if max_length < 0:
            raise ValueError(f"max_length must be >= 0; got {max_length}")
        self.max_length = int(max_length)
        self.sample_max_length = int(sample_max_length)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        """Text has no fixed-size flat representation."""
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """Returns a random string drawn from :data:`SAMPLE_CHARSET`."""
        if mask is not None or probability is not None:
            raise NotImplementedError("TextSpace.sample does not support masks or probabilities")
        hi = min(self.max_length, self.sample_max_length)
        length = int(self.np_random.integers(0, hi + 1))
        idx = self.np_random.integers(0, len(SAMPLE_CHARSET), size=length)
        return "".join(SAMPLE_CHARSET[int(i)] for i in idx)

    def contains(self, x: Any) -> bool:
        """True for any ``str`` of at most ``max_length`` characters."""
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"TextSpace(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextSpace) and other.max_length == self.max_length
