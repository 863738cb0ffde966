"""Joining or starting a Ray cluster, checking its resources, and reserving them with a placement group.

Every call that waits on the cluster has a deadline and ends in a :class:`DistributedError` that says what
to do, never in a hang.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from agentgym_seal.deps import require
from agentgym_seal.errors import AgentGymError, ConfigError

logger = logging.getLogger(__name__)

_DEFAULT_GCS_PORT = 6379
#: torch.distributed backend per device type: gloo on CPUs, NCCL on GPUs.
COLLECTIVE_BACKENDS = {"cpu": "gloo", "cuda": "nccl"}
# Passed to every actor: Python fixes str hashing at process start, and the envs' caches live where the
# driver's do, so a worker must see the same values as the driver to produce the same rollouts.
_INHERITED_ENV = ("PYTHONHASHSEED", "AGENTGYM_SEAL_CACHE")


class DistributedError(AgentGymError, RuntimeError):
    """A Ray cluster, worker or learner rank failed, timed out or cannot be reached."""


@dataclass(frozen=True)
class ClusterConfig:
    """Where the Ray processes run and what they may use.

    Attributes:
        address: ``None`` starts a local cluster in this process; ``host:port`` (or ``auto``) joins a
            cluster started with ``ray start --head``.
        num_cpus: CPUs of a local cluster (``None``: all of the machine's); ignored when joining.
        num_gpus: GPUs the run reserves for its rollout workers (split evenly), checked against the cluster.
        connect_timeout_s: Deadline for reaching ``address`` and for the resources to become free.
        call_timeout_s: Deadline of every remote call (a rollout, a weight sync, a learner update).
    """

    address: str | None = None
    num_cpus: int | None = None
    num_gpus: float = 0.0
    connect_timeout_s: float = 30.0
    call_timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if self.num_gpus < 0:
            raise ConfigError(f"--num-gpus must be >= 0; got {self.num_gpus}.")
        if self.connect_timeout_s <= 0 or self.call_timeout_s <= 0:
            raise ConfigError("Ray timeouts must be > 0 seconds.")


def ray_logs_dir() -> str:
    """Where Ray writes the session logs: ``$RAY_TMPDIR`` (or the system temp dir)/ray/session_latest/logs."""
    import tempfile

    return os.path.join(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir(), "ray", "session_latest", "logs")


def ray_module() -> Any:
    """``ray``, or a :class:`~agentgym_seal.errors.DependencyNotInstalled` naming the ``ray`` extra."""
    return require("ray", "ray")


def runtime_env() -> dict[str, Any]:
    """The Ray ``runtime_env`` of every actor: the driver's hash seed and cache folder."""
    env_vars = {k: os.environ[k] for k in _INHERITED_ENV if k in os.environ}
    return {"env_vars": env_vars} if env_vars else {}


def check_address(address: str, timeout_s: float) -> None:
    """Raises :class:`DistributedError` when nothing accepts a TCP connection at ``address`` in time.

    ``ray.init`` retries an unreachable address for a long while; a plain socket answers within the deadline.
    ``auto`` (the cluster this machine's ``ray start`` joined) is left to Ray, which fails fast without one.
    """
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host:
        host, port = target, str(_DEFAULT_GCS_PORT)
    if not port.isdigit():
        raise ConfigError(f"--ray-address {address!r}: expected host:port (e.g. 10.0.0.1:6379), or auto.")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise DistributedError(
            f"no Ray cluster answers at --ray-address {address} ({exc.__class__.__name__}: {exc}) within "
            f"{timeout_s:g} s. Fix: on the head node run `ray start --head --port {port}` (and "
            f"`ray start --address {host}:{port}` on the others), check the firewall, or leave out "
            "--ray-address to start a local cluster."
        ) from None


def connect(cfg: ClusterConfig) -> Any:
    """Starts or joins the Ray cluster (once per process) and checks its GPUs; returns ``ray``."""
    ray = ray_module()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # Ray 2.60 token auth: local clusters need none
    if not ray.is_initialized():
        if cfg.address is not None:
            check_address(cfg.address, cfg.connect_timeout_s)
        try:
            ray.init(
                address=cfg.address,
                num_cpus=None if cfg.address is not None else cfg.num_cpus,
                include_dashboard=False,
                log_to_driver=True,
                logging_level=logging.WARNING,
                runtime_env=runtime_env() or None,
            )
        except ConnectionError as exc:
            raise DistributedError(
                f"could not join the Ray cluster at {cfg.address!r}: {exc}. Fix: start it with "
                "`ray start --head`, or leave out --ray-address to start a local cluster."
            ) from None
    check_gpus(ray.cluster_resources(), cfg.num_gpus)
    return ray


def check_gpus(resources: dict[str, float], wanted: float) -> None:
    """Raises :class:`ConfigError` when the cluster has fewer GPUs than ``wanted``."""
    have = float(resources.get("GPU", 0.0))
    if wanted > have:
        raise ConfigError(
            f"--num-gpus {wanted:g} asks for more GPUs than the Ray cluster has ({have:g}). Fix: lower "
            "--num-gpus, or add GPU nodes with `ray start --address HEAD:6379` (check `ray status`)."
        )


def reserve(bundles: list[dict[str, float]], *, timeout_s: float, name: str = "agentgym-seal") -> Any:
    """A placement group of ``bundles`` (PACK: GPUs of a node are filled before the next), ready in time.

    Raises:
        DistributedError: The cluster could not free the resources within ``timeout_s``.
    """
    ray = ray_module()
    from ray.util.placement_group import placement_group, remove_placement_group

    group = placement_group(bundles, strategy="PACK", name="")
    try:
        ray.get(group.ready(), timeout=timeout_s)
    except ray.exceptions.GetTimeoutError:
        remove_placement_group(group)
        free = ray.available_resources()
        raise DistributedError(
            f"{name}: the Ray cluster could not reserve {bundles} within {timeout_s:g} s (free now: "
            f"CPU {free.get('CPU', 0):g}, GPU {free.get('GPU', 0):g}). Fix: use fewer --num-workers / "
            "--num-learners / --num-gpus, or give the cluster more resources."
        ) from None
    return group


def release(group: Any) -> None:
    """Removes a placement group made by :func:`reserve` (no-op when Ray is down)."""
    ray = ray_module()
    if group is not None and ray.is_initialized():
        from ray.util.placement_group import remove_placement_group

        remove_placement_group(group)


def scheduling(group: Any, bundle: int) -> Any:
    """The scheduling strategy that puts an actor into ``bundle`` of ``group``."""
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    return PlacementGroupSchedulingStrategy(placement_group=group, placement_group_bundle_index=bundle)


def free_port(host: str) -> int:
    """A TCP port free on ``host`` now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
