"""What the trainer needs of a rollout: the in-process :class:`GroupRollout` and the Ray runner both fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from agentgym_seal.engines.base import SamplingParams
from agentgym_seal.rollout.batch import RolloutBatch


class Rollout(Protocol):
    """Rolls out groups of envs from task seeds (``GroupRollout``, ``RayGroupRollout``)."""

    @property
    def cfg(self) -> Any:
        """The :class:`~agentgym_seal.rollout.RolloutConfig`."""
        ...

    @property
    def timing(self) -> dict[str, float]:
        """Seconds per phase, summed over calls."""
        ...

    def collect(
        self, seeds: Sequence[int], *, group_size: int | None = None, sampling: SamplingParams | None = None
    ) -> RolloutBatch:
        """Rolls out ``group_size`` envs per seed until every episode ends."""
        ...

    def sync_weights(self, model: Any) -> None:
        """Makes the rollout sample from ``model``'s current weights."""
        ...

    def metrics(self) -> dict[str, float]:
        """Runner metrics for the step's row."""
        ...

    def close(self) -> None:
        """Frees the envs."""
        ...
