"""Rollout workers as Ray actors: each owns whole task groups, its envs and its own engine replica.

:class:`RolloutPool` starts the workers in a placement group, pushes the learner's weights through the
object store (put once, fetched by each worker), splits the B task seeds of a call into contiguous slices
(a group never splits), and restarts a worker that dies: its slice is rolled out again from the same seeds
by the replacement, so the learner only ever sees whole groups and the same samples as without the fault.
:class:`RayGroupRollout` is the :class:`~agentgym_seal.rollout.GroupRollout` interface on top of a pool.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentgym_seal.engines.base import SamplingParams
from agentgym_seal.errors import AgentGymError, ConfigError
from agentgym_seal.partition import even_slices
from agentgym_seal.rollout import RolloutBatch, RolloutConfig

from .cluster import (
    ClusterConfig,
    DistributedError,
    connect,
    ray_logs_dir,
    release,
    reserve,
    runtime_env,
    scheduling,
)
from .weights import WEIGHT_SYNC, plain_weights

logger = logging.getLogger(__name__)

_PHASES = ("reset", "prompt", "generate", "env_step")


@dataclass(frozen=True)
class WorkerResult:
    """What one worker returns for its slice: the batch (global ids), its phase times and counters."""

    batch: RolloutBatch
    timing: dict[str, float]
    generated_tokens: int
    truncated_prompts: int
    busy_s: float


class RolloutWorker:
    """One rollout worker (a Ray actor): a model replica, an engine and a GroupRollout per split.

    Args:
        index: Worker index (for messages).
        model_config: The policy's transformers config (the replica is built from it).
        weights: The policy's state dict (plain names; LoRA merged).
        tokenizer: The policy's tokenizer.
        num_threads: torch threads of this worker.
        device: ``cpu`` or ``cuda`` (Ray sets ``CUDA_VISIBLE_DEVICES`` to the worker's GPUs).
        engine: The engine's name in :data:`~agentgym_seal.engines.ENGINES` (``--engine``: ``hf`` samples from
            the replica; ``vllm`` serves its own copy of it, synced by ``sync_weights``).
        num_gpus: GPUs this worker holds (an engine with ``ray_worker_kwargs`` sizes itself from it).
    """

    def __init__(
        self,
        index: int,
        model_config: Any,
        weights: dict[str, Any],
        tokenizer: Any,
        num_threads: int,
        device: str,
        engine: str = "hf",
        num_gpus: float = 0.0,
    ) -> None:
        import torch

        from agentgym_seal.engines import ENGINES
        from agentgym_seal.models.lora import model_from_weights

        torch.set_num_threads(num_threads)
        self.index = index
        engine_class = ENGINES.get(engine)
        if getattr(engine_class, "keeps_own_weights", False):
            device = "cpu"  # the engine holds the GPU; the replica only feeds its weight syncs
        self.model = model_from_weights(model_config, weights).to(device)
        self.model.eval()
        self.tokenizer = tokenizer
        kwargs = engine_class.ray_worker_kwargs(num_gpus) if hasattr(engine_class, "ray_worker_kwargs") else {}
        self.engine = engine_class(self.model, tokenizer.pad_token_id, **kwargs)
        self.rollouts: dict[str, Any] = {}
        self.version = 0
        self.weight_group: Any = None

    def pid(self) -> int:
        """The worker's process id (tests kill it)."""
        return os.getpid()

    def progress(self) -> int:
        """Tokens generated so far, over every split (answers while a rollout runs: threaded actor)."""
        return sum(r.generated_tokens for r in self.rollouts.values())

    def load_weights(self, weights: dict[str, Any], version: int) -> int:
        """Loads a new state dict (fetched from the object store) into the replica and the engine."""
        self.model.load_state_dict(weights)
        self.engine.sync_weights(self.model)
        self.version = version
        return version

    def join_weight_group(self, backend: str, host: str, port: int, rank: int, world: int, timeout_s: float) -> int:
        """Joins the driver's weight-sync group (``--weight-sync collective``); returns the rank."""
        from .weights import WeightGroup

        self.weight_group = WeightGroup(backend, host, port, rank, world, timeout_s)
        return rank

    def receive_weights(self, meta: list[tuple[str, tuple[int, ...], str]], version: int) -> int:
        """Receives rank 0's broadcast (``meta``: name, shape, dtype per tensor) into the replica and the engine."""
        if self.weight_group is None:
            raise DistributedError(f"rollout worker {self.index} is in no weight-sync group: a runner bug.")
        self.weight_group.receive_into(self.model.state_dict(), meta)
        self.engine.sync_weights(self.model)
        self.version = version
        return version

    def weights(self) -> dict[str, Any]:
        """The replica's state dict on the CPU (tests compare the routes)."""
        return {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}

    def collect(
        self,
        key: str,
        cfg: RolloutConfig,
        seeds: Sequence[int],
        first_uid: int,
        group_size: int,
        sampling: SamplingParams | None,
    ) -> WorkerResult:
        """Rolls out ``seeds`` (whole groups) with global ids starting at group ``first_uid``."""
        from agentgym_seal.rollout import GroupRollout

        start = time.perf_counter()
        needed = len(seeds) * group_size
        rollout = self.rollouts.get(key)
        if rollout is None or len(rollout._slots) < needed:
            if rollout is not None:
                rollout.close()
            rollout = self.rollouts[key] = GroupRollout(cfg, self.engine, self.tokenizer, num_envs=needed)
        before = (dict(rollout.timing), rollout.generated_tokens, rollout.truncated_prompts)
        batch = rollout.collect(seeds, group_size=group_size, sampling=sampling, first_uid=first_uid)
        return WorkerResult(
            batch=batch,
            timing={k: rollout.timing[k] - before[0].get(k, 0.0) for k in rollout.timing},
            generated_tokens=rollout.generated_tokens - before[1],
            truncated_prompts=rollout.truncated_prompts - before[2],
            busy_s=time.perf_counter() - start,
        )

    def close(self, key: str | None = None) -> None:
        """Closes the envs of split ``key`` (all splits when ``None``)."""
        for name in [key] if key is not None else list(self.rollouts):
            rollout = self.rollouts.pop(name, None)
            if rollout is not None:
                rollout.close()


