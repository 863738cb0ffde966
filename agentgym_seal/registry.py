"""One generic name -> object registry, used for envs' extras, estimators, losses, learners, monitors.

Entries may be registered eagerly (the object) or lazily (a ``"package.module:attr"`` string that is
imported on first :meth:`Registry.get`), so registering never imports heavy dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, cast

from agentgym_seal.errors import AgentGymError, DuplicateNameError, UnknownNameError

T = TypeVar("T")


def load_entry_point(spec: str) -> object:
    """Imports ``"package.module:attr"`` (``attr`` may be dotted) and returns the attribute."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise AgentGymError(
            f"entry point must look like 'package.module:attr'; got {spec!r}. "
            "Fix: separate the module and the attribute with one colon."
        )
    obj: object = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """A named collection of ``T`` with lazy entries, duplicate rejection and helpful lookups.

    Example:
        >>> ESTIMATORS: Registry[Callable[..., float]] = Registry("advantage estimator")
        >>> @ESTIMATORS.register("zero")
        ... def zero() -> float:
        ...     return 0.0
        >>> ESTIMATORS.get("zero")()
        0.0
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, obj: T | str | None = None) -> Callable[[T], T]:
        """Registers ``obj`` (or a lazy ``"module:attr"`` string) under ``name``.

        Used as a decorator when ``obj`` is omitted. Raises :class:`DuplicateNameError` if the name
        is taken: unregister it first to replace it on purpose.
        """
        if name in self._entries:
            raise DuplicateNameError(
                f"{self.kind} {name!r} is already registered. "
                f"Fix: pick another name, or call unregister({name!r}) first."
            )
        if obj is not None:
            self._entries[name] = obj
            return lambda f: f

        def decorator(f: T) -> T:
            self._entries[name] = f
            return f

        return decorator

    def unregister(self, name: str) -> None:
        """Removes ``name``; raises :class:`UnknownNameError` if absent."""
        if name not in self._entries:
            raise UnknownNameError(self.kind, name, self._entries)
        del self._entries[name]

    def get(self, name: str) -> T:
        """Returns the entry, importing it first if it was registered lazily."""
        try:
            entry = self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._entries) from None
        if isinstance(entry, str):
            loaded = cast(T, load_entry_point(entry))
            self._entries[name] = loaded
            return loaded
        return entry

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
