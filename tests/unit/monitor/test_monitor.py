"""The Monitor composed with the real learner on the tiny model: keys, wiring against autograd, bad input."""

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from agentgym_seal.errors import ConfigError
from agentgym_seal.rollout import RolloutBatch, StepSample, TrajectorySummary

torch = pytest.importorskip("torch")
from agentgym_seal.backends.learner import Learner, LearnerConfig  # noqa: E402
from agentgym_seal.monitor import (  # noqa: E402
    GRAD_KEYS,
    POST_KEYS,
    ForwardChunk,
    Monitor,
    MonitorConfig,
    PhaseDetector,
    reference_interference,
)

FAMILIES = ("entropy/", "phase/", "logprob/", "text/", "halluc/", "repr/", "grad/")


def make_batch(
    won: list[list[bool]], steps: int = 2, seed: int = 0, vocab: int = 100, halluc_every: int = 0
) -> RolloutBatch:
    """``won[g][i]``: does trajectory i of task group g win. Random prompt/response tokens, 3-6 per response."""
    gen = torch.Generator().manual_seed(seed)
    samples, trajs = [], []
    traj = 0
    for uid, group in enumerate(won):
        for flag in group:
            for step in range(steps):
                prompt_length = int(torch.randint(4, 9, (), generator=gen))
                prompt = tuple(torch.randint(4, vocab, (prompt_length,), generator=gen).tolist())
                length = int(torch.randint(3, 7, (), generator=gen))
                response = tuple(torch.randint(4, vocab, (length,), generator=gen).tolist())
                text = "I will look around the room carefully. " * (2 if flag else 1) + "<action>look</action>"
                samples.append(
                    StepSample(
                        prompt_ids=prompt, response_ids=response, old_logprobs=(0.0,) * len(response),
                        response_text=text, env_reward=10.0 if flag and step == steps - 1 else 0.0,
                        format_valid=flag or step == 0, action_valid=True, uid=uid, traj_uid=traj, step=step,
                        anchor=f"obs{step}", hallucination=bool(halluc_every) and len(samples) % halluc_every == 0,
                    )
                )  # fmt: skip
            trajs.append(TrajectorySummary(uid, traj, uid, flag, 10.0 if flag else 0.0, steps, "t"))
            traj += 1
    return RolloutBatch(tuple(samples), tuple(trajs))


def run_step(
    tiny_policy: Any,
    batch: RolloutBatch,
    cfg: MonitorConfig,
    tmp_path: Path | None = None,
    lr: float = 1e-3,
    logit_scale: float = 1.0,
) -> tuple[dict[str, float], Monitor, Learner]:
    model, tok = tiny_policy
    model = copy.deepcopy(model)
    with torch.no_grad():
        model.lm_head.weight.mul_(logit_scale)  # > 1: peaked next-token distributions (a trained policy's regime)
    learner = Learner(model, tok.pad_token_id, cfg=LearnerConfig(lr=lr, micro_batch_size=5))
    monitor = Monitor(cfg, tmp_path, model)
    learner.observer = monitor
    advantages = learner.advantages(batch)
    monitor.begin_step(1, batch, advantages)
    learner.update(batch, advantages)
    return monitor.end_step(), monitor, learner


STRICT = MonitorConfig(interference_every=1, projection_every=1, post_update_every=1, strict=True, env_id="Toy-v0")


def test_every_family_is_logged_and_finite_on_a_mixed_batch(tiny_policy: Any, tmp_path: Path) -> None:
    batch = make_batch([[True, False, True, False], [False, False, True, False]], halluc_every=3)
    row, monitor, _ = run_step(tiny_policy, batch, STRICT, tmp_path)
    for family in FAMILIES:
        assert any(k.startswith(family) for k in row), family
    for key in (*GRAD_KEYS, *POST_KEYS, "entropy/token_mean", "entropy/correct", "entropy/wrong", "logprob/diff",
                "repr/centroid_cosine", "repr/group_cross_cosine", "text/sentence_dup", "phase/id"):  # fmt: skip
        assert math.isfinite(row[key]), key
    assert row["halluc/rate"] == pytest.approx(6 / 16) and row["halluc/rate/Toy-v0"] == row["halluc/rate"]
    assert row["text/format_error_rate"] == pytest.approx(5 / 16)  # wrong trajectories' second step
    assert row["text/sentence_dup"] > 0  # the winners repeat their sentence
    assert row["grad/num_traj"] == 4 and row["grad/num_units"] == 8
    assert monitor.last_sample_entropy.shape == (16,)
    # the learner's own entropy metric and the monitor's come from the same pass
    assert row["entropy/token_mean"] > 0 and row["timing/monitor_s"] > 0
    (projection,) = [json.loads(x) for x in (tmp_path / "projection.jsonl").read_text().splitlines()]
    assert len(projection["x"]) == 16 and sum(projection["correct"]) == 6
    (gram,) = [json.loads(x) for x in (tmp_path / "interference.jsonl").read_text().splitlines()]
    assert gram["routes"] == {"lm_head": "kernel"} and len(gram["gram"]) == 4


