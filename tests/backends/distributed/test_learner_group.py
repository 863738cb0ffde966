"""Two gloo ranks (this process + a Ray actor) take the same step as one process on the same batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ray")

from agentgym_seal.backends.distributed import ClusterConfig, DataParallelLearner, start_learner_group  # noqa: E402
from agentgym_seal.backends.distributed.learner_group import LEARNER_SHARDING  # noqa: E402
from agentgym_seal.backends.learner import Learner, LearnerConfig  # noqa: E402
from agentgym_seal.backends.seal import SEALConfig  # noqa: E402
from agentgym_seal.models.lora import plain_copy  # noqa: E402


@pytest.fixture
def one_thread() -> Iterator[None]:
    """The remote rank computes with 1 thread; float reductions (LayerNorm backward) depend on the count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_two_gloo_ranks_give_the_parameters_of_one_process(
    ray_cluster: Any, tiny_policy: Any, make_batch: Any, one_thread: None
) -> None:
    model, tok = tiny_policy
    batch = make_batch(model.config.vocab_size, groups=2, group_size=3)
    kwargs: dict[str, Any] = {
        "cfg": LearnerConfig(lr=1e-2, micro_batch_size=3, mini_batch_size=8, entropy_coeff=0.01, ppo_epochs=2),
        # the SEAL head's dropout draws masks from each process's RNG (as under DDP): off, for an exact comparison
        "seal": SEALConfig(alpha=0.1, dropout=0.0),
    }
    single_model = plain_copy(model).train()
    single = Learner(single_model, tok.pad_token_id, **kwargs)
    single_metrics = single.update(batch)

    dp_model = plain_copy(model).train()
    dp = DataParallelLearner(dp_model, tok.pad_token_id, rank=0, world_size=2, **kwargs)
    peers = start_learner_group(dp, cluster=ClusterConfig(call_timeout_s=120))
    try:
        dp_metrics = dp.update(batch)
        remote = peers.parameters(0)
    finally:
        peers.close()
    for a, b, c in zip(single_model.parameters(), dp_model.parameters(), remote, strict=True):
        assert torch.equal(a, b), "rank 0 differs from one process"
        assert torch.equal(b, c), "the ranks differ from each other"
    assert not torch.equal(next(single_model.parameters()), next(model.parameters()))  # the step moved them
    assert dp.head is not None and single.head is not None
    for a, b in zip(single.head.parameters(), dp.head.parameters(), strict=True):
        assert torch.equal(a, b)
    assert dp_metrics == single_metrics


@pytest.mark.parametrize(("sharding", "tol"), [("ddp", 0.0), ("fsdp2", 1e-4)])  # fsdp2: test_fsdp_learner's TOL
def test_a_reference_reset_after_start_reaches_the_remote_rank(
    ray_cluster: Any, tiny_policy: Any, make_batch: Any, one_thread: None, sharding: str, tol: float
) -> None:
    """The trainer resets the KL reference after the warm-up (and on a resume), after the ranks started.

    A rank left with the old reference computes other KL gradients; the all-reduce mixes them into every rank's
    step, so rank 0 would then differ from one process that used the new reference.
    """
    model, tok = tiny_policy
    batch = make_batch(model.config.vocab_size, groups=2, group_size=3)
    kwargs: dict[str, Any] = {"cfg": LearnerConfig(lr=1e-2, micro_batch_size=3, mini_batch_size=8, kl_coef=0.5)}
    torch.manual_seed(0)
    warmed_up = plain_copy(model).requires_grad_(False)  # stands in for the warmed-up policy
    for p in warmed_up.parameters():
        p.add_(0.05 * torch.randn_like(p))
    single_model, rank0_model = plain_copy(model).train(), plain_copy(model).train()
    single = Learner(single_model, tok.pad_token_id, ref_model=plain_copy(model), **kwargs)
    rank0 = LEARNER_SHARDING.get(sharding)(
        rank0_model, tok.pad_token_id, rank=0, world_size=2, ref_model=plain_copy(model), **kwargs
    )
    peers = start_learner_group(rank0, cluster=ClusterConfig(call_timeout_s=120))  # the ranks copy the old reference
    try:
        for learner in (single, rank0):
            learner.update(batch)  # rank 0: in sync after it
            assert learner.ref_model is not None
            learner.ref_model.load_state_dict(warmed_up.state_dict())
        rank0.mark_weights_changed()
        single.update(batch)
        rank0.update(batch)
        remote = peers.parameters(0)
    finally:
        peers.close()
    for a, b in zip(single_model.parameters(), rank0_model.parameters(), strict=True):  # fsdp2: the plain policy
        assert torch.allclose(a, b, atol=tol, rtol=0), "rank 0 differs from one process: a rank kept the old reference"
    if sharding == "ddp":  # full copies on every rank (fsdp2 ranks hold shards: test_fsdp_learner.py)
        for b, c in zip(rank0_model.parameters(), remote, strict=True):
            assert torch.equal(b, c), "the ranks differ from each other"