@dataclass(frozen=True)
class _Job:
    """One worker's share of a collect call."""

    worker: int
    first_uid: int
    seeds: tuple[int, ...]


def split_groups(num_seeds: int, num_workers: int) -> list[tuple[int, int]]:
    """Contiguous ``(first, count)`` slices of ``num_seeds`` groups, as even as possible (no empty slice)."""
    return even_slices(num_seeds, num_workers)


class RolloutPool:
    """Rollout workers (Ray actors in one placement group) shared by the train and eval rollouts.

    Args:
        model: The learner's policy (a transformers model, or a LoRA-wrapped one: its merged weights are used).
        tokenizer: The policy's tokenizer.
        num_workers: Rollout workers.
        cluster: Where to run and the deadlines.
        cpus_per_worker: CPUs reserved per worker (and its torch threads).
        max_restarts: Restarts of one worker's slice within one call before giving up.
        engine: The workers' engine (``--engine``: ``hf`` or ``vllm``).
        weight_sync: How weights reach the workers (``--weight-sync``, a :data:`.weights.WEIGHT_SYNC` name).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        num_workers: int,
        cluster: ClusterConfig | None = None,
        cpus_per_worker: float = 1.0,
        max_restarts: int = 3,
        engine: str = "hf",
        weight_sync: str = "object-store",
    ) -> None:
        if num_workers < 1:
            raise ConfigError(f"--num-workers must be >= 1 for the Ray runner; got {num_workers}.")
        self.cluster = cluster or ClusterConfig()
        self.ray = connect(self.cluster)
        self.num_workers = num_workers
        self.cpus_per_worker = cpus_per_worker
        self.gpus_per_worker = self.cluster.num_gpus / num_workers
        self.max_restarts = max_restarts
        self.engine = engine
        self._sync = WEIGHT_SYNC.get(weight_sync)(self)
        self.restarts = 0
        self.last_sync_s = 0.0
        self.last_overhead_s = 0.0
        bundle: dict[str, float] = {"CPU": cpus_per_worker}
        if self.gpus_per_worker > 0:
            bundle["GPU"] = self.gpus_per_worker
        self._group = reserve([dict(bundle)] * num_workers, timeout_s=self.cluster.connect_timeout_s, name="rollout")
        config = _plain_config(model)
        self._config_ref = self.ray.put(config)
        self._tokenizer_ref = self.ray.put(tokenizer)
        self._version = 0
        self._weights_ref = self.ray.put(plain_weights(model))
        self._actor_class = self.ray.remote(RolloutWorker)
        self._actors: list[Any] = [self._spawn(i) for i in range(num_workers)]
        self._wait_ready(range(num_workers))

    # -- workers -------------------------------------------------------------------------------------
    def _spawn(self, index: int) -> Any:
        return self._actor_class.options(
            num_cpus=self.cpus_per_worker,
            num_gpus=self.gpus_per_worker,
            max_concurrency=2,  # progress() answers while collect() runs
            scheduling_strategy=scheduling(self._group, index),
            runtime_env=runtime_env() or None,
        ).remote(
            index,
            self._config_ref,
            self._weights_ref,
            self._tokenizer_ref,
            max(1, int(self.cpus_per_worker)),
            "cuda" if self.gpus_per_worker > 0 else "cpu",
            self.engine,
            self.gpus_per_worker,
        )

    def _wait_ready(self, indices: Sequence[int]) -> None:
        # A worker's start (imports, model replica, env caches) is real work, slow on a loaded machine: it gets
        # the remote-call deadline, not the connect one (its resources were already reserved in time).
        refs = [self._actors[i].pid.remote() for i in indices]
        try:
            self.ray.get(refs, timeout=self.cluster.call_timeout_s)
        except self.ray.exceptions.GetTimeoutError:
            raise DistributedError(
                f"rollout workers {list(indices)} did not start within {self.cluster.call_timeout_s:g} s. "
                f"Fix: read their logs in {ray_logs_dir()}, check `ray status`, or raise --ray-timeout-s."
            ) from None

    def restart(self, index: int, reason: str) -> None:
        """Replaces worker ``index`` (logged and counted); the new one starts from the last synced weights."""
        self.restarts += 1
        logger.warning("rollout worker %d died (%s); restarting it (restart %d)", index, reason, self.restarts)
        self._sync.before_restart()
        self.ray.kill(self._actors[index], no_restart=True)
        self._actors[index] = self._spawn(index)
        self._wait_ready([index])

    def pids(self) -> list[int]:
        """Process ids of the workers."""
        return list(self.get([a.pid.remote() for a in self._actors], "pid"))

    def actor(self, index: int) -> Any:
        """The handle of worker ``index`` (tests kill it)."""
        return self._actors[index]

    @property
    def spawn_weights(self) -> Any:
        """The object-store reference of the weights a new worker starts from."""
        return self._weights_ref

    def set_spawn_weights(self, ref: Any) -> None:
        """Sets :attr:`spawn_weights` (the weight-sync route does, at each sync or restart)."""
        self._weights_ref = ref

    def get(self, refs: Any, what: str) -> Any:
        """``ray.get`` with the remote-call deadline; past it, a :class:`DistributedError` that says what to do."""
        try:
            return self.ray.get(refs, timeout=self.cluster.call_timeout_s)
        except self.ray.exceptions.GetTimeoutError:
            raise DistributedError(
                f"rollout workers did not answer {what} within {self.cluster.call_timeout_s:g} s. "
                f"Fix: raise --ray-timeout-s, or look at the worker logs under {ray_logs_dir()}."
            ) from None

    # -- weights -------------------------------------------------------------------------------------
    def sync_weights(self, model: Any) -> None:
        """Every worker's replica and engine take ``model``'s weights, by the ``--weight-sync`` route."""
        start = time.perf_counter()
        self._version += 1
        self._sync.push(model, self._version)
        self.last_sync_s = time.perf_counter() - start

    def worker_weights(self, index: int) -> dict[str, Any]:
        """Worker ``index``'s replica weights (tests)."""
        return dict(self.get(self._actors[index].weights.remote(), "weights"))

    # -- rollouts ------------------------------------------------------------------------------------
    def collect(
        self, key: str, cfg: RolloutConfig, seeds: Sequence[int], group_size: int, sampling: SamplingParams | None
    ) -> tuple[RolloutBatch, list[WorkerResult]]:
        """Rolls out ``group_size`` envs per seed over the workers; whole groups only, in single-process order."""
        ray = self.ray
        start = time.perf_counter()
        jobs = [_Job(w, first, tuple(int(s) for s in seeds[first : first + n])) for w, (first, n) in
                enumerate(split_groups(len(seeds), self.num_workers))]  # fmt: skip
        pending: dict[Any, tuple[_Job, float]] = {}
        attempts = dict.fromkeys(range(len(jobs)), 0)

        def submit(job: _Job) -> None:
            ref = self._actors[job.worker].collect.remote(key, cfg, job.seeds, job.first_uid, group_size, sampling)
            pending[ref] = (job, time.monotonic() + self.cluster.call_timeout_s)

        for job in jobs:
            submit(job)
        results: dict[int, WorkerResult] = {}
        while pending:
            deadline = min(d for _, d in pending.values())
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                late = [job.worker for job, d in pending.values() if d <= time.monotonic()]
                if late:
                    self._sync.before_restart()
                for w in late:
                    self.ray.kill(self._actors[w], no_restart=True)
                    self._actors[w] = self._spawn(w)
                raise DistributedError(
                    f"rollout workers {late} did not finish their groups within {self.cluster.call_timeout_s:g} s "
                    "(they were restarted). Fix: raise --ray-timeout-s for long episodes, or look at the worker "
                    f"logs under {ray_logs_dir()}."
                )
            job, _ = pending.pop(ready[0])
            try:
                result: WorkerResult = ray.get(ready[0])
            except ray.exceptions.RayActorError as exc:
                attempts[job.worker] += 1
                if attempts[job.worker] > self.max_restarts:
                    raise DistributedError(
                        f"rollout worker {job.worker} died {attempts[job.worker]} times on seeds {list(job.seeds)}. "
                        f"Fix: look at its log under {ray_logs_dir()} (out of memory?)."
                    ) from None
                self.restart(job.worker, f"mid-rollout: {_short(exc)}")
                submit(job)  # re-run its groups from their seeds; nothing of the dead attempt is kept
                continue
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(getattr(exc, "cause", None), AgentGymError) else None
                if cause is not None:
                    raise cause from None
                raise
            _check_whole_groups(result.batch, job, group_size)
            results[job.worker] = result
        parts = [results[job.worker] for job in jobs]
        batch = merge_batches([p.batch for p in parts])
        self.last_overhead_s = time.perf_counter() - start - max((p.busy_s for p in parts), default=0.0)
        return batch, parts

    def close_split(self, key: str) -> None:
        """Closes the envs of one split on every live worker."""
        refs = [a.close.remote(key) for a in self._actors]
        # a dead or stuck worker holds no envs worth closing
        with contextlib.suppress(self.ray.exceptions.RayActorError, self.ray.exceptions.GetTimeoutError):
            self.ray.get(refs, timeout=self.cluster.call_timeout_s)

    def metrics(self) -> dict[str, float]:
        """``ray/*`` metrics: restarts so far, last weight-sync and per-round overhead seconds."""
        return {
            "ray/worker_restarts": float(self.restarts),
            "ray/sync_s": self.last_sync_s,
            "ray/overhead_s": self.last_overhead_s,
        }

    def close(self) -> None:
        """Stops the workers and frees their placement group."""
        self._sync.close()
        if not self.ray.is_initialized():
            return
        for actor in self._actors:
            self.ray.kill(actor, no_restart=True)
        self._actors = []
        release(self._group)
        self._group = None


