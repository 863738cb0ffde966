"""Learner smoke tests on the tiny model: parameters move, losses are finite, SEAL reaches the backbone."""

import copy
import math
from dataclasses import replace
from typing import Any

import pytest

from agentgym_seal.backends import GiGPOConfig, SEALConfig
from agentgym_seal.backends.batching import by_length, collate, even_split
from agentgym_seal.backends.learner import Learner, LearnerConfig, advantage_inputs
from agentgym_seal.errors import ConfigError
from agentgym_seal.rollout import RolloutBatch, StepSample, TrajectorySummary

torch = pytest.importorskip("torch")


def make_batch(tok: Any) -> RolloutBatch:
    """Two groups of two trajectories; in each group one wins; one format-invalid step."""
    prompt = tuple(tok("You arrive at countertop 1.", add_special_tokens=False)["input_ids"])
    win = tuple(
        tok("<think></think><action>take apple 1 from countertop 1</action>", add_special_tokens=False)["input_ids"]
    )
    lose = tuple(tok("<action>look</action>", add_special_tokens=False)["input_ids"])
    samples, trajs = [], []
    for traj in range(4):
        won = traj % 2 == 0
        for step in range(2):
            response = win if won else lose
            samples.append(
                StepSample(
                    prompt_ids=prompt, response_ids=response, old_logprobs=(0.0,) * len(response),
                    response_text="", env_reward=10.0 if (won and step == 1) else 0.0, format_valid=won,
                    action_valid=won, uid=traj // 2, traj_uid=traj, step=step, anchor=f"obs{step}",
                )
            )  # fmt: skip
        trajs.append(TrajectorySummary(traj // 2, traj, traj // 2, won, 10.0 if won else 0.0, 2, "t"))
    return RolloutBatch(tuple(samples), tuple(trajs))


def fresh(tiny_policy: Any) -> tuple[Any, Any]:
    model, tok = tiny_policy
    return copy.deepcopy(model), tok


def test_update_moves_parameters_and_reports_finite_metrics(tiny_policy: Any) -> None:
    model, tok = fresh(tiny_policy)
    before = [p.detach().clone() for p in model.parameters()]
    learner = Learner(
        model, tok.pad_token_id, cfg=LearnerConfig(lr=1e-3, micro_batch_size=3), seal=SEALConfig(alpha=0.02)
    )
    metrics = learner.update(make_batch(tok))
    for key in ("actor/pg_loss", "actor/entropy", "actor/kl", "actor/seal_loss", "actor/grad_norm"):
        assert math.isfinite(metrics[key]), key
    assert metrics["actor/seal_loss"] > 0 and metrics["actor/entropy"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_seal_gradient_reaches_the_backbone(tiny_policy: Any) -> None:
    model, tok = fresh(tiny_policy)
    learner = Learner(model, tok.pad_token_id, seal=SEALConfig(alpha=1.0))
    batch = make_batch(tok)
    tb = collate(batch.samples, tok.pad_token_id)
    out = model(input_ids=tb.input_ids, attention_mask=tb.attention_mask, output_hidden_states=True)
    from agentgym_seal.backends import seal_loss

    assert learner.head is not None
    loss = seal_loss(
        learner.head(out.hidden_states[-1]), torch.ones_like(tb.token_mask, dtype=torch.float32), tb.token_mask
    )
    loss.backward()
    layer = model.model.layers[0].mlp.down_proj.weight
    assert layer.grad is not None and float(layer.grad.abs().sum()) > 0


def test_alpha_zero_is_exactly_plain_grpo(tiny_policy: Any) -> None:
    model_a, tok = fresh(tiny_policy)
    model_b = copy.deepcopy(model_a)
    cfg = LearnerConfig(lr=1e-3)
    Learner(model_a, tok.pad_token_id, cfg=cfg, seal=SEALConfig(alpha=0.0)).update(make_batch(tok))
    Learner(model_b, tok.pad_token_id, cfg=cfg).update(make_batch(tok))
    assert all(torch.equal(a, b) for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True))


def test_micro_batching_matches_one_big_batch(tiny_policy: Any) -> None:
    model_a, tok = fresh(tiny_policy)
    model_b = copy.deepcopy(model_a)
    Learner(model_a, tok.pad_token_id, cfg=LearnerConfig(lr=1e-3, micro_batch_size=8, entropy_coeff=0)).update(
        make_batch(tok)
    )
    Learner(model_b, tok.pad_token_id, cfg=LearnerConfig(lr=1e-3, micro_batch_size=3, entropy_coeff=0)).update(
        make_batch(tok)
    )
    for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 5, 12, 256, 257, 268, 511, 512, 513])
