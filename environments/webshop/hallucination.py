"""Hallucination flags of one WebShop step (SPEC 6.2), in our words after the SEAL authors' rules.

- :func:`fabricated_facts`: the message lists structured product facts (``- color: navy``,
  ``material: cotton``, ...) with a "details" intro or at least two of them, and at least one value
  is not found in the evidence (the current page and the actions taken so far; the instruction is
  deliberately not evidence: copying the wanted attributes into a "details" list is the error).
- :func:`contradiction`: the message says something does not match / cannot be verified and yet
  proceeds (or buys), or says "only result" on a page with more than one result, or says "does not
  match" and "matches the criteria".
- The secondary rule, ``click_not_on_page``, is judged by the env: a ``click[x]`` whose ``x`` is not a
  clickable of the page.
"""

from __future__ import annotations

import re

_FACT = re.compile(  # matched per line (never across one): [ \t] not \s, so runs of newlines stay linear
    r"[ \t]*(?:[-*][ \t]*)?(?P<field>fabric(?:\s+type)?|material|fit(?:\s+type)?|color(?:\s+type)?|size(?:\s+type)?"
    r"|price(?:\s+type)?|sleeve(?:\s+type)?|outsole|sole)[ \t]*[:\-][ \t]*(?P<value>.+?)[ \t\r]*",
    re.IGNORECASE,
)
_DETAILS_INTRO = re.compile(
    r"following are the details|details of the|details of this|product details|details are as follows", re.I
)
_NEGATIVE = re.compile(
    r"does not match|doesn't match|not match|not specified|not given|not available|not listed|cannot verify"
    r"|need to verify|no .* match|not the exact|not clear",
    re.I,
)
_POSITIVE = re.compile(
    r"matches? the required|meets? the criteria|within the required criteria|fits? the criteria|only action left"
    r"|click on ['\"]?buy now|proceed|confirm|buy now",
    re.I,
)
#: A negation just before a positive phrase ("will not confirm", "don't proceed"): that phrase does not count.
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:\w+\s+){0,2}$", re.I)
_ONLY_RESULT = re.compile(r"\bonly result\b", re.I)
_TOTAL = re.compile(r"Total results:\s*(\d+)", re.I)
_VAGUE = frozenset({"not given", "not specified", "n.a.", "na", "unknown"})
_VALUE_TOKEN = re.compile(r"[a-z0-9.]+")
_MAX_CHARS = 4_000  # a longer message is judged on its first 4,000 characters (keeps the regexes linear-ish)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def structured_facts(message: str) -> list[tuple[str, str]]:
    """The ``(field, value)`` facts listed in ``message``, normalised."""
    facts = []
    for line in message[:_MAX_CHARS].split("\n"):
        m = _FACT.fullmatch(line)
        if m is not None:
            facts.append((_norm(m.group("field")), _norm(m.group("value")).strip(" .;,'\"")))
    return facts


def fabricated_facts(message: str, evidence: str) -> bool:
    """Rule (a): two listed facts, or one after a "details" intro, and at least one not found in ``evidence``."""
    facts = structured_facts(message)
    needed = 1 if _DETAILS_INTRO.search(message[:_MAX_CHARS]) else 2
    if len(facts) < needed:
        return False
    seen = _norm(evidence)
    unsupported = [
        value
        for _, value in facts
        if value and value not in _VAGUE and _VALUE_TOKEN.search(value) and value not in seen
    ]
    return len(unsupported) >= 1


def _affirmed(text: str) -> bool:
    """Whether ``text`` has a positive phrase (proceed, confirm, ...) that is not negated just before it."""
    return any(not _NEGATED.search(text[max(0, m.start() - 40) : m.start()]) for m in _POSITIVE.finditer(text))


def contradiction(message: str, observation: str, action: str) -> bool:
    """Rule (b): a negative/uncertain claim followed by proceeding, or a false "only result"."""
    text = message[:_MAX_CHARS]
    if _NEGATIVE.search(text) and (_affirmed(text) or "buy now" in action):
        return True
    if _ONLY_RESULT.search(text):
        total = _TOTAL.search(observation)
        if total and int(total.group(1)) > 1:
            return True
    lowered = _norm(text)
    return bool(re.search(r"(does not|doesn't|not).*?\bmatch", lowered)) and bool(
        re.search(r"\bmatches?\b.*?(criteria|required)", lowered)
    )
