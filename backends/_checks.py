"""Argument checks shared by the estimators, losses and the SEAL head (messages: expected, got, fix)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor

from agentgym_seal.errors import ConfigError

C = TypeVar("C")


def check_option(name: str, got: object, allowed: Iterable[object], *, where: str) -> None:
    """Raises :meth:`ConfigError.bad_option` unless ``got`` is one of ``allowed``."""
    allowed_list = list(allowed)
    if got not in allowed_list:
        raise ConfigError.bad_option(name, got, allowed_list, where=where)


def check_range(
    name: str,
    value: float,
    *,
    where: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raises :class:`ConfigError` unless ``value`` is a finite number inside the given interval."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ConfigError(
            f"option {name!r} of {where}: expected a finite number in {lo}, {hi}; got {value!r}. "
            f"Fix: pass a value inside that interval."
        )


def expect_config(cfg: object, cls: type[C], *, kind: str, name: str) -> C:
    """Returns ``cfg`` typed as ``cls``; raises :class:`ConfigError` if a registry entry got another config."""
    if not isinstance(cfg, cls):
        raise ConfigError(
            f"{kind} {name!r}: expected a {cls.__name__}; got {type(cfg).__name__}. "
            f"Fix: pass {cls.__name__}(...), or look the entry up by the config's own name (cfg.name)."
        )
    return cfg


def check_same_length(where: str, **sizes: int) -> None:
    """Raises :class:`ValueError` unless every named input has the same number of entries."""
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"len({k})={v}" for k, v in sizes.items())
        raise ValueError(
            f"{where}: expected one entry per step sample in every input; got {listed}. "
            "Fix: pass aligned per-sample inputs (one row per step sample, same order everywhere)."
        )


def check_1d(where: str, name: str, x: Tensor) -> None:
    """Raises :class:`ValueError` unless ``x`` is a 1-D tensor."""
    if not isinstance(x, Tensor) or x.dim() != 1:
        got = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(
            f"{where}: expected {name} to be a 1-D tensor (one value per step sample); got {got}. "
            "Fix: reduce token-level values to one scalar per sample first."
        )


def check_same_shape(where: str, **tensors: Tensor) -> None:
    """Raises :class:`ValueError` unless every named tensor has the same shape."""
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{k}{list(s)}" for k, s in shapes.items())
        raise ValueError(
            f"{where}: expected tensors of one shape (B, T); got {listed}. "
            "Fix: pass per-token tensors aligned with the response mask."
        )


def as_float(x: Tensor) -> Tensor:
    """Returns ``x`` unchanged if it is floating point, else converted to the default float dtype."""
    return x if x.is_floating_point() else x.to(torch.get_default_dtype())


def as_bool(where: str, name: str, x: Tensor) -> Tensor:
    """Returns ``x`` as a bool tensor; integer/float tensors are accepted only if they hold 0/1 values."""
    if x.dtype == torch.bool:
        return x
    if not bool(((x == 0) | (x == 1)).all()):
        raise ValueError(
            f"{where}: expected {name} to be a bool tensor (or 0/1 values); got dtype {x.dtype} with other values. "
            f"Fix: pass a bool tensor."
        )
    return x.to(torch.bool)


def as_keys(keys: Sequence[Hashable] | Tensor | np.ndarray) -> Sequence[Hashable]:
    """Returns group/trajectory keys as Python values: the elements of a tensor hash by identity, not value."""
    if isinstance(keys, Tensor | np.ndarray):
        keys_list: list[Hashable] = keys.tolist()
        return keys_list
    return keys
