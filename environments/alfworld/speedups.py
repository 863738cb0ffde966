"""Speed-ups of the real TextWorld engine that change no observation: caches of pure functions, no needless copies.

Installed once per process by :func:`install_speedups` (on the module attributes TextWorld calls through):

- ``fast_downward.pddl2sas(domain, problem, optimize)``: loading a game translates its PDDL problem to SAS, and
  TextWorld repeats the translation on every ``reset``; TextWorld only reads the task it returns. Its translator
  overwrites ``sys.argv``, so the caller's is put back after each call.
- the game grammar's parse (``textworld.envs.pddl.logic._parse_and_convert``; ``GameLogic`` copies the actions and
  rules it returns into its own containers) and each grammar rule's parse (``textworld.envs.pddl.textgen.
  _parse_and_convert``; rules are shared by almost every game and TextWorld deep-copies a rule's symbols before
  expanding them);
- the conjunctive queries of the grammar (``Rule.parse_conjunctive_query``, parsed with tatsu at every step for
  every admissible command's text): their predicates are cached and each call gets a fresh list (``Rule`` copies
  it into a tuple; predicates are never changed once built);
- ``textworld.envs.pddl.textgen.copy_context``: TextWorld deep-copies a derivation's ``variables`` and ``mapping``
  dicts, values included, for every symbol it expands (most of a step's time). Derivation only rebinds keys of
  those dicts (``dict.update``) and reads their values (entity infos, variables), so copying the dicts alone
  gives the same derivations.

Together they make a step 6-10x faster (``tests/benchmarks/bench_alfworld.py``); the parity tests
(``tests/envs/alfworld/test_speedups.py``) play the same episodes with and without them (:func:`stock_textworld`)
and require every observation, reward and admissible list to be equal.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agentgym_seal.deps import require

_SAS_CACHE_SIZE = 256
_LOGIC_CACHE_SIZE = 64  # whole game grammars (one per game; hits for the G copies of a group)
_RULE_CACHE_SIZE = 8192  # single grammar rules (most are shared by every game)
_QUERY_CACHE_SIZE = 8192  # conjunctive queries of the grammar (a few hundred distinct ones)

#: ``(module, name) -> the original function`` of everything :func:`install_speedups` replaced.
_ORIGINALS: dict[tuple[Any, str], Any] = {}


def _keeping_argv(fn: Any) -> Any:
    """``fn`` with the caller's ``sys.argv`` restored afterwards (Fast Downward's translator overwrites it)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        saved = sys.argv
        try:
            return fn(*args, **kwargs)
        finally:
            sys.argv = saved

    return call


def _replace(module: Any, name: str, replacement: Any) -> None:
    """Sets ``module.name`` to ``replacement``, keeping the original for :func:`stock_textworld`."""
    _ORIGINALS[(module, name)] = getattr(module, name)
    setattr(module, name, replacement)


def _memoise(module: Any, name: str, size: int, *, bypass: str | None = None, keep_argv: bool = False) -> None:
    """Replaces ``module.name`` (a pure function of hashable arguments) by an LRU-cached copy."""
    original = getattr(module, name)
    if keep_argv:
        original = _keeping_argv(original)
    cached = functools.lru_cache(maxsize=size)(original)

    def memoised(*args: Any, **kwargs: Any) -> Any:
        if bypass is not None and kwargs.get(bypass):
            return original(*args, **kwargs)
        return cached(*args, **kwargs)

    _replace(module, name, memoised)


def _cache_conjunctive_queries(logic: Any) -> None:
    """Caches ``logic._parse_and_convert(expr, rule_name="conjunctiveQuery")`` as tuples; other calls pass through."""
    original = logic._parse_and_convert

    @functools.lru_cache(maxsize=_QUERY_CACHE_SIZE)
    def predicates(expr: str) -> tuple[Any, ...]:
        return tuple(original(expr, rule_name="conjunctiveQuery"))

    def parse(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and isinstance(args[0], str) and kwargs == {"rule_name": "conjunctiveQuery"}:
            return list(predicates(args[0]))
        return original(*args, **kwargs)

    _replace(logic, "_parse_and_convert", parse)


def _copy_context(context: dict[str, Any]) -> dict[str, Any]:
    """TextWorld's ``copy_context`` without copying the values of ``variables`` and ``mapping``."""
    return {
        "state": context["state"],
        "facts": context["facts"],
        "variables": dict(context["variables"]),
        "mapping": dict(context["mapping"]),
        "entity_infos": context["entity_infos"],
    }


def install_speedups() -> None:
    """Installs every speed-up of this module, process-wide (a second call does nothing)."""
    if _ORIGINALS:  # installed (every engine calls this when it opens a game)
        return
    downward, game_logic, textgen, logic = (  # every import first: a missing one replaces nothing
        require(name, "alfworld")
        for name in ("fast_downward", "textworld.envs.pddl.logic", "textworld.envs.pddl.textgen", "textworld.logic")
    )
    _memoise(downward, "pddl2sas", _SAS_CACHE_SIZE, bypass="verbose", keep_argv=True)
    _memoise(game_logic, "_parse_and_convert", _LOGIC_CACHE_SIZE)
    _memoise(textgen, "_parse_and_convert", _RULE_CACHE_SIZE)
    _cache_conjunctive_queries(logic)
    _replace(textgen, "copy_context", _copy_context)


@contextmanager
def stock_textworld() -> Iterator[None]:
    """Within the block, TextWorld runs its own functions (for parity checks); the speed-ups return after it.

    ``pddl2sas`` keeps its wrapper (a cache of what TextWorld reads, and the fix of ``sys.argv``).
    """
    install_speedups()
    swapped = {key: getattr(*key) for key in _ORIGINALS if key[1] != "pddl2sas"}
    for module, name in swapped:
        setattr(module, name, _ORIGINALS[(module, name)])
    try:
        yield
    finally:
        for (module, name), fast in swapped.items():
            setattr(module, name, fast)
