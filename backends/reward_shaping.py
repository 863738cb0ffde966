"""Reward shapers, applied to a rollout batch before the advantages (``--reward-shaper``).

``none`` leaves the env rewards as they are. ``entropy-dense`` and ``entropy-sparse`` are the entropy-based
tool-use rewards of arXiv 2602.02050, in OUR READING of it (SPEC 5; the paper's formulas are not public,
so this is UNVERIFIED):

- For each tool call (a step with ``tool_call``) that has a following step in its trajectory:
  H_before = mean token entropy of the calling step's response, H_after = the same for the next step's
  response (generated after the tool's result was appended), dH = H_before - H_after
  (:func:`~agentgym_seal.tool_rewards.tool_call_entropies`; ``--shaping.window`` keeps
  the last / first W tokens). Token entropies are the rollout's (``StepSample.entropies``: the sampling
  distribution at the rollout temperature).
- ``entropy-dense`` (process reward, per call): ``coef * f(dH)`` is added to the calling step's env reward
  (f: ``--shaping.mode`` linear, sign or clip).
- ``entropy-sparse`` (outcome reward, per trajectory): the trajectory's return R becomes
  ``R * (1 - beta * (1 - q))``, q = share of its scored calls with dH > ``threshold`` (q = 1 without
  calls); the change is put on the trajectory's last step, where the outcome reward is.

Both change ``env_reward`` of the samples and ``episode_reward`` of the trajectories (so GRPO, GiGPO and
the monitor see the shaped rewards); ``won`` (task success) is unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agentgym_seal.errors import AgentGymError, ConfigError
from agentgym_seal.registration import ENVS, family_of
from agentgym_seal.registry import Registry
from agentgym_seal.rollout import RolloutBatch, StepSample
from agentgym_seal.tool_rewards import (
    DenseMode,
    ToolCallEntropy,
    dense_process_rewards,
    sparse_outcome_reward,
    tool_call_entropies,
)


@dataclass(frozen=True)
class ShapingConfig:
    """Options of the entropy reward shapers (OUR READING of 2602.02050, UNVERIFIED)."""

    coef: float = 0.1
    """entropy-dense: reward per nat of entropy reduction (or per call with mode sign)."""
    mode: DenseMode = "linear"
    """entropy-dense: f(dH) is dH (linear), its sign, or dH clipped to [-clip, clip]."""
    clip: float = 1.0
    """entropy-dense: the clip of mode clip."""
    beta: float = 1.0
    """entropy-sparse: share of the outcome reward at stake on the calls (0: plain reward, 1: all of it: a correct
    answer none of whose calls lowered the entropy scores 0)."""
    threshold: float = 0.0
    """entropy-sparse: a call counts as entropy-reducing when dH > threshold."""
    window: int | None = None
    """Tokens kept before / after a call (None: the whole responses)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.beta <= 1.0:
            raise ConfigError(f"--shaping.beta must be in [0, 1]; got {self.beta}.")
        if self.window is not None and self.window < 1:
            raise ConfigError(f"--shaping.window must be >= 1 (or None); got {self.window}.")
        if self.clip <= 0:
            raise ConfigError(f"--shaping.clip must be > 0; got {self.clip}.")


class RewardShaper(Protocol):
    """Rewrites the rewards of a rollout batch; returns the new batch and ``shaping/*`` metrics."""

    needs_entropies: bool

    def __call__(self, batch: RolloutBatch) -> tuple[RolloutBatch, dict[str, float]]:
        """Shapes ``batch``."""
        ...


def trajectory_steps(batch: RolloutBatch) -> dict[int, list[int]]:
    """Sample indices of each trajectory, in time order."""
    steps: dict[int, list[int]] = {}
    for i, sample in enumerate(batch.samples):
        steps.setdefault(sample.traj_uid, []).append(i)
    return steps


def scored_calls(
    samples: Sequence[StepSample], steps: Sequence[int], window: int | None
) -> list[tuple[int, ToolCallEntropy]]:
    """(sample index, entropies) of each tool call of one trajectory that has a next step to compare with."""
    out: list[tuple[int, ToolCallEntropy]] = []
    for pos, i in enumerate(steps[:-1]):
        if not samples[i].tool_call:
            continue
        turns = [samples[i].entropies, samples[steps[pos + 1]].entropies]
        if turns[0] is None or turns[1] is None:
            raise AgentGymError(
                "the entropy reward shapers need per-token entropies, but the rollout recorded none. "
                "Fix: use an engine that provides them (--engine hf), or --reward-shaper none."
            )
        calls = tool_call_entropies([list(t) for t in turns if t is not None], [True, False], window)
        out.extend((i, call) for call in calls)
    return out


def call_metrics(batch: RolloutBatch, window: int | None = None) -> dict[str, float]:
    """``shaping/*`` diagnostics of the batch's tool calls (empty without tool calls or entropies)."""
    if not any(s.tool_call for s in batch.samples) or any(s.entropies is None for s in batch.samples):
        return {}
    calls = [c for steps in trajectory_steps(batch).values() for _, c in scored_calls(batch.samples, steps, window)]
    n = len(calls)
    return {
        "shaping/scored_calls": float(n),
        "shaping/entropy_reduction": sum(c.reduction for c in calls) / n if n else 0.0,
        "shaping/reducing_call_frac": sum(c.reduction > 0 for c in calls) / n if n else 0.0,
    }


