"""Advantage estimators for multi-turn agents: GRPO (SPEC 1.2) and GiGPO (SPEC 2, arXiv 2505.10978).

Every function works on *step samples*: one row per environment step, the rows of a trajectory in time
order (possibly interleaved with other trajectories). Group statistics go through the one shared
:func:`group_stats`; the size-1 and all-equal rules are applied by each caller as the SPEC states them.

Batch padding by duplication (verl-agent ``adjust_batch``, SPEC 0) is deliberately not reproduced: pass
each step sample once. A duplicated row would enter the group statistics and, for GiGPO, the trajectory's
return.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeAlias

import torch
from torch import Tensor

from agentgym_seal.registry import Registry

from ._checks import as_bool, as_float, as_keys, check_1d, check_option, check_range, check_same_length, expect_config
from .step_groups import anchor_groups, similarity_groups

GiGPOMode = Literal["mean_norm", "mean_std_norm"]
GIGPO_MODES: tuple[GiGPOMode, ...] = ("mean_norm", "mean_std_norm")


def _dense_ids(keys: Sequence[Hashable], device: torch.device) -> tuple[Tensor, int]:
    """Maps hashable keys to 0..K-1 in order of first appearance; returns (ids (N,), K)."""
    index: dict[Hashable, int] = {}
    ids = [index.setdefault(k, len(index)) for k in as_keys(keys)]
    return torch.tensor(ids, dtype=torch.long, device=device), len(index)  # (N,)


def group_stats(values: Tensor, group_ids: Sequence[Hashable]) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample statistics of the group each sample belongs to.

    The mean is computed as ``min_g + mean_g(x - min_g)``, so every member of an all-equal group gets
    exactly its own value as the mean and exactly 0 as the std (no rounding residue that a later
    ``/(std + eps)`` or a sign test would amplify). The std of a size-1 group is returned as 0; callers
    replace it by their own rule (SPEC 1.2, 2.2, 2.4).

    Args:
        values: ``(N,)`` float values, one per sample.
        group_ids: ``N`` hashable group keys.

    Returns:
        ``(mean, std, size)``, each ``(N,)``: the group mean, the unbiased (Bessel, n-1) group std, and
        the group size (``torch.long``) of each sample's group.
    """
    check_1d("group_stats", "values", values)
    check_same_length("group_stats", values=values.numel(), group_ids=len(group_ids))
    values = as_float(values)  # (N,)
    ids, n_groups = _dense_ids(group_ids, values.device)  # (N,), G
    zeros = values.new_zeros(n_groups)  # (G,)
    count = zeros.index_add(0, ids, torch.ones_like(values))  # (G,)
    group_min = values.new_full((n_groups,), float("inf")).scatter_reduce(0, ids, values, "amin")  # (G,)
    shifted = values - group_min[ids]  # (N,) exactly 0 in an all-equal group
    mean = group_min + zeros.index_add(0, ids, shifted) / count  # (G,)
    dev = values - mean[ids]  # (N,)
    var = zeros.index_add(0, ids, dev * dev) / (count - 1).clamp(min=1)  # (G,) Bessel; 0 for size 1
    return mean[ids], var.sqrt()[ids], count.long()[ids]  # (N,), (N,), (N,)


