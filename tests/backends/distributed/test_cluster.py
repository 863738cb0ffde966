"""Bad cluster input ends in a clear error within a bounded time."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytest.importorskip("ray")

from agentgym_seal.backends.config import TrainConfig
from agentgym_seal.backends.distributed import ClusterConfig, DistributedError, RolloutPool, check_address
from agentgym_seal.backends.distributed.cluster import check_gpus, ray_logs_dir, reserve
from agentgym_seal.errors import ConfigError


def test_an_address_nobody_answers_fails_fast_with_the_fix() -> None:
    start = time.monotonic()
    with pytest.raises(
        DistributedError, match=r"no Ray cluster answers at --ray-address 127\.0\.0\.1:9.*ray start --head"
    ):
        check_address("127.0.0.1:9", timeout_s=5)
    assert time.monotonic() - start < 10
    with pytest.raises(ConfigError, match="host:port"):
        check_address("10.0.0.1:head", timeout_s=1)


def test_more_gpus_than_the_cluster_has_is_a_config_error(ray_cluster: Any, tiny_policy: Any) -> None:
    with pytest.raises(ConfigError, match=r"--num-gpus 2 asks for more GPUs than the Ray cluster has \(0\)"):
        check_gpus({"CPU": 2.0}, 2)
    model, tok = tiny_policy
    with pytest.raises(ConfigError, match="--num-gpus 1 asks for more GPUs"):
        RolloutPool(model, tok, num_workers=1, cluster=ClusterConfig(num_gpus=1))
    with pytest.raises(ConfigError, match="add --num-workers"):
        TrainConfig(num_gpus=1)


def test_resources_the_cluster_cannot_free_are_a_clear_error_in_time(ray_cluster: Any) -> None:
    start = time.monotonic()
    with pytest.raises(DistributedError, match=r"could not reserve .* within 2 s .*Fix: use fewer --num-workers"):
        reserve([{"CPU": 1.0}] * 3, timeout_s=2)  # the test cluster has 2 CPUs
    assert time.monotonic() - start < 15


def test_error_messages_point_at_the_configured_ray_log_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    assert ray_logs_dir() == str(tmp_path / "ray" / "session_latest" / "logs")
