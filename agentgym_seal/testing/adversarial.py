"""Hostile input for text envs, as Hypothesis strategies: what degenerate or malicious model output looks like.

:func:`fuzz_actions` draws :class:`FuzzAction` recipes of named kinds (lone surrogates, NUL and control
characters, 1 MB strings, runs of newlines and spaces, unbalanced and nested tags, tags injected inside
an argument, corrupted admissible actions, and well-formed admissible actions as the baseline). A recipe
is rendered against the env's admissible actions at the step it is sent, so one strategy serves every
env. :func:`check_adversarial` plays whole episodes of them (and keeps stepping past the episode's end),
requires every step to return a valid result, and reports per-kind step times; a failure is shrunk by
Hypothesis to a short episode before it is reported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np
from rich.table import Table

from agentgym_seal.testing.contract import admissible_actions, reset_checked, short_repr, step_checked
from agentgym_seal.testing.fuzz import FUZZ_FRAGMENTS

#: The kind of a well-formed admissible action: the baseline the adversarial step times are compared with.
BASELINE_KIND = "admissible"
#: The kind of a step sent after the episode ended (terminated or truncated), before the next reset.
AFTER_END_KIND = "after the end"
ONE_MB = 1 << 20
_TAGS = ("think", "action", "search", "answer", "information", "tool_call")
_CONFUSABLES = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", " ": "\u00a0"}  # Cyrillic, NBSP


@dataclass(frozen=True)
class FuzzAction:
    """One hostile message: ``prefix + edited(admissible[pick]) + suffix`` (``pick=None``: ``prefix`` alone)."""

    kind: str
    prefix: str
    suffix: str = ""
    pick: int | None = None
    edits: tuple[tuple[int, int, str], ...] = ()  # (op, position, payload), applied in order

    def render(self, admissible: Sequence[str]) -> str:
        """The message to send when the env offers ``admissible``."""
        if self.pick is None:
            return self.prefix
        base = admissible[self.pick % len(admissible)] if admissible else "look"
        for op, pos, payload in self.edits:
            base = _edit(base, op, pos, payload)
        return self.prefix + base + self.suffix


def _edit(text: str, op: int, pos: int, payload: str) -> str:
    """One corruption of ``text``: delete, insert, confusable swap, truncate, duplicate or case change."""
    at = pos % (len(text) + 1)
    if op == 0:
        return text[:at] + text[at + 1 :]
    if op == 1:
        return text[:at] + payload + text[at:]
    if op == 2:
        return "".join(_CONFUSABLES.get(ch, ch) for ch in text)
    if op == 3:
        return text[:at]
    if op == 4:
        return text + payload + text
    return text.upper() if pos % 2 else text.title()


def _literal(kind: str, strategy: Any) -> Any:
    return strategy.map(lambda text: FuzzAction(kind, text))


def _around(kind: str, prefix: Any, suffix: Any, edits: Any = None) -> Any:
    from hypothesis import strategies as st

    edits = st.just(()) if edits is None else edits
    return st.builds(FuzzAction, st.just(kind), prefix, suffix, st.integers(0, 10_000), edits)


def _character_attacks(st: Any) -> list[Any]:
    """Lone surrogates, NUL and control characters: bare, and inside an admissible action."""
    surrogate = st.integers(0xD800, 0xDFFF).map(chr)  # lone surrogates: text strategies never make them
    control = st.sampled_from([chr(i) for i in (*range(32), *range(0x7F, 0xA0))])
    bare_surrogate = st.builds(lambda a, c, b: a + c + b, st.text(max_size=10), surrogate, st.text(max_size=10))
    tagged = st.just("<think>x</think><action>")
    return [
        _literal("surrogates", bare_surrogate),
        _around(
            "surrogates",
            tagged,
            surrogate.map(lambda c: c + "</action>"),
            st.tuples(st.tuples(st.just(1), st.integers(0, 50), surrogate)),
        ),
        _literal("nul and control", st.lists(control, min_size=1, max_size=200).map("".join)),
        _around(
            "nul and control",
            st.just("<think>\x00</think><action>"),
            st.just("\x00</action>"),
            st.lists(st.tuples(st.just(1), st.integers(0, 50), control), max_size=3).map(tuple),
        ),
    ]


def _size_attacks(st: Any) -> list[Any]:
    """1 MB and 64 KB strings, and runs of newlines and spaces (up to 100,000), bare and inside the tags."""
    units = st.sampled_from(["\n", " ", "\r\n", "\t", "\n \n", " \u3000"])
    runs = st.builds(lambda unit, n: unit * n, units, st.integers(1, 100_000))
    sizes = st.sampled_from([ONE_MB, 1 << 16])
    huge = st.builds(lambda unit, n: (unit * (n // len(unit) + 1))[:n], st.text(min_size=1, max_size=20), sizes)
    return [
        _literal("huge", huge),
        _literal("whitespace runs", runs),
        _around(
            "whitespace runs", runs.map(lambda r: f"<think>{r}</think><action>"), runs.map(lambda r: r + "</action>")
        ),
    ]


def _tag_attacks(st: Any) -> list[Any]:
    """Unbalanced, deeply nested and injected tags (a closing tag and a second action inside an argument)."""
    tag = st.sampled_from(_TAGS)
    fragment = st.sampled_from(FUZZ_FRAGMENTS)
    opens = st.builds(lambda t, n: f"<{t}>" * n, tag, st.integers(1, 5000))
    injected = st.builds(lambda t, rest: f"</action></{t}><{t}>{rest}</action>", tag, fragment)
    tagged = st.just("<think>x</think><action>")
    return [
        _literal("unbalanced tags", st.lists(fragment, min_size=1, max_size=40).map("".join)),
        _literal("nested tags", st.builds(lambda o, t: o + t, opens, st.text(max_size=20))),
        _around(
            "nested tags", st.just("<think><think>x</think></think><action><action>"), st.just("</action></action>")
        ),
        _around("tag injection", tagged, injected),
        _around(
            "tag injection", st.just("<think>x</think><action>search["), st.just("</action><action>click[x]]</action>")
        ),
    ]


def fuzz_actions() -> Any:
    """A Hypothesis strategy of :class:`FuzzAction`, every kind of hostile input listed in the module docstring."""
    from hypothesis import strategies as st  # imported on use: it costs ~0.3 s

    edit = st.tuples(st.integers(0, 5), st.integers(0, 200), st.text(max_size=8))
    corrupted = _around(
        "corrupted admissible",
        st.sampled_from(["", "<think>x</think><action>"]),
        st.sampled_from(["", "</action>", "]"]),
        st.lists(edit, min_size=1, max_size=3).map(tuple),
    )
    return st.one_of(
        *_character_attacks(st),
        *_size_attacks(st),
        *_tag_attacks(st),
        corrupted,
        _literal("random text", st.text(max_size=300)),
        _around(BASELINE_KIND, st.just("<think>fuzz</think><action>"), st.just("</action>")),
        _around(BASELINE_KIND, st.just(""), st.just("")),
    )


@dataclass
class AdversarialReport:
    """What :func:`check_adversarial` sent: steps and their wall times (seconds) per kind."""

    episodes: int = 0
    step_seconds: dict[str, list[float]] = field(default_factory=dict)

    def record(self, kind: str, seconds: float) -> None:
        """Adds one step of ``kind``."""
        self.step_seconds.setdefault(kind, []).append(seconds)

    @property
    def actions(self) -> int:
        """Steps sent in all."""
        return sum(len(v) for v in self.step_seconds.values())

    def percentile_ms(self, q: float, *, baseline: bool) -> float:
        """The ``q``-th percentile step time (ms) of the baseline kind, or of every other kind."""
        times = [s for k, v in self.step_seconds.items() if (k == BASELINE_KIND) == baseline for s in v]
        return float(np.percentile(np.asarray(times) * 1000, q)) if times else float("nan")

    def slowest(self) -> tuple[str, float]:
        """``(kind, ms)`` of the slowest step."""
        kind, times = max(self.step_seconds.items(), key=lambda kv: max(kv[1]))
        return kind, max(times) * 1000

    def summary(self) -> str:
        """One line: actions, episodes, slowest step, adversarial vs admissible p99."""
        if not self.step_seconds:
            return "no step was sent"
        kind, ms = self.slowest()
        return (
            f"{self.actions} hostile actions over {self.episodes} episodes stepped without error; slowest step "
            f"{ms:.1f} ms ({kind}); p99 {self.percentile_ms(99, baseline=False):.2f} ms adversarial vs "
            f"{self.percentile_ms(99, baseline=True):.2f} ms admissible"
        )

    def to_table(self, title: str = "adversarial steps") -> Table:
        """Per kind: steps, p50, p99 and max step time (ms)."""
        table = Table(title=title)
        for name in ("kind", "steps", "p50 ms", "p99 ms", "max ms"):
            table.add_column(name, justify="left" if name == "kind" else "right")
        for kind, times in sorted(self.step_seconds.items()):
            ms = np.asarray(times) * 1000
            row = (len(ms), np.percentile(ms, 50), np.percentile(ms, 99), ms.max())
            table.add_row(kind, str(row[0]), *(f"{v:.2f}" for v in row[1:]))
        return table


def check_adversarial(
    env: gymnasium.Env[Any, Any],
    *,
    seed: int = 0,
    episodes: int = 20,
    max_steps: int = 30,
    min_steps: int = 1,
    steps_after_end: int = 2,
    report: AdversarialReport | None = None,
) -> AdversarialReport:
    """Plays ``episodes`` lists of :func:`fuzz_actions` on ``env``; every step must return a valid result.

    Args:
        env: The env (reset at the start of each episode).
        seed: Seed of Hypothesis and of the resets.
        episodes: Action lists to generate (each up to ``max_steps`` actions; an episode that ends before its
            list does is followed by a reset, counted as one more episode).
        max_steps: Most actions per episode.
        min_steps: Fewest actions per episode (longer episodes send more actions per reset).
        steps_after_end: Actions still sent once an episode ended, before the env is reset for the rest.
        report: A report to add to (several envs or runs in one table); a new one by default.

    Returns:
        The report: step times per kind.

    Raises:
        EnvCheckError: A step raised or returned an invalid result (Hypothesis' shrunk episode in the message).
    """
    import hypothesis
    from hypothesis import strategies as st

    out = report if report is not None else AdversarialReport()
    settings = hypothesis.settings(
        max_examples=episodes,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=(hypothesis.Phase.generate, hypothesis.Phase.shrink),
        print_blob=False,
    )

    @hypothesis.seed(seed)
    @settings
    @hypothesis.given(st.lists(fuzz_actions(), min_size=min_steps, max_size=max_steps))
    def episode(actions: list[FuzzAction]) -> None:
        out.episodes += 1
        _, info = reset_checked(env, seed=seed + out.episodes)
        after_end = 0
        for i, recipe in enumerate(actions):
            if after_end > steps_after_end:  # the rest of the actions go to a new episode
                out.episodes += 1
                _, info = reset_checked(env, seed=seed + out.episodes)
                after_end = 0
            message = recipe.render(admissible_actions(info))
            kind = AFTER_END_KIND if after_end else recipe.kind
            label = f"{short_repr(message, 60)} [{kind} action #{i} of check_adversarial(env, seed={seed})]"
            start = time.perf_counter()
            result = step_checked(env, message, label=label)
            out.record(kind, time.perf_counter() - start)
            info = result.info
            if after_end or result.terminated or result.truncated:
                after_end += 1

    try:
        episode()
    except BaseExceptionGroup as group:  # several distinct failures: report the first (each is shrunk)
        raise group.exceptions[0] from group
    return out
