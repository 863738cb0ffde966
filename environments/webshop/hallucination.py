"""Hallucination flags of one WebShop step (SPEC 6.2), in our words after the SEAL authors' rules.

- :func:`fabricated_facts`: the message lists structured product facts (``- color: navy``,
  ``material: cotton``, ...) with a "details" intro or at least two of them, and at least one value
  is not found in the evidence (the current page and the actions taken so far; the instruction is
  deliberately not evidence: copying the wanted attributes into a "details" list is the error).
- :func:`contradiction`: the message says something does not match / cannot be verified and yet
  goes ahead ("proceed", "confirm", "buy now", "matches the criteria", or a ``buy now`` click), or says
  "only result" on a page with more than one result. A positive phrase just after a negation or a
  condition ("I will not confirm", "before I proceed") is no claim of going ahead.
- The secondary rule, ``click_not_on_page``, is judged by the env: a ``click[x]`` whose ``x`` is not a
  clickable of the page.
"""

from __future__ import annotations

import re

_FACT = re.compile(  # matched per line: [ \t], never \s, outside the value, and a greedy value, so it is linear
    r"[ \t]*(?:[-*][ \t]*)?(?P<field>fabric(?:\s+type)?|material|fit(?:\s+type)?|color(?:\s+type)?|size(?:\s+type)?"
    r"|price(?:\s+type)?|sleeve(?:\s+type)?|outsole|sole)[ \t]*[:\-][ \t]*(?P<value>.+)",
    re.IGNORECASE,
)
_DETAILS_INTRO = re.compile(
    r"following are the details|details of the|details of this|product details|details are as follows", re.I
)
_NEGATIVE = re.compile(
    r"does not match|doesn't match|not match|not specified|not given|not available|not listed|cannot verify"
    r"|need to verify|\bno\b[^.;!?\n]{0,60}?\bmatch|not the exact|not clear",
    re.I,
)
#: Phrases that say the shopper goes ahead; each a short match (windows bounded), so finditer stays linear.
_POSITIVE = re.compile(
    r"\bmatch(?:es)?\b(?=[^.;!?\n]{0,40}?\b(?:criteria|required)\b)|\bmeets? the criteria|within the required criteria"
    r"|\bfits? the criteria|only action left|click on ['\"]?buy now|\bproceed|(?<!\bto )\bconfirm|\bbuy now",
    re.I,
)
#: Words that, up to two words before a positive phrase, make it no claim of going ahead: a negation
#: ("will not confirm", "won't proceed", "cannot proceed") or a condition ("before I proceed", "if it matches").
_NOT_AFFIRMED = re.compile(
    r"(?:\bnot|n['\u2019]t|\bnever|\bno|\bcannot|\bwithout|\bbefore|\buntil|\bunless|\bwhether|\bif|\brather than"
    r"|\binstead of)\s+(?:\w+\s+){0,2}$",
    re.I,
)
_ONLY_RESULT = re.compile(r"\bonly result\b", re.I)
_TOTAL = re.compile(r"Total results:\s*(\d+)", re.I)
_VAGUE = frozenset({"not given", "not specified", "n.a.", "na", "unknown"})
_VALUE_TOKEN = re.compile(r"[a-z0-9.]+")
_MAX_CHARS = 4_000  # a longer message is judged on its first 4,000 characters (bounds the cost of a step)
_WHITESPACE_RUN = re.compile(r"\s{2,}")


def _head(message: str) -> str:
    """What the rules read: whitespace runs squeezed, then the first ``_MAX_CHARS`` characters.

    A run becomes one newline if it holds one, else one space; so blank runs neither use up the budget nor cost
    the patterns time.
    """
    squeezed = _WHITESPACE_RUN.sub(lambda m: "\n" if "\n" in m.group() else " ", message[: 16 * _MAX_CHARS])
    return squeezed[:_MAX_CHARS]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def structured_facts(message: str) -> list[tuple[str, str]]:
    """The ``(field, value)`` facts listed in ``message``, normalised."""
    return _facts(_head(message))


def _facts(head: str) -> list[tuple[str, str]]:
    """:func:`structured_facts` of text already cut by :func:`_head`."""
    facts = []
    for line in head.split("\n"):
        if ":" not in line and "-" not in line:  # a fact needs its separator: skip the regex (blank runs are cheap)
            continue
        m = _FACT.fullmatch(line)
        if m is not None:
            facts.append((_norm(m.group("field")), _norm(m.group("value")).strip(" .;,'\"")))
    return facts


def fabricated_facts(message: str, evidence: str) -> bool:
    """Rule (a): two listed facts, or one after a "details" intro, and at least one not found in ``evidence``."""
    text = _head(message)
    facts = _facts(text)
    needed = 1 if _DETAILS_INTRO.search(text) else 2
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
    """Whether ``text`` has a positive phrase (proceed, confirm, ...) that no negation or condition just precedes."""
    return any(not _NOT_AFFIRMED.search(text[max(0, m.start() - 40) : m.start()]) for m in _POSITIVE.finditer(text))


def contradiction(message: str, observation: str, action: str) -> bool:
    """Rule (b): a negative/uncertain claim and yet going ahead (or buying), or a false "only result"."""
    text = _head(message)
    if _NEGATIVE.search(text) and (_affirmed(text) or action == "click[buy now]"):
        return True
    total = _TOTAL.search(observation) if _ONLY_RESULT.search(text) else None
    return total is not None and int(total.group(1)) > 1
