"""GRPO / GiGPO estimators against slow loop references (SPEC 1.2, 2) and hand-computed golden values."""

from __future__ import annotations

import random
import re
import statistics
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

import numpy as np
import pytest
import torch

from agentgym_seal.backends import (
    ADVANTAGE_ESTIMATORS,
    AdvantageInputs,
    GiGPOConfig,
    GRPOConfig,
    compute_advantages,
    gigpo_advantages,
    group_stats,
    grpo_advantages,
)
from agentgym_seal.backends.advantages import discounted_returns, episode_returns
from agentgym_seal.backends.step_groups import anchor_key, similarity_groups
from agentgym_seal.errors import ConfigError, UnknownNameError

SEEDS = range(60)


# ------------------------------------------------------------------ random batches + loop references


@dataclass(frozen=True)
class Row:
    uid: str
    traj: str
    reward: float
    invalid: bool
    anchor: str
    won: bool


def random_rows(seed: int) -> list[Row]:
    """Random uids (size 1 included), trajectories of random length, revisited anchors, interleaved rows."""
    rng = random.Random(seed)
    trajectories: list[list[Row]] = []
    for g in range(rng.randint(1, 4)):
        uid = f"u{g}"
        anchors = ["Your task is to: x", "Nothing happens.", f"room {g}", "a", "b"]  # shared text across uids
        for j in range(rng.choice([1, 1, 2, 3, 4, 8])):
            length = rng.choice([1, 1, 2, 3, 5, 7])
            won = rng.random() < 0.4
            steps = []
            for t in range(length):
                reward = 10.0 if (won and t == length - 1) else rng.choice([0.0, 0.0, 0.0, 1.0, 2.5])
                anchor = anchors[0] if t == 0 else rng.choice(anchors)
                steps.append(Row(uid, f"{uid}/t{j}", reward, rng.random() < 0.25, anchor, won))
            trajectories.append(steps)
    rows: list[Row] = []  # interleave, keeping the time order inside each trajectory
    while trajectories:
        k = rng.randrange(len(trajectories))
        rows.append(trajectories[k].pop(0))
        if not trajectories[k]:
            trajectories.pop(k)
    return rows


def ref_group_norm(
    values: list[float], keys: list[Hashable], *, std: bool, eps: float, size1_mean_zero: bool
) -> list[float]:
    """Exact (Fraction-based ``statistics``) group normalisation, one sample at a time."""
    members: dict[Hashable, list[float]] = defaultdict(list)
    for v, k in zip(values, keys, strict=True):
        members[k].append(v)
    out: list[float] = []
    for v, k in zip(values, keys, strict=True):
        group = members[k]
        if len(group) == 1:
            mu, sigma = (0.0, 1.0) if size1_mean_zero else (v, 1.0)
        else:
            mu, sigma = statistics.mean(group), statistics.stdev(group)
        out.append((v - mu) / (sigma + eps) if std else v - mu)
    return out


def ref_grpo(scores: list[float], uids: list[Hashable], norm_by_std: bool, eps: float = 1e-6) -> list[float]:
    return ref_group_norm(scores, uids, std=norm_by_std, eps=eps, size1_mean_zero=True)


def ref_gigpo(
    rows: list[Row],
    *,
    gamma: float,
    omega: float,
    mode: str,
    penalty: float,
    eps: float = 1e-6,
    threshold: float | None = None,
) -> list[float]:
    n = len(rows)
    by_traj: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_traj[r.traj].append(i)
    step_return = [0.0] * n
    episode_reward: dict[str, float] = {}
    for traj, idxs in by_traj.items():
        episode_reward[traj] = sum(rows[i].reward for i in idxs)
        running = 0.0
        for i in reversed(idxs):
            running = rows[i].reward + gamma * running
            step_return[i] = running
    pen = [penalty * r.invalid for r in rows]
    episode_scores = [episode_reward[r.traj] - p for r, p in zip(rows, pen, strict=True)]
    step_scores = [step_return[i] - pen[i] for i in range(n)]
    use_std = mode == "mean_std_norm"
    episode_adv = ref_group_norm(episode_scores, [r.uid for r in rows], std=use_std, eps=eps, size1_mean_zero=True)
    if threshold is None:
        keys: list[Hashable] = [(r.uid, r.anchor) for r in rows]
    else:
        keys = ref_similarity(rows, threshold)
    step_adv = ref_group_norm(step_scores, keys, std=use_std, eps=eps, size1_mean_zero=False)
    return [e + omega * s for e, s in zip(episode_adv, step_adv, strict=True)]