def _plain_config(model: Any) -> Any:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.config


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else exc.__class__.__name__


def _check_whole_groups(batch: RolloutBatch, job: _Job, group_size: int) -> None:
    """Every group of the slice is complete: G trajectories, and each trajectory's samples are all there."""
    expected = list(range(job.first_uid * group_size, (job.first_uid + len(job.seeds)) * group_size))
    if [t.traj_uid for t in batch.trajectories] != expected:
        raise DistributedError(f"rollout worker {job.worker} returned trajectories of other groups: a runner bug.")
    counts: dict[int, int] = {}
    for s in batch.samples:
        counts[s.traj_uid] = counts.get(s.traj_uid, 0) + 1
    for t in batch.trajectories:
        if counts.get(t.traj_uid, 0) != t.length:
            raise DistributedError(f"rollout worker {job.worker} returned a partial trajectory {t.traj_uid}.")


def merge_batches(parts: Sequence[RolloutBatch]) -> RolloutBatch:
    """One batch in the single-process order: samples by (turn, trajectory), trajectories by id."""
    samples = sorted((s for p in parts for s in p.samples), key=lambda s: (s.step, s.traj_uid))
    trajectories = sorted((t for p in parts for t in p.trajectories), key=lambda t: t.traj_uid)
    return RolloutBatch(tuple(samples), tuple(trajectories))