def _rewrite(batch: RolloutBatch, rewards: list[float]) -> RolloutBatch:
    """``batch`` with new per-sample env rewards, and trajectory totals to match."""
    samples = tuple(dataclasses.replace(s, env_reward=r) for s, r in zip(batch.samples, rewards, strict=True))
    totals: dict[int, float] = {}
    for s in samples:
        totals[s.traj_uid] = totals.get(s.traj_uid, 0.0) + s.env_reward
    trajectories = tuple(
        dataclasses.replace(t, episode_reward=totals[t.traj_uid]) if t.traj_uid in totals else t
        for t in batch.trajectories
    )
    return RolloutBatch(samples, trajectories)


def _with_delta(batch: RolloutBatch, rewards: list[float], window: int | None) -> tuple[RolloutBatch, dict[str, float]]:
    before = sum(t.episode_reward for t in batch.trajectories)
    shaped = _rewrite(batch, rewards)
    after = sum(t.episode_reward for t in shaped.trajectories)
    metrics = call_metrics(batch, window)
    metrics["shaping/reward_delta"] = (after - before) / max(1, len(batch.trajectories))
    return shaped, metrics


class NoShaping:
    """``none``: the env rewards unchanged (tool-call entropy diagnostics are still logged when available)."""

    needs_entropies = False

    def __init__(self, cfg: ShapingConfig) -> None:
        self.cfg = cfg

    def __call__(self, batch: RolloutBatch) -> tuple[RolloutBatch, dict[str, float]]:
        """Returns ``batch`` itself."""
        return batch, call_metrics(batch, self.cfg.window)


class DenseEntropyShaper:
    """``entropy-dense``: each scored call's step gets ``coef * f(dH)`` added (process reward)."""

    needs_entropies = True

    def __init__(self, cfg: ShapingConfig) -> None:
        self.cfg = cfg

    def __call__(self, batch: RolloutBatch) -> tuple[RolloutBatch, dict[str, float]]:
        """Adds the per-call rewards."""
        rewards = [s.env_reward for s in batch.samples]
        for steps in trajectory_steps(batch).values():
            calls = scored_calls(batch.samples, steps, self.cfg.window)
            bonus = dense_process_rewards(
                [c for _, c in calls], coef=self.cfg.coef, mode=self.cfg.mode, clip=self.cfg.clip
            )
            for (i, _), b in zip(calls, bonus, strict=True):
                rewards[i] += b
        return _with_delta(batch, rewards, self.cfg.window)


class SparseEntropyShaper:
    """``entropy-sparse``: each trajectory's return R becomes ``R * (1 - beta * (1 - q))`` (outcome reward)."""

    needs_entropies = True

    def __init__(self, cfg: ShapingConfig) -> None:
        self.cfg = cfg

    def __call__(self, batch: RolloutBatch) -> tuple[RolloutBatch, dict[str, float]]:
        """Scales the returns; the change lands on each trajectory's last step."""
        rewards = [s.env_reward for s in batch.samples]
        for steps in trajectory_steps(batch).values():
            calls = [c for _, c in scored_calls(batch.samples, steps, self.cfg.window)]
            total = sum(rewards[i] for i in steps)
            shaped = sparse_outcome_reward(total, calls, beta=self.cfg.beta, threshold=self.cfg.threshold)
            rewards[steps[-1]] += shaped - total
        return _with_delta(batch, rewards, self.cfg.window)


#: Reward shapers by ``--reward-shaper`` name: classes built from a :class:`ShapingConfig`.
REWARD_SHAPERS: Registry[Callable[[ShapingConfig], RewardShaper]] = Registry("reward shaper")
REWARD_SHAPERS.register("none", NoShaping)
REWARD_SHAPERS.register("entropy-dense", DenseEntropyShaper)
REWARD_SHAPERS.register("entropy-sparse", SparseEntropyShaper)


def build_shaper(name: str, cfg: ShapingConfig, *, engine: Any, tool_calls: bool, env_id: str) -> RewardShaper:
    """The shaper ``name``; raises :class:`ConfigError` at start when the engine or env cannot feed it."""
    shaper = REWARD_SHAPERS.get(name)(cfg)
    if shaper.needs_entropies and not getattr(engine, "provides_entropies", False):
        raise ConfigError(
            f"--reward-shaper {name} needs per-token entropies from the generation engine, and "
            f"{type(engine).__name__} does not provide them. Fix: --engine hf, or --reward-shaper none."
        )
    if shaper.needs_entropies and not tool_calls:
        raise ConfigError(
            f"--reward-shaper {name} rewards tool calls, and {env_id} makes none. "
            f"Fix: --reward-shaper none, or an env with tool calls ({', '.join(tool_call_envs())})."
        )
    return shaper


def tool_call_envs() -> list[str]:
    """The registered env ids whose family makes tool calls (what the entropy shapers can reward)."""
    return [env_id for env_id in ENVS if family_of(env_id).tool_calls]