def ref_similarity(rows: list[Row], threshold: float) -> list[Hashable]:
    reps: list[tuple[str, str]] = []  # (uid, representative), cluster id = position
    keys: list[Hashable] = []
    for r in rows:
        for cid, (uid, rep) in enumerate(reps):
            if uid == r.uid and SequenceMatcher(None, r.anchor, rep).ratio() >= threshold:
                keys.append(cid)
                break
        else:
            reps.append((r.uid, r.anchor))
            keys.append(len(reps) - 1)
    return keys


def tensors(rows: list[Row], dtype: torch.dtype = torch.float64) -> AdvantageInputs:
    return AdvantageInputs(
        env_rewards=torch.tensor([r.reward for r in rows], dtype=dtype),
        invalid=torch.tensor([r.invalid for r in rows]),
        traj_ids=[r.traj for r in rows],
        group_ids=[r.uid for r in rows],
        anchors=[r.anchor for r in rows],
        won=torch.tensor([r.won for r in rows]),
    )


def close(got: torch.Tensor, want: list[float], dtype: torch.dtype = torch.float64) -> bool:
    rtol, atol = (1e-9, 1e-9) if dtype == torch.float64 else (1e-5, 1e-4)
    return got.dtype == dtype and torch.allclose(got, torch.tensor(want, dtype=dtype), rtol=rtol, atol=atol)


# ------------------------------------------------------------------ loop-reference equality


def test_random_batches_cover_the_edge_cases() -> None:
    size1 = all_equal = revisits = interleaved = 0
    for seed in SEEDS:
        rows = random_rows(seed)
        scores = tensors(rows).episode_scores(0.1).tolist()
        per_uid: dict[str, list[float]] = defaultdict(list)
        for r, s in zip(rows, scores, strict=True):
            per_uid[r.uid].append(s)
        size1 += sum(len(v) == 1 for v in per_uid.values())
        all_equal += sum(len(v) > 1 and len(set(v)) == 1 for v in per_uid.values())
        revisits += len(rows) - len({(r.traj, r.anchor) for r in rows})
        positions: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            positions[r.traj].append(i)
        interleaved += any(idx[-1] - idx[0] + 1 != len(idx) for idx in positions.values())
    assert size1 >= 10 and all_equal >= 10 and revisits >= 50 and interleaved >= 10, (size1, all_equal, revisits)


@pytest.mark.parametrize("norm_by_std", [True, False])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_grpo_matches_loop_reference(norm_by_std: bool, dtype: torch.dtype) -> None:
    for seed in SEEDS:
        rows = random_rows(seed)
        batch = tensors(rows, dtype)
        scores = batch.episode_scores(0.1)
        want = ref_grpo(scores.tolist(), list(batch.group_ids), norm_by_std)
        got = grpo_advantages(scores, batch.group_ids, norm_by_std=norm_by_std)
        assert close(got, want, dtype), seed


