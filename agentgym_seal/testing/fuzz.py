"""Garbage and random actions: a text env's ``step`` must survive any string a model can emit.

The shipped fuzzer uses only a seeded NumPy generator (Hypothesis is a dev dependency), so a failure
is reproduced by calling :func:`check_fuzz` again with the seed its message prints.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium
import numpy as np

from agentgym_seal.testing.contract import admissible_actions, reset_checked, short_repr, step_checked

#: Fragments spliced into random actions: the answer tags of every agentgym env, tool-call JSON,
#: other envs' commands, and whitespace.
FUZZ_FRAGMENTS: tuple[str, ...] = (
    "<think>",
    "</think>",
    "<action>",
    "</action>",
    "<search>",
    "</search>",
    "<answer>",
    "</answer>",
    "<information>",
    "</information>",
    "<tool_call>",
    "</tool_call>",
    '{"name": "',
    '", "arguments": {',
    "}",
    "search[",
    "click[",
    "]",
    "buy now",
    "go to ",
    "take ",
    " from ",
    "\n",
    "\t",
    " ",
)

#: Characters of random runs: printable ASCII, control characters, accents, CJK, right-to-left and
#: zero-width marks, emoji.
FUZZ_CHARSET: str = (
    string.printable + "\x00\x07\x1b\x7f" + "éüßøñ" + "打开冰箱中文" + "مرحبا" + "\u200b\u200d\u202e\ufeff" + "😀🧊🍎👍"
)

_Generator = Callable[[np.random.Generator, Sequence[str]], str]


def garbage_actions() -> dict[str, str]:
    """Named actions no env expects; ``step`` must answer each with a valid invalid-action step.

    Returns:
        A fresh dict ``{description: action}`` (built on each call: one entry is 1 MB long).
    """
    one_mb = 1 << 20
    unit = "<think>" + "a" * 100 + "<action>go to shelf 1</action>" * 3
    return {
        "empty string": "",
        "whitespace only": "   ",
        "newlines and tabs": "\n\t\r\n",
        "1 MB string": (unit * (one_mb // len(unit) + 1))[:one_mb],
        "binary junk decoded as latin-1": bytes(range(256)).decode("latin-1") * 8,
        "unicode, emoji and CJK": "打开冰箱 🧊🍎 ñandú ∀x∈ℝ \u202eright-to-left\u200b 👨\u200d👩\u200d👧",
        "nested unclosed tags": "<action><action>x</action>",
        "empty tags": "<think></think><action></action>",
        "unclosed think": "<think>I should open the fridge",
        "closing tag first": "</action>go north<action>",
        "WebShop search": "search[red shoes]",
        "WebShop click": "click[buy now]",
        "SearchQA tags": "<search>who wrote hamlet</search><answer>Shakespeare</answer>",
        "tool-call JSON": '<tool_call>{"name": "step", "arguments": {"action": 3}}</tool_call>',
        "brackets only": "][[[]]]}{",
    }


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _random_chars(rng: np.random.Generator, admissible: Sequence[str]) -> str:
    length = 5000 if rng.random() < 0.05 else int(rng.integers(0, 80))
    idx = rng.integers(0, len(FUZZ_CHARSET), size=length)
    return "".join(FUZZ_CHARSET[int(i)] for i in idx)


def _random_fragments(rng: np.random.Generator, admissible: Sequence[str]) -> str:
    words = [w for action in admissible for w in action.split()] or ["look"]
    pieces = [
        _pick(rng, FUZZ_FRAGMENTS) if rng.random() < 0.6 else _pick(rng, words) for _ in range(int(rng.integers(1, 10)))
    ]
    return "".join(pieces)


def _mutate(rng: np.random.Generator, text: str) -> str:
    for _ in range(int(rng.integers(1, 4))):
        pos = int(rng.integers(0, len(text) + 1))
        edit = int(rng.integers(6))
        if edit == 0:  # delete a character
            text = text[:pos] + text[pos + 1 :]
        elif edit == 1:  # insert a random character
            text = text[:pos] + _pick(rng, FUZZ_CHARSET) + text[pos:]
        elif edit == 2:  # insert a fragment (a tag, a bracket, whitespace)
            text = text[:pos] + _pick(rng, FUZZ_FRAGMENTS) + text[pos:]
        elif edit == 3:
            text = text.upper() if rng.random() < 0.5 else text.title()
        elif edit == 4:  # truncate
            text = text[:pos]
        else:  # repeat
            text = text + " " + text
    return text


def _mutated_admissible(rng: np.random.Generator, admissible: Sequence[str]) -> str:
    if not admissible:
        return _random_fragments(rng, admissible)
    return _mutate(rng, _pick(rng, admissible))


def _tagged_admissible(rng: np.random.Generator, admissible: Sequence[str]) -> str:
    action = _pick(rng, admissible) if admissible else _random_chars(rng, admissible)
    if rng.random() < 0.5:
        action = _mutate(rng, action)
    message = f"<think>{_random_chars(rng, admissible)}</think><action>{action}</action>"
    return _mutate(rng, message) if rng.random() < 0.3 else message


_GENERATORS: tuple[_Generator, ...] = (
    _random_chars,
    _random_fragments,
    _mutated_admissible,
    _tagged_admissible,
)


def random_action(rng: np.random.Generator, admissible: Sequence[str] = ()) -> str:
    """One random action: random characters, spliced tags, or an admissible action mutated or tagged.

    Args:
        rng: The generator all choices are drawn from (seed it for reproducible runs).
        admissible: The env's current admissible actions, to fuzz close to valid input.

    Returns:
        The action string.
    """
    return _GENERATORS[int(rng.integers(len(_GENERATORS)))](rng, admissible)


def check_garbage_actions(env: gymnasium.Env[Any, Any], *, seed: int = 0) -> None:
    """Steps ``env`` with each of :func:`garbage_actions`, resetting when an episode ends.

    Raises:
        EnvCheckError: ``step`` raised or returned an invalid result on one of them.
    """
    reset_checked(env, seed=seed)
    for name, action in garbage_actions().items():
        result = step_checked(env, action, label=f"{short_repr(action, 40)} [{name}]")
        if result.terminated or result.truncated:
            reset_checked(env, seed=seed)


def check_fuzz(env: gymnasium.Env[Any, Any], *, seed: int = 0, num_actions: int = 200) -> None:
    """Steps ``env`` with ``num_actions`` :func:`random_action` strings drawn from a seeded generator.

    Args:
        env: The env to fuzz (it is reset first, and again whenever an episode ends).
        seed: Seed of the generator and of the resets; failures print it.
        num_actions: How many actions to send.

    Raises:
        EnvCheckError: ``step`` raised or returned an invalid result on one of them.
    """
    rng = np.random.default_rng(seed)
    _, info = reset_checked(env, seed=seed)
    for i in range(num_actions):
        action = random_action(rng, admissible_actions(info))
        label = f"{short_repr(action, 60)} [fuzz action #{i} of check_fuzz(env, seed={seed})]"
        result = step_checked(env, action, label=label)
        info = result.info
        if result.terminated or result.truncated:
            _, info = reset_checked(env, seed=seed + i + 1)