def grpo_advantages(
    scores: Tensor, group_ids: Sequence[Hashable], *, norm_by_std: bool = True, eps: float = 1e-6
) -> Tensor:
    """GRPO outcome advantage over step samples (SPEC 1.2, verl ``compute_grpo_outcome_advantage``).

    Statistics are taken across *all* step samples of a uid (``compute_mean_std_cross_steps=True``).

    Args:
        scores: ``(N,)`` per-sample score s = R_i - lambda * invalid (SPEC 1.1).
        group_ids: ``N`` task-group keys (uid).
        norm_by_std: Divide by (sigma + eps) (default); ``False`` gives A = s - mu (Dr.GRPO style).
        eps: The epsilon added to sigma; must be > 0.

    Returns:
        ``(N,)`` advantages. Size-1 group: mu = 0, sigma = 1, so A = s / (1 + eps) (A = s without std).
        All-equal group: A = 0.
    """
    check_range("eps", eps, where="grpo_advantages", low=0.0, low_open=True)
    with torch.no_grad():
        scores = as_float(scores)  # (N,)
        mean, std, size = group_stats(scores, group_ids)  # (N,) x3
        single = size == 1  # (N,)
        mean = torch.where(single, torch.zeros_like(mean), mean)  # (N,) SPEC 1.2: size-1 -> mu = 0
        std = torch.where(single, torch.ones_like(std), std)  # (N,) SPEC 1.2: size-1 -> sigma = 1
        centered = scores - mean  # (N,)
        return centered / (std + eps) if norm_by_std else centered  # (N,) SPEC 1.2


def episode_returns(rewards: Tensor, traj_ids: Sequence[Hashable]) -> Tensor:
    """Undiscounted episode reward R_i = sum_t r_{i,t}, written on every sample of trajectory i (SPEC 1.1.2).

    Args:
        rewards: ``(N,)`` env reward of each step sample.
        traj_ids: ``N`` trajectory keys.

    Returns:
        ``(N,)`` the trajectory total of each sample's trajectory.
    """
    check_1d("episode_returns", "rewards", rewards)
    check_same_length("episode_returns", rewards=rewards.numel(), traj_ids=len(traj_ids))
    rewards = as_float(rewards)  # (N,)
    traj, n_traj = _dense_ids(traj_ids, rewards.device)  # (N,), I
    return rewards.new_zeros(n_traj).index_add(0, traj, rewards)[traj]  # (N,)


def discounted_returns(rewards: Tensor, traj_ids: Sequence[Hashable], gamma: float) -> Tensor:
    """Discounted step returns R_t = r_t + gamma * R_{t+1}, R_{T+1} = 0 (SPEC 2.1, GiGPO Eq. 5).

    Args:
        rewards: ``(N,)`` env reward of each step sample; the samples of a trajectory in time order.
        traj_ids: ``N`` trajectory keys (samples of different trajectories may be interleaved).
        gamma: Discount factor in [0, 1].

    Returns:
        ``(N,)`` the discounted return from each sample's step to the end of its trajectory.
    """
    check_range("gamma", gamma, where="discounted_returns", low=0.0, high=1.0)
    check_1d("discounted_returns", "rewards", rewards)
    check_same_length("discounted_returns", rewards=rewards.numel(), traj_ids=len(traj_ids))
    rewards = as_float(rewards)  # (N,)
    traj, n_traj = _dense_ids(traj_ids, rewards.device)  # (N,), I
    seen = [0] * n_traj
    positions = []
    for i in traj.tolist():
        positions.append(seen[i])
        seen[i] += 1
    pos = torch.tensor(positions, dtype=torch.long, device=rewards.device)  # (N,) time index in trajectory
    horizon = max(seen, default=0)
    padded = rewards.new_zeros(n_traj, horizon).index_put((traj, pos), rewards)  # (I, T) 0 after the end
    returns = torch.zeros_like(padded)  # (I, T)
    running = rewards.new_zeros(n_traj)  # (I,)
    for t in reversed(range(horizon)):
        running = padded[:, t] + gamma * running  # (I,) GiGPO Eq. 5
        returns[:, t] = running
    return returns[traj, pos]  # (N,)