@pytest.mark.parametrize("mode", ["mean_norm", "mean_std_norm"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gigpo_matches_loop_reference(mode: str, dtype: torch.dtype) -> None:
    for seed in SEEDS:
        rows = random_rows(seed)
        gamma, omega, penalty = random.Random(seed).choice([(0.95, 1.0, 0.1), (1.0, 0.5, 0.0), (0.5, 2.0, 1.0)])
        want = ref_gigpo(rows, gamma=gamma, omega=omega, mode=mode, penalty=penalty)
        b = tensors(rows, dtype)
        got = gigpo_advantages(
            b.env_rewards,
            b.invalid,
            b.traj_ids,
            b.group_ids,
            b.anchors,
            gamma=gamma,
            omega=omega,
            mode=mode,
            invalid_penalty=penalty,
        )  # type: ignore[arg-type]
        assert close(got, want, dtype), seed


@pytest.mark.parametrize("threshold", [0.5, 0.8])
def test_gigpo_similarity_grouping_matches_loop_reference(threshold: float) -> None:
    for seed in SEEDS:
        rows = random_rows(seed)
        want = ref_gigpo(rows, gamma=0.95, omega=1.0, mode="mean_norm", penalty=0.1, threshold=threshold)
        b = tensors(rows)
        got = gigpo_advantages(
            b.env_rewards, b.invalid, b.traj_ids, b.group_ids, b.anchors, similarity_threshold=threshold
        )
        assert close(got, want), seed


def test_registry_entries_equal_the_pinned_functions() -> None:
    for seed in range(10):
        batch = tensors(random_rows(seed))
        grpo = compute_advantages(batch, GRPOConfig(invalid_penalty=0.3))
        assert torch.equal(grpo, grpo_advantages(batch.episode_scores(0.3), batch.group_ids))
        cfg = GiGPOConfig(gamma=0.9, mode="mean_std_norm")
        gigpo = ADVANTAGE_ESTIMATORS.get("gigpo")(batch, cfg)
        pinned = gigpo_advantages(
            batch.env_rewards,
            batch.invalid,
            batch.traj_ids,
            batch.group_ids,
            batch.anchors,
            gamma=0.9,
            mode="mean_std_norm",
        )
        assert torch.equal(gigpo, pinned)
    assert ADVANTAGE_ESTIMATORS.names() == ["gigpo", "grpo"]


# ------------------------------------------------------------------ golden values


def test_grpo_golden_tiny_groups() -> None:
    # group a: [1, 3, 5]: mu = 3, unbiased sigma = sqrt((4 + 0 + 4) / 2) = 2 -> A = [-2, 0, 2] / (2 + 1e-6)
    # group b: [7] (size 1): mu = 0, sigma = 1 -> A = 7 / (1 + 1e-6)
    # group c: [4, 4] (all equal): A = 0 / (0 + 1e-6) = 0
    scores = torch.tensor([1.0, 7.0, 3.0, 4.0, 5.0, 4.0], dtype=torch.float64)
    got = grpo_advantages(scores, ["a", "b", "a", "c", "a", "c"])
    want = torch.tensor([-2 / (2 + 1e-6), 7 / (1 + 1e-6), 0.0, 0.0, 2 / (2 + 1e-6), 0.0], dtype=torch.float64)
    assert torch.allclose(got, want, rtol=0, atol=1e-12)
    # without std: a -> [-2, 0, 2], b -> 7 - 0 = 7, c -> 0
    got = grpo_advantages(scores, ["a", "b", "a", "c", "a", "c"], norm_by_std=False)
    assert got.tolist() == [-2.0, 7.0, 0.0, 0.0, 2.0, 0.0]


def test_grpo_all_equal_group_is_exactly_zero_even_with_rounding() -> None:
    # 0.1 is not representable: a naive float32 mean of [0.1] * 7 leaves a residue that /(sigma + eps) inflates.
    for dtype in (torch.float32, torch.float64):
        got = grpo_advantages(torch.full((7,), 0.1, dtype=dtype), ["u"] * 7)
        assert torch.equal(got, torch.zeros(7, dtype=dtype))


def test_gigpo_golden_mean_norm_revisited_anchor_and_invalid_step() -> None:
    # One uid, gamma = 0.5, lambda = 0.1, batch order [B0, A0, B1, A1, B2].
    # traj A: anchors s0, s1; rewards 0, 10 -> R_A = 10.   traj B: anchors s0, s0 (revisit), s2; rewards 0;
    # B1 invalid -> R_B = 0.
    # episode scores: A: 10, 10; B: 0, -0.1, 0 -> mu = 19.9 / 5 = 3.98 -> A^E: A 6.02; B -3.98, -4.08, -3.98
    # step returns: A0 = 0 + 0.5 * 10 = 5, A1 = 10; B = 0, then B1 -= 0.1.
    # step group s0 = {A0: 5, B0: 0, B1: -0.1}: mu = 4.9 / 3 -> A^S: 5 - 1.6333, -1.6333, -1.7333;
    # s1 = {A1}, s2 = {B2}: size 1 -> A^S = 0.
    got = gigpo_advantages(
        torch.tensor([0.0, 0.0, 0.0, 10.0, 0.0], dtype=torch.float64),
        torch.tensor([False, False, True, False, False]),
        ["B", "A", "B", "A", "B"],
        ["u"] * 5,
        ["s0", "s0", "s0", "s1", "s2"],
        gamma=0.5,
    )
    mu_s0 = 4.9 / 3
    want = [-3.98 - mu_s0, 6.02 + 5 - mu_s0, -4.08 - 0.1 - mu_s0, 6.02, -3.98]
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), rtol=0, atol=1e-12)