@pytest.mark.parametrize("max_size", [1, 5, 256])
def test_even_split_uses_the_fewest_near_equal_mini_batches(n: int, max_size: int) -> None:
    items = list(range(100, 100 + n))
    chunks = even_split(items, max_size)
    assert [i for chunk in chunks for i in chunk] == items  # every sample once, in order
    assert len(chunks) * max_size >= n > (len(chunks) - 1) * max_size or n == len(chunks) == 0  # fewest steps
    sizes = [len(c) for c in chunks]
    assert all(1 <= size <= max_size for size in sizes) and (not sizes or max(sizes) - min(sizes) <= 1)


def test_update_splits_the_samples_into_equal_mini_batches(tiny_policy: Any) -> None:
    model, tok = fresh(tiny_policy)
    learner = Learner(model, tok.pad_token_id, cfg=LearnerConfig(lr=1e-3, mini_batch_size=5, micro_batch_size=8))
    micro_sizes: list[int] = []
    step_micro = learner._micro_step

    def spy(samples: Any, idx: list[int], *args: Any) -> dict[str, float]:
        micro_sizes.append(len(idx))
        return step_micro(samples, idx, *args)

    learner._micro_step = spy  # type: ignore[method-assign]
    learner.update(make_batch(tok))  # 8 samples: two steps of 4, not 5 + 3
    assert micro_sizes == [4, 4]


def test_gigpo_and_grpo_advantages_from_a_rollout_batch(tiny_policy: Any) -> None:
    _, tok = tiny_policy
    batch = make_batch(tok)
    inputs = advantage_inputs(batch)
    assert inputs.invalid.tolist() == [False, False, True, True] * 2
    grpo = Learner(copy.deepcopy(tiny_policy[0]), tok.pad_token_id).advantages(batch)
    gigpo = Learner(copy.deepcopy(tiny_policy[0]), tok.pad_token_id, advantage=GiGPOConfig()).advantages(batch)
    assert grpo.shape == gigpo.shape == (8,)
    assert (grpo[[0, 1, 4, 5]] > 0).all() and (grpo[[2, 3, 6, 7]] < 0).all()


def test_nan_loss_step_is_skipped_and_counted(tiny_policy: Any) -> None:
    model, tok = fresh(tiny_policy)
    learner = Learner(model, tok.pad_token_id, cfg=LearnerConfig(lr=1e-3, entropy_coeff=0))
    before = [p.detach().clone() for p in model.parameters()]
    adv = torch.full((8,), float("nan"))
    metrics = learner.update(make_batch(tok), adv)
    assert metrics["actor/skipped_steps"] == 1 and learner.skipped_steps == 1
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_kl_needs_a_reference_model(tiny_policy: Any) -> None:
    model, tok = tiny_policy
    with pytest.raises(ConfigError, match="needs a reference policy"):
        Learner(model, tok.pad_token_id, cfg=LearnerConfig(kl_coef=0.1))