def step_group_advantages(
    step_scores: Tensor, step_group_ids: Sequence[Hashable], *, mode: GiGPOMode, eps: float = 1e-6
) -> Tensor:
    """Step-level relative advantage inside anchor-state groups (SPEC 2.4, GiGPO Eq. 7).

    Args:
        step_scores: ``(N,)`` penalised discounted step returns R~.
        step_group_ids: ``N`` step-group keys (from :func:`anchor_groups` or :func:`similarity_groups`).
        mode: ``"mean_norm"`` (R~ - mu) or ``"mean_std_norm"`` ((R~ - mu) / (sigma + eps)).
        eps: The epsilon added to sigma.

    Returns:
        ``(N,)`` step advantages; 0 for size-1 groups (mu = the value itself) and all-equal groups.
    """
    check_option("mode", mode, GIGPO_MODES, where="step_group_advantages")
    mean, std, _ = group_stats(step_scores, step_group_ids)  # (N,) x2; size-1: mean = value, std = 0
    centered = as_float(step_scores) - mean  # (N,) exactly 0 for size-1 and all-equal groups
    return centered / (std + eps) if mode == "mean_std_norm" else centered  # (N,) GiGPO Eq. 7


def gigpo_advantages(
    env_rewards: Tensor,
    invalid: Tensor,
    traj_ids: Sequence[Hashable],
    group_ids: Sequence[Hashable],
    anchors: Sequence[object],
    *,
    gamma: float = 0.95,
    omega: float = 1.0,
    mode: GiGPOMode = "mean_norm",
    invalid_penalty: float = 0.1,
    eps: float = 1e-6,
    similarity_threshold: float | None = None,
) -> Tensor:
    """GiGPO advantage A = A^E + omega * A^S per step sample (SPEC 2.1-2.5, arXiv 2505.10978).

    Args:
        env_rewards: ``(N,)`` env reward of each step, before any penalty.
        invalid: ``(N,)`` bool, whether the step's action was invalid.
        traj_ids: ``N`` trajectory keys; a trajectory's samples in time order (interleaving allowed).
        group_ids: ``N`` task-group keys (uid); a trajectory lies in exactly one uid.
        anchors: ``N`` anchor observations (raw obs, no history).
        gamma: Discount of the step returns (every GiGPO script: 0.95).
        omega: Weight of the step-level advantage (``step_advantage_w``).
        mode: ``"mean_norm"`` or ``"mean_std_norm"``, used at both levels.
        invalid_penalty: lambda, subtracted undiscounted from the invalid step's scores.
        eps: The epsilon added to sigma; must be > 0.
        similarity_threshold: If set, step groups are :func:`similarity_groups` clusters instead of
            exact anchor equality.

    Returns:
        ``(N,)`` advantages.

    Raises:
        ConfigError: An option is out of range or ``mode`` is unknown.
        ValueError: Inputs of different lengths, or a trajectory spread over several uids.
    """
    where = "gigpo_advantages"
    traj_ids, group_ids = as_keys(traj_ids), as_keys(group_ids)
    check_option("mode", mode, GIGPO_MODES, where=where)
    check_range("eps", eps, where=where, low=0.0, low_open=True)
    check_range("omega", omega, where=where)
    check_range("invalid_penalty", invalid_penalty, where=where)
    check_1d(where, "env_rewards", env_rewards)
    check_1d(where, "invalid", invalid)
    check_same_length(
        where,
        env_rewards=env_rewards.numel(),
        invalid=invalid.numel(),
        traj_ids=len(traj_ids),
        group_ids=len(group_ids),
        anchors=len(anchors),
    )
    _check_traj_in_one_group(where, traj_ids, group_ids)
    with torch.no_grad():
        env_rewards = as_float(env_rewards)  # (N,)
        penalty = invalid_penalty * as_bool(where, "invalid", invalid).to(env_rewards.dtype)  # (N,) SPEC 1.1.5
        episode_scores = episode_returns(env_rewards, traj_ids) - penalty  # (N,) s = R_i - lambda*inv, SPEC 2.2
        norm_by_std = mode == "mean_std_norm"
        # GiGPO Eq. 3, SPEC 2.2: same form as GRPO (size-1 group: mu = 0, sigma = 1).
        episode_adv = grpo_advantages(episode_scores, group_ids, norm_by_std=norm_by_std, eps=eps)  # (N,)
        step_scores = discounted_returns(env_rewards, traj_ids, gamma) - penalty  # (N,) SPEC 2.1, undiscounted lambda
        step_keys: Sequence[Hashable] = (
            anchor_groups(anchors, group_ids)
            if similarity_threshold is None
            else similarity_groups(anchors, group_ids, similarity_threshold)
        )  # GiGPO Eq. 6, SPEC 2.3
        step_adv = step_group_advantages(step_scores, step_keys, mode=mode, eps=eps)  # (N,) GiGPO Eq. 7
        return episode_adv + omega * step_adv  # (N,) GiGPO Eq. 8, SPEC 2.5