def test_gigpo_golden_mean_std_norm() -> None:
    # uid u: two one-step trajectories, rewards 10 and 0, same anchor.
    # episode: mu = 5, sigma = sqrt(25 + 25) = 7.0711 -> +-5 / (7.0711 + 1e-6); the step group is the same pair.
    # uid v: one trajectory of one step, reward 10: A^E = 10 / (1 + 1e-6) (size 1), A^S = 0 (size 1).
    got = gigpo_advantages(
        torch.tensor([10.0, 0.0, 10.0], dtype=torch.float64),
        torch.tensor([False, False, False]),
        ["t1", "t2", "t3"],
        ["u", "u", "v"],
        ["s", "s", "s"],
        mode="mean_std_norm",
        omega=1.0,
    )
    half = 5 / (50**0.5 + 1e-6)
    want = torch.tensor([2 * half, -2 * half, 10 / (1 + 1e-6)], dtype=torch.float64)
    assert torch.allclose(got, want, rtol=0, atol=1e-12)


def test_gigpo_size1_and_all_equal_step_groups_give_zero_step_advantage() -> None:
    rewards = torch.tensor([3.0, 3.0, 1.0])
    invalid = torch.zeros(3, dtype=torch.bool)
    omega0 = gigpo_advantages(rewards, invalid, ["a", "b", "c"], ["u"] * 3, ["x", "x", "y"], omega=0.0)
    omega5 = gigpo_advantages(rewards, invalid, ["a", "b", "c"], ["u"] * 3, ["x", "x", "y"], omega=5.0)
    assert torch.equal(omega0, omega5)  # x: all-equal pair -> 0; y: size 1 -> 0


def test_anchor_clusters_never_cross_uids() -> None:
    # same anchor in two uids: each uid's step group has size 1, so A^S = 0 and A = A^E only
    got = gigpo_advantages(torch.tensor([10.0, 0.0]), torch.tensor([False, False]), ["a", "b"], ["u", "v"], ["s", "s"])
    assert got.tolist() == [10.0, 0.0]


# ------------------------------------------------------------------ building blocks


def test_group_stats_mean_unbiased_std_and_size() -> None:
    mean, std, size = group_stats(torch.tensor([1.0, 2.0, 10.0, 3.0]), ["g", "g", "h", "g"])
    assert torch.allclose(mean, torch.tensor([2.0, 2.0, 10.0, 2.0]))
    assert torch.allclose(std, torch.tensor([1.0, 1.0, 0.0, 1.0]))  # Bessel: sqrt(2 / 2); size 1 -> 0
    assert size.tolist() == [3, 3, 1, 3] and size.dtype == torch.long


def test_group_stats_empty_batch() -> None:
    mean, std, size = group_stats(torch.zeros(0), [])
    assert mean.shape == std.shape == size.shape == (0,)
    assert grpo_advantages(torch.zeros(0), []).shape == (0,)


def test_discounted_and_episode_returns_with_interleaving() -> None:
    rewards = torch.tensor([1.0, 5.0, 2.0, 4.0])  # a: 1, 2, 4 ; b: 5
    traj = ["a", "b", "a", "a"]
    assert discounted_returns(rewards, traj, 0.5).tolist() == [1 + 0.5 * (2 + 0.5 * 4), 5.0, 2 + 0.5 * 4, 4.0]
    assert episode_returns(rewards, traj).tolist() == [7.0, 5.0, 7.0, 7.0]


def test_anchor_key_hashable_forms() -> None:
    assert anchor_key(np.array([[1, 2], [3, 4]])) == (1, 2, 3, 4)
    assert anchor_key([1, [2, 3]]) == (1, (2, 3))
    assert anchor_key({"b": [1], "a": 2}) == (("a", 2), ("b", (1,)))
    assert anchor_key(np.int64(3)) == 3
    b = tensors(random_rows(0))
    arrays = [np.array([len(a)]) for a in b.anchors]  # array anchors group like their lengths
    got = gigpo_advantages(b.env_rewards, b.invalid, b.traj_ids, b.group_ids, arrays)
    want = gigpo_advantages(b.env_rewards, b.invalid, b.traj_ids, b.group_ids, [len(a) for a in b.anchors])
    assert torch.equal(got, want)


def test_similarity_groups_greedy_first_representative() -> None:
    anchors = ["abcdefghij", "abcdefghiX", "zzzzzzzzzz", "abcdefghXX", "abcdefghij"]
    # ratio(abcdefghiX, abcdefghij) = 0.9 -> joins 0; abcdefghXX vs rep 0 = 0.8 < 0.85 -> new cluster
    assert similarity_groups(anchors, ["u"] * 5, 0.85) == [0, 0, 1, 2, 0]
    assert similarity_groups(anchors, ["u", "v", "u", "v", "u"], 0.85) == [0, 1, 2, 1, 0]