def test_dropping_zero_advantage_samples_changes_nothing_but_the_cost(tiny_policy: Any) -> None:
    model_a, tok = fresh(tiny_policy)
    model_b = copy.deepcopy(model_a)
    batch = make_batch(tok)
    adv = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0])  # a won and a lost trajectory
    cfg = {"lr": 1e-3, "entropy_coeff": 0.0, "micro_batch_size": 8}
    full = Learner(model_a, tok.pad_token_id, cfg=LearnerConfig(**cfg)).update(batch, adv)
    dropped = Learner(model_b, tok.pad_token_id, cfg=LearnerConfig(**cfg, drop_zero_advantage=True)).update(batch, adv)
    assert full["actor/trained_samples"] == 8 and dropped["actor/trained_samples"] == 4
    # the same tokens' entropy; the two paths chunk different logits tensors, so float32 sums may differ in the
    # last bits (8.6e-8 relative), never by a token
    assert full["actor/entropy"] == pytest.approx(dropped["actor/entropy"], rel=1e-6)
    # token-mean over fewer tokens rescales the gradient; Adam's first step is scale-free, so every weight
    # with a real gradient moves the same way (weights whose gradient is below Adam's eps are noise)
    moved = 0
    for a, b, p0 in zip(model_a.parameters(), model_b.parameters(), tiny_policy[0].parameters(), strict=True):
        da, db = (a - p0).flatten(), (b - p0).flatten()
        big = da.abs() > 5e-4
        moved += int(big.sum())
        assert torch.allclose(da[big], db[big], rtol=0.05)
    assert moved > 1000


def test_a_batch_with_nothing_to_train_still_logs_every_key(tiny_policy: Any) -> None:
    model, tok = fresh(tiny_policy)
    learner = Learner(model, tok.pad_token_id, cfg=LearnerConfig(drop_zero_advantage=True))
    metrics = learner.update(make_batch(tok), torch.zeros(8))
    assert metrics["actor/trained_samples"] == 0
    for key in ("actor/pg_loss", "actor/kl", "actor/seal_loss", "actor/grad_norm", "actor/entropy"):
        assert key in metrics
    assert Learner(model, tok.pad_token_id).update(RolloutBatch((), ()))["actor/pg_loss"] == 0.0


def test_response_only_forward_equals_the_full_forward(tiny_policy: Any) -> None:
    """The update's forward computes logits only at response positions; it must equal the full one there."""
    model, tok = fresh(tiny_policy)
    learner = Learner(model, tok.pad_token_id, cfg=LearnerConfig(temperature=0.7))
    tb = collate(make_batch(tok).samples[:5], tok.pad_token_id)
    full_logp, full_logits, full_states = learner._forward(model, tb, hidden=True)
    token_logp, logits, states = learner._response_forward(tb)
    mask = tb.response_mask
    assert logits.shape == (int(mask.sum()), full_logits.shape[-1])
    torch.testing.assert_close(logits, full_logits[mask])
    torch.testing.assert_close(token_logp[mask], full_logp[mask])
    assert torch.all(token_logp[~mask] == 0)
    torch.testing.assert_close(states, full_states)


def test_penalising_inadmissible_actions_marks_them_invalid(tiny_policy: Any) -> None:
    _, tok = tiny_policy
    batch = make_batch(tok)
    samples = list(batch.samples)
    samples[0] = replace(samples[0], format_valid=True, action_valid=False)  # well-formed, not executable
    batch = RolloutBatch(tuple(samples), batch.trajectories)
    format_only = advantage_inputs(batch).invalid
    both = advantage_inputs(batch, penalise_inadmissible=True).invalid
    assert not format_only[0] and both[0]
    assert torch.equal(format_only[1:], both[1:])  # format-invalid steps stay invalid either way


def test_loading_a_state_keeps_this_learners_learning_rate(tiny_policy: Any) -> None:
    model, tok = fresh(tiny_policy)
    saved = Learner(model, tok.pad_token_id, cfg=LearnerConfig(lr=5e-4))
    saved.update(make_batch(tok))
    resumed = Learner(model, tok.pad_token_id, cfg=LearnerConfig(lr=3e-5))
    resumed.load_state_dict(saved.state_dict())
    assert {g["lr"] for g in resumed.optimizer.param_groups} == {3e-5}
    first, restored = saved.optimizer.state_dict()["state"][0], resumed.optimizer.state_dict()["state"][0]
    assert torch.equal(first["exp_avg_sq"], restored["exp_avg_sq"]) and float(restored["step"]) == 1.0