def _check_traj_in_one_group(where: str, traj_ids: Sequence[Hashable], group_ids: Sequence[Hashable]) -> None:
    owner: dict[Hashable, Hashable] = {}
    for traj, uid in zip(traj_ids, group_ids, strict=True):
        if owner.setdefault(traj, uid) != uid:
            raise ValueError(
                f"{where}: expected every sample of a trajectory to share one uid; trajectory {traj!r} "
                f"has uids {owner[traj]!r} and {uid!r}. Fix: give each trajectory a unique traj_id."
            )


# --------------------------------------------------------------------------------------------------
# Registry: every estimator is (samples: AdvantageInputs, cfg) -> (N,) advantages (STYLE 3).
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdvantageInputs:
    """The per-step-sample data every advantage estimator receives (SPEC 0).

    Attributes:
        env_rewards: ``(N,)`` env reward of each step (no penalty).
        invalid: ``(N,)`` bool, the step's action was invalid.
        traj_ids: ``N`` trajectory keys (traj_uid); a trajectory's samples in time order.
        group_ids: ``N`` task-group keys (uid).
        anchors: ``N`` anchor observations (raw obs without history), used by GiGPO.
        won: ``(N,)`` bool, the sample's trajectory succeeded (used for SEAL ``success`` labels).
    """

    env_rewards: Tensor
    invalid: Tensor
    traj_ids: Sequence[Hashable]
    group_ids: Sequence[Hashable]
    anchors: Sequence[object]
    won: Tensor

    def __post_init__(self) -> None:
        where = "AdvantageInputs"
        for name in ("env_rewards", "invalid", "won"):
            check_1d(where, name, getattr(self, name))
        check_same_length(
            where,
            env_rewards=self.env_rewards.numel(),
            invalid=self.invalid.numel(),
            traj_ids=len(self.traj_ids),
            group_ids=len(self.group_ids),
            anchors=len(self.anchors),
            won=self.won.numel(),
        )
        as_bool(where, "invalid", self.invalid)
        as_bool(where, "won", self.won)

    @property
    def episode_rewards(self) -> Tensor:
        """``(N,)`` R_i = sum of the trajectory's env rewards, on each of its samples (SPEC 1.1.2)."""
        return episode_returns(self.env_rewards, self.traj_ids)

    def episode_scores(self, invalid_penalty: float) -> Tensor:
        """``(N,)`` s = R_i - lambda * invalid, the GRPO / GiGPO episode-level score (SPEC 1.1)."""
        rewards = self.episode_rewards  # (N,)
        return rewards - invalid_penalty * as_bool("AdvantageInputs", "invalid", self.invalid).to(rewards.dtype)


@dataclass(frozen=True)
class GRPOConfig:
    """Settings of the ``"grpo"`` estimator (SPEC 1.2)."""

    name: ClassVar[Literal["grpo"]] = "grpo"
    norm_by_std: bool = True
    """Divide by (sigma + eps) (``norm_adv_by_std_in_grpo``); False gives Dr.GRPO's A = s - mu."""
    eps: float = 1e-6
    """Added to sigma; must be > 0."""
    invalid_penalty: float = 0.1
    """lambda: subtracted from the score of each invalid step (SPEC 1.1.5); >= 0."""

    def __post_init__(self) -> None:
        check_range("eps", self.eps, where="GRPOConfig", low=0.0, low_open=True)
        check_range("invalid_penalty", self.invalid_penalty, where="GRPOConfig", low=0.0)