class RayGroupRollout:
    """The :class:`~agentgym_seal.rollout.GroupRollout` interface, rolled out by a :class:`RolloutPool`.

    Args:
        pool: The workers.
        key: Name of this rollout's envs on the workers (``train``, ``valid_seen``...).
        cfg: The rollout configuration (envs are made on the workers from it).
        num_envs: The most envs one call may use (B x G), as for GroupRollout.
    """

    def __init__(self, pool: RolloutPool, key: str, cfg: RolloutConfig, num_envs: int) -> None:
        self.pool = pool
        self.key = key
        self.cfg = cfg
        self.num_envs = num_envs
        self.timing: dict[str, float] = dict.fromkeys(_PHASES, 0.0)
        """Seconds per phase, summed over calls and over workers (worker time, not wall time)."""
        self.generated_tokens = 0
        self.truncated_prompts = 0

    def collect(
        self, seeds: Sequence[int], *, group_size: int | None = None, sampling: SamplingParams | None = None
    ) -> RolloutBatch:
        """Rolls out ``group_size`` (default G) envs per seed on the workers (see :meth:`RolloutPool.collect`)."""
        g = self.cfg.group_size if group_size is None else group_size
        if len(seeds) * g > self.num_envs:
            raise ConfigError(
                f"{len(seeds) * g} envs needed ({len(seeds)} seeds x {g}), only {self.num_envs} were made."
            )
        batch, parts = self.pool.collect(self.key, self.cfg, seeds, g, sampling)
        for part in parts:
            for phase, seconds in part.timing.items():
                self.timing[phase] = self.timing.get(phase, 0.0) + seconds
            self.generated_tokens += part.generated_tokens
            self.truncated_prompts += part.truncated_prompts
        return batch

    def sync_weights(self, model: Any) -> None:
        """Pushes ``model``'s weights to every worker (shared by the pool's other rollouts)."""
        self.pool.sync_weights(model)

    def metrics(self) -> dict[str, float]:
        """The pool's ``ray/*`` metrics."""
        return self.pool.metrics()

    def close(self) -> None:
        """Closes this rollout's envs on the workers (the pool stays up)."""
        self.pool.close_split(self.key)
