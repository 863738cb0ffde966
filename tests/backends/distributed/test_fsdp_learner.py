"""FSDP2 learner ranks (``--learner-sharding fsdp2``) on CPU with gloo: the same step as one process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ray")

from agentgym_seal.backends.distributed import ClusterConfig, start_learner_group  # noqa: E402
from agentgym_seal.backends.distributed.fsdp import ShardedLearner  # noqa: E402
from agentgym_seal.backends.distributed.learner_group import LEARNER_SHARDING  # noqa: E402
from agentgym_seal.backends.learner import Learner, LearnerConfig  # noqa: E402
from agentgym_seal.backends.seal import SEALConfig  # noqa: E402
from agentgym_seal.errors import ConfigError  # noqa: E402
from agentgym_seal.models.lora import plain_copy  # noqa: E402

# Sharded and unsharded steps sum in other orders (reduce-scatter, the global grad norm): float32 rounding, which
# AdamW's normalised steps carry into the weights (measured: 2.1e-5 after 8 steps at lr 1e-2; one step moves 1e-2).
TOL = 1e-4


@pytest.fixture
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def learner_kwargs() -> dict[str, Any]:
    return {
        # 3 micro-batches over 2 ranks: rank 1 runs a zero-weighted one to match rank 0's collectives
        "cfg": LearnerConfig(lr=1e-2, micro_batch_size=3, mini_batch_size=8, entropy_coeff=0.01, ppo_epochs=2),
        "seal": SEALConfig(alpha=0.1, dropout=0.0),
    }


def test_the_registry_names_the_rank_classes() -> None:
    assert LEARNER_SHARDING.get("fsdp2") is ShardedLearner
    assert LEARNER_SHARDING.get("ddp").sharding == "ddp"


def test_two_fsdp2_ranks_give_the_parameters_of_one_process(
    ray_cluster: Any, tiny_policy: Any, make_batch: Any, one_thread: None
) -> None:
    model, tok = tiny_policy
    batches = [make_batch(model.config.vocab_size, groups=2, group_size=3, seed=s) for s in (0, 1)]
    single_model = plain_copy(model).train()
    single = Learner(single_model, tok.pad_token_id, **learner_kwargs())
    single_metrics = [single.update(b) for b in batches]  # two updates: AdamW's sharded moments carry over

    policy = plain_copy(model).train()
    fsdp = ShardedLearner(policy, tok.pad_token_id, rank=0, world_size=2, **learner_kwargs())
    peers = start_learner_group(fsdp, cluster=ClusterConfig(call_timeout_s=120))
    try:
        fsdp_metrics = [fsdp.update(b) for b in batches]
        remote = peers.parameters(0)
        state = fsdp.state_dict()
    finally:
        peers.close()
    assert type(fsdp.model).__name__.startswith("FSDP")  # the update trained a sharded copy
    for (name, a), b in zip(single_model.named_parameters(), policy.parameters(), strict=True):
        assert torch.allclose(a, b, atol=TOL, rtol=0), f"{name}: rank 0's policy differs from one process"
    assert not torch.equal(next(single_model.parameters()), next(model.parameters()))  # the steps moved them
    for a, shard in zip(single_model.parameters(), remote, strict=True):  # rank 1 holds the second dim-0 chunk
        chunks = torch.chunk(a, 2, dim=0)
        expected = chunks[1] if len(chunks) > 1 else a[:0]
        assert torch.allclose(shard, expected, atol=TOL, rtol=0)
    assert single.head is not None and fsdp.head is not None
    for a, b in zip(single.head.parameters(), fsdp.head.parameters(), strict=True):
        assert torch.allclose(a, b, atol=TOL, rtol=0)
    for got, want in zip(fsdp_metrics, single_metrics, strict=True):
        assert got.keys() == want.keys()
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=1e-4, abs=1e-6), key
    # rank 0's checkpoint state: AdamW's moments of every parameter, by name, whole
    moments = state["optimizer"]["state"]
    assert set(moments) == {f"policy.{n}" for n, _ in single_model.named_parameters()} | {
        f"head.{n}" for n, _ in single.head.named_parameters()
    }
    first = next(iter(single_model.named_parameters()))[0]
    single_moment = single.optimizer.state[next(iter(single_model.parameters()))]["exp_avg"]
    assert torch.allclose(moments[f"policy.{first}"]["exp_avg"], single_moment, atol=TOL, rtol=0)


def test_fsdp2_refuses_the_monitor_and_unsharded_checkpoints(tiny_policy: Any) -> None:
    model, tok = tiny_policy
    plain = Learner(plain_copy(model), tok.pad_token_id, **learner_kwargs())
    fsdp = ShardedLearner(plain_copy(model), tok.pad_token_id, rank=0, world_size=2, **learner_kwargs())
    with pytest.raises(ConfigError, match="resume with the learner sharding"):
        fsdp.load_state_dict(plain.state_dict())
    fsdp.observer = object()  # type: ignore[assignment]
    with pytest.raises(ConfigError, match="--no-monitor"):
        fsdp.update(None)  # type: ignore[arg-type]


def test_the_config_refuses_fsdp2_with_the_monitor() -> None:
    from agentgym_seal.backends.config import TrainConfig

    with pytest.raises(ConfigError, match="--no-monitor"):
        TrainConfig(num_learners=2, learner_sharding="fsdp2")
    assert TrainConfig(num_learners=2, learner_sharding="fsdp2", monitor=False).learner_sharding == "fsdp2"
    assert TrainConfig().weight_sync == "object-store" and TrainConfig().learner_sharding == "ddp"