@dataclass(frozen=True)
class GiGPOConfig:
    """Settings of the ``"gigpo"`` estimator (SPEC 2)."""

    name: ClassVar[Literal["gigpo"]] = "gigpo"
    gamma: float = 0.95
    """Discount of the step returns, in [0, 1]."""
    omega: float = 1.0
    """Weight of the step-level advantage (``step_advantage_w``), >= 0."""
    mode: GiGPOMode = "mean_norm"
    """Normalisation at both levels: ``"mean_norm"`` or ``"mean_std_norm"``."""
    invalid_penalty: float = 0.1
    """lambda: subtracted undiscounted from the invalid step's scores; >= 0."""
    eps: float = 1e-6
    """Added to sigma; must be > 0."""
    similarity_threshold: float | None = None
    """If set (in (0, 1); 0.9 in the Search script), step groups use difflib similarity, not equality."""

    def __post_init__(self) -> None:
        where = "GiGPOConfig"
        check_range("gamma", self.gamma, where=where, low=0.0, high=1.0)
        check_range("omega", self.omega, where=where, low=0.0)
        check_option("mode", self.mode, GIGPO_MODES, where=where)
        check_range("invalid_penalty", self.invalid_penalty, where=where, low=0.0)
        check_range("eps", self.eps, where=where, low=0.0, low_open=True)
        if self.similarity_threshold is not None:
            check_range(
                "similarity_threshold",
                self.similarity_threshold,
                where=where,
                low=0.0,
                high=1.0,
                low_open=True,
                high_open=True,
            )


AdvantageConfig: TypeAlias = GRPOConfig | GiGPOConfig
AdvantageEstimator: TypeAlias = Callable[[AdvantageInputs, AdvantageConfig], Tensor]
ADVANTAGE_ESTIMATORS: Registry[AdvantageEstimator] = Registry("advantage estimator")


@ADVANTAGE_ESTIMATORS.register("grpo")
def grpo_estimator(samples: AdvantageInputs, cfg: AdvantageConfig) -> Tensor:
    """GRPO with s = R_i - lambda * invalid (SPEC 1.1, 1.2); returns ``(N,)`` advantages."""
    cfg = expect_config(cfg, GRPOConfig, kind="advantage estimator", name="grpo")
    scores = samples.episode_scores(cfg.invalid_penalty)  # (N,) SPEC 1.1
    return grpo_advantages(scores, samples.group_ids, norm_by_std=cfg.norm_by_std, eps=cfg.eps)  # (N,)


@ADVANTAGE_ESTIMATORS.register("gigpo")
def gigpo_estimator(samples: AdvantageInputs, cfg: AdvantageConfig) -> Tensor:
    """GiGPO (SPEC 2); returns ``(N,)`` advantages."""
    cfg = expect_config(cfg, GiGPOConfig, kind="advantage estimator", name="gigpo")
    return gigpo_advantages(
        samples.env_rewards,
        samples.invalid,
        samples.traj_ids,
        samples.group_ids,
        samples.anchors,
        gamma=cfg.gamma,
        omega=cfg.omega,
        mode=cfg.mode,
        invalid_penalty=cfg.invalid_penalty,
        eps=cfg.eps,
        similarity_threshold=cfg.similarity_threshold,
    )  # (N,)


def compute_advantages(samples: AdvantageInputs, cfg: AdvantageConfig) -> Tensor:
    """Runs the estimator named by ``cfg.name``, so callers never branch on the estimator."""
    return ADVANTAGE_ESTIMATORS.get(cfg.name)(samples, cfg)
