"""Text degeneracy of responses: sentence duplication and repeated n-gram mass (SPEC 6.1, SEAL-repo).

Behaviour follows SEAL-repo ``repetition.py`` (``metrics_for_output``): statistics are computed on the
content of the first ``<think>…</think>`` block when it is non-empty, else on the whole response.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_THINK = re.compile(r"<think>(.*?)</think>", flags=re.IGNORECASE | re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WHITESPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"\w+|[^\w\s]")

MIN_SENTENCE_CHARS = 20
"""Normalised sentences shorter than this are ignored by :func:`sentence_duplication_ratio` (SPEC 6.1 step 3)."""

DUP_FLAG_THRESHOLD = 0.25
"""A response counts in ``text/sentence_dup_ge_25`` when its duplication ratio is >= this (SPEC 6.1 step 6)."""


def degeneracy_base(text: str) -> str:
    """The text the degeneracy statistics read (SPEC 6.1 step 1).

    Args:
        text: One response.

    Returns:
        The stripped content of the first ``<think>…</think>`` block (case-insensitive, across lines) if that
        is non-empty, else ``text`` itself.
    """
    match = _THINK.search(text)
    think = match.group(1).strip() if match else ""
    return think if think else text


def split_sentences(text: str) -> list[str]:
    """Splits at whitespace that follows ``.``, ``!`` or ``?``; strips pieces and drops empty ones (SPEC 6.1 step 2).

    Args:
        text: Any text.

    Returns:
        The sentences, in order.
    """
    return [piece.strip() for piece in _SENTENCE_END.split(text.strip()) if piece.strip()]


def _normalise(sentence: str) -> str:
    return _WHITESPACE.sub(" ", sentence.lower()).strip()  # SPEC 6.1 step 3: lowercase, collapse whitespace


def sentence_duplication_ratio(text: str) -> float:
    """Share of kept sentence occurrences whose normalised text occurs at least twice (SPEC 6.1).

    Steps: take :func:`degeneracy_base`; :func:`split_sentences`; lowercase and collapse whitespace; keep
    sentences of >= 20 characters; the ratio counts every copy, e.g. sentences ``[a, a, b]`` give 2/3.

    Args:
        text: One response.

    Returns:
        The ratio in [0, 1]; 0.0 when no sentence is kept (SPEC 6.1 step 5).
    """
    kept = [s for s in map(_normalise, split_sentences(degeneracy_base(text))) if len(s) >= MIN_SENTENCE_CHARS]
    if not kept:
        return 0.0
    counts = Counter(kept)
    repeated = sum(c for c in counts.values() if c >= 2)  # SPEC 6.1 step 4: every copy counts
    return repeated / len(kept)


def tokenize(text: str) -> list[str]:
    r"""Lowercased tokens by the regex ``\w+|[^\w\s]`` (SPEC 6.1, the statistics' tokenizer).

    Args:
        text: Any text.

    Returns:
        The tokens.
    """
    return _TOKEN.findall(text.lower())


def repeated_ngram_mass(text: str, n: int = 5, *, think_first: bool = True) -> float:
    """Fraction of the response's n-grams (occurrences) whose n-gram occurs at least twice (SPEC 6.1).

    Args:
        text: One response.
        n: The n-gram length, >= 1.
        think_first: Read :func:`degeneracy_base` (the think block when non-empty), as SEAL-repo does;
            ``False`` reads ``text`` as given.

    Returns:
        The mass in [0, 1]; 0.0 when the text has fewer than ``n`` tokens.

    Raises:
        ValueError: ``n < 1``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"repeated_ngram_mass: expected n to be an int >= 1; got {n!r}.")
    tokens = tokenize(degeneracy_base(text) if think_first else text)
    if len(tokens) < n:
        return 0.0
    counts = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    repeated = sum(c for c in counts.values() if c >= 2)
    return repeated / (len(tokens) - n + 1)


def text_degeneracy(responses: Sequence[str]) -> dict[str, float]:
    """Batch means of the degeneracy statistics (SPEC 6.1 step 6).

    Args:
        responses: Response texts (one per step sample).

    Returns:
        ``text/sentence_dup`` (mean duplication ratio), ``text/sentence_dup_ge_25`` (fraction, in [0, 1], of
        responses with ratio >= 0.25; SEAL-repo prints it as a percentage) and ``text/repeated_5gram_mass``
        (mean). All NaN for an empty batch.
    """
    if not responses:
        return {
            "text/sentence_dup": math.nan,
            "text/sentence_dup_ge_25": math.nan,
            "text/repeated_5gram_mass": math.nan,
        }
    dup = [sentence_duplication_ratio(r) for r in responses]
    mass = [repeated_ngram_mass(r, 5) for r in responses]
    return {
        "text/sentence_dup": sum(dup) / len(dup),
        "text/sentence_dup_ge_25": sum(d >= DUP_FLAG_THRESHOLD for d in dup) / len(dup),
        "text/repeated_5gram_mass": sum(mass) / len(mass),
    }