def _group_loglik(model: Any, batch: RolloutBatch, samples: list[int], weights: Any) -> Any:
    total = 0.0
    for i in samples:
        s = batch.samples[i]
        ids = torch.tensor([s.prompt_ids + s.response_ids])
        logits = model(input_ids=ids).logits[0, :-1].double()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[0, 1:, None]).squeeze(-1)
        total = total + logp[len(s.prompt_ids) - 1 :].sum()
    return total


@pytest.mark.parametrize("layer", ["lm_head", "model.layers.1.mlp.down_proj", "model.layers.0.self_attn.q_proj"])
def test_logged_gram_matches_per_trajectory_autograd(tiny_policy: Any, tmp_path: Path, layer: str) -> None:
    """The monitor's wiring (positions, hidden states, hooks, units -> trajectories) against slow autograd."""
    batch = make_batch([[True, False, False]], steps=2, seed=3)
    model, tok = tiny_policy
    model = copy.deepcopy(model).double()
    cfg = MonitorConfig(interference_every=1, interference_layers=(layer,), strict=True)
    learner = Learner(model, tok.pad_token_id, cfg=LearnerConfig(lr=1e-3, micro_batch_size=4))
    monitor = Monitor(cfg, tmp_path, model)
    learner.observer = monitor
    reference_model = copy.deepcopy(model)
    advantages = learner.advantages(batch)
    monitor.begin_step(1, batch, advantages)
    learner.update(batch, advantages)
    monitor.end_step()
    logged = torch.tensor(json.loads((tmp_path / "interference.jsonl").read_text())["gram"], dtype=torch.float64)
    if layer == "lm_head":  # the lm_head *use* of the tied matrix: a separate copy in the final projection only
        weight = reference_model.lm_head.weight.detach().clone().requires_grad_(True)

        def loglik(traj: int) -> Any:
            total = 0.0
            for s in (s for s in batch.samples if s.traj_uid == traj):
                ids = torch.tensor([s.prompt_ids + s.response_ids])
                hidden = reference_model.model(input_ids=ids).last_hidden_state[0, :-1]
                logp = torch.log_softmax(hidden @ weight.T, dim=-1).gather(-1, ids[0, 1:, None]).squeeze(-1)
                total = total + logp[len(s.prompt_ids) - 1 :].sum()
            return total

        ref = reference_interference(loglik, [weight], 3)
    else:
        param = reference_model.get_submodule(layer).weight
        params = [param] + [p for p in [reference_model.get_submodule(layer).bias] if p is not None]
        ref = reference_interference(
            lambda traj: _group_loglik(
                reference_model, batch, [i for i, s in enumerate(batch.samples) if s.traj_uid == traj], None
            ),
            params,
            3,
        )
    # float32 on both sides, summed in different orders (ghost products vs autograd): 1.5e-6 relative apart on an
    # AVX2 CPU; a wrong formula is off by O(1).
    torch.testing.assert_close(logged, ref, rtol=1e-5, atol=1e-8)


def test_lemma33_probe_step_agrees_with_its_prediction_like_for_like(tiny_policy: Any) -> None:
    batch = make_batch([[True, False, True, False]], seed=2)
    row, _, _ = run_step(tiny_policy, batch, STRICT)
    assert row["grad/lemma33_probe_measured"] != 0
    assert row["grad/lemma33_probe_pred"] == pytest.approx(row["grad/lemma33_probe_measured"], rel=0.05)
    assert row["grad/lemma33_probe_rel_error"] < 0.05
    off = MonitorConfig(interference_every=1, post_update_every=1, strict=True, lemma33_probe_eta=0.0)
    assert math.isnan(run_step(tiny_policy, batch, off)[0]["grad/lemma33_probe_pred"])


def test_lemma34_token_check_matches_a_small_step(tiny_policy: Any) -> None:
    """First order only holds away from the uniform policy (where dH/dθ = 0), so the logits are scaled up."""
    batch = make_batch([[True, False, True, False]], seed=1)
    row, _, _ = run_step(tiny_policy, batch, STRICT, lr=1e-5, logit_scale=30.0)
    assert row["grad/lemma34_measured"] != 0
    assert row["grad/lemma34_pred"] == pytest.approx(row["grad/lemma34_measured"], rel=0.1)