# ------------------------------------------------------------------ errors


def test_bad_mode_is_a_config_error_with_a_suggestion() -> None:
    msg = "option 'mode' of gigpo_advantages: expected one of ['mean_norm', 'mean_std_norm']; got 'mean_nrom'."
    with pytest.raises(ConfigError, match=re.escape(msg)) as info:
        gigpo_advantages(torch.zeros(1), torch.zeros(1, dtype=torch.bool), ["t"], ["u"], ["s"], mode="mean_nrom")  # type: ignore[arg-type]
    assert "Did you mean 'mean_norm'?" in str(info.value)
    with pytest.raises(ConfigError, match=re.escape("option 'mode' of GiGPOConfig")):
        GiGPOConfig(mode="std")  # type: ignore[arg-type]


def test_length_mismatch_is_a_clear_value_error() -> None:
    msg = "gigpo_advantages: expected one entry per step sample in every input; got len(env_rewards)=2, len(invalid)=2"
    with pytest.raises(ValueError, match=re.escape(msg)):
        gigpo_advantages(torch.zeros(2), torch.zeros(2, dtype=torch.bool), ["t", "t"], ["u"], ["s", "s"])
    with pytest.raises(ValueError, match=re.escape("len(values)=3, len(group_ids)=2")):
        grpo_advantages(torch.zeros(3), ["u", "u"])


def test_trajectory_spanning_two_uids_is_rejected() -> None:
    with pytest.raises(ValueError, match=re.escape("trajectory 't' has uids 'u' and 'v'")):
        gigpo_advantages(torch.zeros(2), torch.zeros(2, dtype=torch.bool), ["t", "t"], ["u", "v"], ["s", "s"])


def test_config_validation_messages() -> None:
    with pytest.raises(
        ConfigError, match=re.escape("option 'gamma' of GiGPOConfig: expected a finite number in [0, 1]")
    ):
        GiGPOConfig(gamma=1.5)
    with pytest.raises(
        ConfigError, match=re.escape("option 'eps' of GRPOConfig: expected a finite number in (0, inf)")
    ):
        GRPOConfig(eps=0.0)
    with pytest.raises(ConfigError, match=re.escape("similarity_threshold")):
        GiGPOConfig(similarity_threshold=1.0)


def test_estimator_given_the_wrong_config_says_which_it_expects() -> None:
    batch = tensors(random_rows(1))
    with pytest.raises(
        ConfigError, match=re.escape("advantage estimator 'gigpo': expected a GiGPOConfig; got GRPOConfig")
    ):
        ADVANTAGE_ESTIMATORS.get("gigpo")(batch, GRPOConfig())
    with pytest.raises(UnknownNameError, match=re.escape("Did you mean 'gigpo'?")):
        ADVANTAGE_ESTIMATORS.get("gipgo")


def test_inputs_validate_lengths_and_dtypes() -> None:
    batch = tensors(random_rows(2))
    with pytest.raises(ValueError, match=re.escape("AdvantageInputs: expected one entry per step sample")):
        replace(batch, anchors=list(batch.anchors)[1:])
    with pytest.raises(ValueError, match=re.escape("expected invalid to be a bool tensor (or 0/1 values)")):
        replace(batch, invalid=torch.full((len(batch.anchors),), 0.5))


def test_similarity_needs_text_anchors() -> None:
    with pytest.raises(TypeError, match=re.escape("similarity_groups: expected str anchors; got int")):
        similarity_groups([1, 2], ["u", "u"], 0.9)


def test_tensor_and_array_ids_group_by_value() -> None:
    # elements of a tensor hash by identity: they must be converted, or every sample becomes its own group
    b = tensors(random_rows(4))
    uid_index = {u: i for i, u in enumerate(dict.fromkeys(b.group_ids))}
    traj_index = {t: i for i, t in enumerate(dict.fromkeys(b.traj_ids))}
    uids = torch.tensor([uid_index[u] for u in b.group_ids])
    trajs = np.array([traj_index[t] for t in b.traj_ids])
    scores = b.episode_scores(0.1)
    assert torch.equal(grpo_advantages(scores, uids), grpo_advantages(scores, b.group_ids))
    got = gigpo_advantages(b.env_rewards, b.invalid, trajs, uids, b.anchors, similarity_threshold=0.9)  # type: ignore[arg-type]
    assert torch.equal(
        got, gigpo_advantages(b.env_rewards, b.invalid, b.traj_ids, b.group_ids, b.anchors, similarity_threshold=0.9)
    )