class _SilentObserver:
    """Reads nothing; its presence makes the learner run the separate pre-update pass."""

    wants_hidden = False

    def on_old_policy(self, chunk: Any) -> None:
        pass

    def before_update(self, model: Any, forward: Any) -> None:
        pass

    def after_update(self, model: Any, forward: Any) -> None:
        pass


def test_single_pass_update_equals_the_two_pass_update(tiny_policy: Any) -> None:
    """One epoch over one mini-batch: using the update's own forward as the old policy changes nothing."""
    results = []
    for observer in (None, _SilentObserver()):
        model, tok = fresh(tiny_policy)
        learner = Learner(model, tok.pad_token_id, cfg=LearnerConfig(lr=1e-3, micro_batch_size=3))
        learner.observer = observer
        metrics = learner.update(make_batch(tok))
        results.append((metrics, [p.detach().clone() for p in model.parameters()]))
    (single, params_single), (two, params_two) = results
    for a, b in zip(params_single, params_two, strict=True):
        torch.testing.assert_close(a, b)
    for key in ("actor/pg_loss", "actor/entropy", "actor/grad_norm"):
        assert single[key] == pytest.approx(two[key], rel=1e-5), key


def test_negative_advantage_scale_zero_trains_only_on_the_better_samples(tiny_policy: Any) -> None:
    model_a, tok = fresh(tiny_policy)
    model_b = copy.deepcopy(model_a)
    batch = make_batch(tok)
    adv = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0])
    cfg = {"lr": 1e-3, "entropy_coeff": 0.0, "micro_batch_size": 8, "drop_zero_advantage": True}
    scaled = Learner(model_a, tok.pad_token_id, cfg=LearnerConfig(**cfg, negative_advantage_scale=0.0))
    assert scaled.update(batch, adv)["actor/trained_samples"] == 2  # the losers' samples carry no gradient
    winners_only = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    Learner(model_b, tok.pad_token_id, cfg=LearnerConfig(**cfg)).update(batch, winners_only)
    for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ConfigError, match="negative_advantage_scale"):
        LearnerConfig(negative_advantage_scale=1.5)


def test_no_credit_for_inadmissible_clips_only_their_positive_advantages(tiny_policy: Any) -> None:
    model_a, tok = fresh(tiny_policy)
    model_b = copy.deepcopy(model_a)
    batch = make_batch(tok)
    samples = list(batch.samples)
    samples[1] = replace(samples[1], action_valid=False)  # a winner's wasted turn ("Nothing happens.")
    batch = RolloutBatch(tuple(samples), batch.trajectories)
    adv = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0])  # samples 6, 7 are format-invalid losers
    cfg = {"lr": 1e-3, "entropy_coeff": 0.0, "micro_batch_size": 8, "drop_zero_advantage": True}
    clipped = Learner(model_a, tok.pad_token_id, cfg=LearnerConfig(**cfg, credit_inadmissible=False))
    assert clipped.update(batch, adv)["actor/trained_samples"] == 3  # sample 1 lost its credit, the losers kept theirs
    expected = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0])
    Learner(model_b, tok.pad_token_id, cfg=LearnerConfig(**cfg)).update(batch, expected)
    for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(a, b)


def test_micro_batches_group_samples_of_similar_length() -> None:
    def sample(prompt: int, response: int) -> StepSample:
        return StepSample(
            prompt_ids=(1,) * prompt, response_ids=(2,) * response, old_logprobs=(0.0,) * response, response_text="",
            env_reward=0.0, format_valid=True, action_valid=True, uid=0, traj_uid=0, step=0, anchor="",
        )  # fmt: skip

    samples = [sample(9, 1), sample(2, 2), sample(30, 5), sample(3, 1), sample(1, 3)]  # lengths 10, 4, 35, 4, 4
    assert by_length(samples, [0, 1, 2, 3, 4]) == [1, 3, 4, 0, 2]  # ties keep their (shuffled) order
    assert by_length(samples, [4, 2, 3]) == [4, 3, 2]
