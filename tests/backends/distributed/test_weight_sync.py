"""Weight sync to the rollout workers (``--weight-sync``) and the workers' engine (``--engine``)."""

from __future__ import annotations

import importlib.util
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ray")

from agentgym_seal.backends.distributed import (  # noqa: E402
    WEIGHT_SYNC,
    ClusterConfig,
    DistributedError,
    RayGroupRollout,
    RolloutPool,
    RolloutWorker,
)
from agentgym_seal.backends.distributed.weights import CollectiveSync, ObjectStoreSync, plain_weights  # noqa: E402
from agentgym_seal.engines import ENGINES  # noqa: E402
from agentgym_seal.engines.vllm import VLLMEngine  # noqa: E402
from agentgym_seal.errors import DependencyNotInstalled, UnknownNameError  # noqa: E402

from .test_rollout_pool import SEEDS, assert_same_batch, local_batch, rollout_cfg  # noqa: E402


def changed_copy(model: Any, scale: float) -> Any:
    changed = type(model)(model.config)
    changed.load_state_dict(model.state_dict())
    with torch.no_grad():
        changed.lm_head.weight.mul_(scale)  # tied to the embedding: a clearly different policy
        changed.model.norm.weight.add_(0.25)
    return changed


def assert_weights(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got.keys() == want.keys()
    for name, tensor in want.items():
        assert torch.equal(got[name], tensor), name


def synced_weights(model: Any, tok: Any, route: str, changed: Any) -> list[dict[str, Any]]:
    pool = RolloutPool(model, tok, num_workers=2, cluster=ClusterConfig(call_timeout_s=300), weight_sync=route)
    try:
        pool.sync_weights(changed)
        return [pool.worker_weights(i) for i in range(2)]
    finally:
        pool.close()


def test_the_registry_names_the_routes() -> None:
    assert WEIGHT_SYNC.get("object-store") is ObjectStoreSync
    assert WEIGHT_SYNC.get("collective") is CollectiveSync
    with pytest.raises(UnknownNameError):
        WEIGHT_SYNC.get("nccl-magic")


@pytest.fixture(scope="module")
def collective_pool(ray_cluster: Any, tiny_policy: Any) -> Iterator[RolloutPool]:
    model, tok = tiny_policy
    pool = RolloutPool(model, tok, num_workers=2, cluster=ClusterConfig(call_timeout_s=300), weight_sync="collective")
    yield pool
    pool.close()


def test_a_gloo_broadcast_leaves_the_object_store_weights_on_every_worker(
    collective_pool: RolloutPool, tiny_policy: Any
) -> None:
    model, tok = tiny_policy
    changed = changed_copy(model, 3.0)
    collective_pool.sync_weights(changed)
    assert isinstance(collective_pool._sync, CollectiveSync) and collective_pool._sync.backend == "gloo"
    by_collective = [collective_pool.worker_weights(i) for i in range(2)]
    for weights in by_collective:
        assert_weights(weights, plain_weights(changed))
    assert collective_pool.metrics()["ray/sync_s"] > 0
    # the engines sample from what they received: the rollout of the changed policy in one process
    rollout = RayGroupRollout(collective_pool, "train", rollout_cfg(tok), num_envs=6)
    assert_same_batch(local_batch(changed, tok, SEEDS), rollout.collect(SEEDS))
    rollout.close()
    collective_pool.sync_weights(model)
    assert_weights(collective_pool.worker_weights(1), plain_weights(model))


def test_a_worker_killed_before_a_collective_sync_is_restarted_and_the_group_formed_again(
    collective_pool: RolloutPool, tiny_policy: Any
) -> None:
    model, _ = tiny_policy
    sync = collective_pool._sync
    assert isinstance(sync, CollectiveSync)
    formed, restarts = sync.formed, collective_pool.restarts
    os.kill(collective_pool.pids()[1], signal.SIGKILL)
    changed = changed_copy(model, 0.5)
    collective_pool.sync_weights(changed)
    assert collective_pool.restarts == restarts + 1
    assert sync.formed == formed + 1
    for i in range(2):
        assert_weights(collective_pool.worker_weights(i), plain_weights(changed))
    collective_pool.sync_weights(model)


@pytest.mark.slow
def test_both_routes_leave_the_same_weights(ray_cluster: Any, tiny_policy: Any, collective_pool: RolloutPool) -> None:
    model, tok = tiny_policy
    changed = changed_copy(model, 2.0)
    collective_pool.sync_weights(changed)
    by_collective = [collective_pool.worker_weights(i) for i in range(2)]
    collective_pool.sync_weights(model)
    collective_pool.close()  # (frees the CPUs of the 2-CPU test cluster)
    by_object_store = synced_weights(model, tok, "object-store", changed)
    for a, b in zip(by_collective, by_object_store, strict=True):
        assert_weights(a, b)


# -- the workers' engine -------------------------------------------------------------------------------
class _RecordingEngine:
    """A stand-in engine (unit test of the worker): records the models it was synced to."""

    provides_entropies = False
    keeps_own_weights = True

    def __init__(self, model: Any, pad_token_id: int, **kwargs: Any) -> None:
        self.model, self.kwargs, self.synced = model, kwargs, []

    @staticmethod
    def ray_worker_kwargs(num_gpus: float) -> dict[str, Any]:
        return {"gpus": num_gpus}

    def sync_weights(self, model: Any) -> None:
        self.synced.append({k: v.clone() for k, v in model.state_dict().items()})


@pytest.fixture
def recording_engine() -> Iterator[type[_RecordingEngine]]:
    ENGINES.register("recording", _RecordingEngine)
    yield _RecordingEngine
    ENGINES.unregister("recording")


def test_a_worker_builds_the_named_engine_and_syncs_it(tiny_policy: Any, recording_engine: Any) -> None:
    model, tok = tiny_policy
    weights = plain_weights(model)
    worker = RolloutWorker(0, model.config, weights, tok, 1, "cpu", "recording", 0.5)
    engine = worker.engine
    assert isinstance(engine, recording_engine) and engine.model is worker.model
    assert engine.kwargs == {"gpus": 0.5}  # sized by the engine from the worker's GPUs
    changed = plain_weights(changed_copy(model, 2.0))
    assert worker.load_weights(changed, 7) == 7
    assert len(engine.synced) == 1
    assert_weights(engine.synced[0], changed)
    with pytest.raises(DistributedError, match="no weight-sync group"):
        worker.receive_weights([], 8)


def test_the_hf_worker_samples_from_its_replica(tiny_policy: Any) -> None:
    model, tok = tiny_policy
    worker = RolloutWorker(0, model.config, plain_weights(model), tok, 1, "cpu")
    assert type(worker.engine).__name__ == "HFEngine" and worker.engine.model is worker.model


def test_vllm_engine_sizes_itself_from_the_worker_gpus() -> None:
    assert VLLMEngine.keeps_own_weights
    assert VLLMEngine.ray_worker_kwargs(0.5) == {}
    assert VLLMEngine.ray_worker_kwargs(2) == {"tensor_parallel_size": 2}


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_a_vllm_worker_without_vllm_says_how_to_install_it(tiny_policy: Any) -> None:
    model, tok = tiny_policy
    with pytest.raises(DependencyNotInstalled, match="vllm"):
        RolloutWorker(0, model.config, plain_weights(model), tok, 1, "cpu", "vllm")