@pytest.mark.parametrize(
    "won", [[[True, True]], [[False, False, False]], [[True]], [[False]], [[True, False], [True, True]]]
)
def test_degenerate_groups_give_defined_values(tiny_policy: Any, won: list[list[bool]]) -> None:
    row, _, _ = run_step(tiny_policy, make_batch(won), STRICT)
    assert math.isfinite(row["entropy/token_mean"]) and math.isfinite(row["grad/c_mean"])
    single_class = all(all(g) for g in won) or not any(any(g) for g in won)
    if single_class:
        assert math.isnan(row["repr/centroid_cosine"]) and math.isnan(row["grad/cos_correct_wrong"])
        assert math.isnan(row["repr/probe_auc"])
    if sum(len(g) for g in won) == 1:
        assert math.isnan(row["grad/cos_within"]) and row["grad/num_traj"] == 1


def test_empty_batch_gives_nans_not_errors() -> None:
    monitor = Monitor(STRICT)
    monitor.begin_step(1, RolloutBatch((), ()), torch.zeros(0))
    row = monitor.end_step()
    assert math.isnan(row["entropy/token_mean"]) and math.isnan(row["text/sentence_dup"])
    assert row["logprob/correct"] == 0.0 and row["logprob/num_correct"] == 0.0  # SEAL-repo's +1e-6 denominator
    assert all(math.isnan(row[k]) for k in GRAD_KEYS + POST_KEYS)
    assert row["phase/id"] == 0.0


def test_nan_and_inf_logits_give_nan_entropy_and_the_phase_detector_skips_them() -> None:
    batch = make_batch([[True, False]], steps=1)
    monitor = Monitor(MonitorConfig(representations=False, interference_every=0, strict=True))
    monitor.begin_step(1, batch, torch.zeros(2))
    logits = torch.randn(2, 5, 11)
    logits[0, 2, 3] = float("nan")
    logits[1, 1, 0] = float("inf")
    mask = torch.ones(2, 5, dtype=torch.bool)
    logits[1, 4] = float("nan")  # masked out: ignored
    mask[1, 4] = False
    token_logp = torch.log_softmax(logits, -1)[..., 0]
    ids = torch.zeros(2, 6, dtype=torch.long)
    monitor.on_old_policy(ForwardChunk([0, 1], ids, torch.ones_like(ids), mask, token_logp, logits))
    row = monitor.end_step()
    assert math.isnan(row["entropy/token_mean"]) and row["phase/id"] == 0.0 and math.isnan(row["phase/smoothed"])


def test_a_failing_family_warns_once_and_logs_nan(monkeypatch: pytest.MonkeyPatch) -> None:
    monitor = Monitor(MonitorConfig(interference_every=0))
    batch = make_batch([[True, False]], steps=1)

    def boom(_: object) -> dict[str, float]:
        raise RuntimeError("boom")

    monkeypatch.setattr(Monitor, "_text", staticmethod(boom))
    with pytest.warns(UserWarning, match="text metrics failed"):
        monitor.begin_step(1, batch, torch.zeros(2))
        row = monitor.end_step()
    assert "text/sentence_dup" not in row and "entropy/token_mean" in row


def test_restore_replays_the_phase_detector_and_trims_artifacts(tmp_path: Path) -> None:
    values = [3.0, 2.6, 2.3, 2.1, 2.0, 1.95, 1.9, 1.88, 1.87, 1.86, 2.6, 3.2, 3.6, 3.8, 3.9]
    rows = [{"step": k + 1, "entropy/token_mean": v} for k, v in enumerate(values)]
    rows.append({"step": 16, "entropy/token_mean": None})
    monitor = Monitor(MonitorConfig(), tmp_path)
    (tmp_path / "projection.jsonl").write_text("".join(json.dumps({"step": s}) + "\n" for s in range(1, 17)))
    monitor.restore(rows, until_step=15)
    direct = PhaseDetector()
    for k, v in enumerate(values):
        direct.update(k + 1, v)
    assert monitor.detector.phase == direct.phase == "eruption"
    assert monitor.detector.eruption_steps == direct.eruption_steps == [11]
    assert len((tmp_path / "projection.jsonl").read_text().splitlines()) == 15


def test_config_errors(tiny_policy: Any) -> None:
    with pytest.raises(ConfigError, match="interference_every"):
        MonitorConfig(interference_every=-1)
    with pytest.raises(ConfigError, match="interference_route"):
        MonitorConfig(interference_route="fast")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not a submodule"):
        Monitor(MonitorConfig(interference_layers=("model.nope",)), None, tiny_policy[0])
    with pytest.raises(ConfigError, match="not a linear layer"):
        Monitor(MonitorConfig(interference_layers=("model.norm",)), None, tiny_policy[0])
    with pytest.raises(RuntimeError, match="begin_step"):
        Monitor().end_step()
