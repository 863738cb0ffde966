"""A data-parallel learner group: the driver's learner is rank 0, the other ranks are Ray actors.

Every rank holds the same model and the same rollout batch; the micro-batches of each mini-batch are split
between the ranks in contiguous blocks, the gradients are summed over a torch.distributed group (gloo on
CPUs) before each optimizer step, so every rank takes the same step as one process on the whole batch
(DDP's synchronisation, done at the optimizer step rather than in backward hooks, because the training
monitor runs extra forward/backward passes on rank 0 alone). Metrics of every micro-batch are gathered in
order, so rank 0 logs what a single process logs.

``--learner-sharding`` picks the rank class from :data:`LEARNER_SHARDING`: ``ddp`` (this module) or ``fsdp2``
(:mod:`.fsdp`: the policy trains sharded with ``fully_shard``). The group's backend follows the policy's
device: gloo on CPUs, NCCL on GPUs (:data:`COLLECTIVE_BACKENDS`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from agentgym_seal.registry import Registry
from agentgym_seal.rollout.batch import RolloutBatch

from ..learner import Learner
from .cluster import (
    COLLECTIVE_BACKENDS,
    ClusterConfig,
    DistributedError,
    connect,
    free_port,
    ray_logs_dir,
    release,
    reserve,
    runtime_env,
    scheduling,
)
from .weights import plain_weights

logger = logging.getLogger(__name__)


#: torch.distributed backend by the device type the tensors live on.
class DataParallelLearner(Learner):
    """A :class:`~agentgym_seal.backends.learner.Learner` that is one rank of a data-parallel group.

    Args:
        *args: As for :class:`Learner`.
        rank: This process's rank.
        world_size: Ranks in the group.
        **kwargs: As for :class:`Learner`.
    """

    sharding = "ddp"
    """The ``--learner-sharding`` name of this rank class (remote ranks are built from it)."""

    def __init__(self, *args: Any, rank: int, world_size: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rank = rank
        self.world_size = world_size
        self.peers: LearnerPeers | None = None
        """Rank 0 only: the remote ranks it drives."""
        self._in_sync = False

    # -- process group -------------------------------------------------------------------------------
    def join(self, init_method: str, timeout_s: float) -> None:
        """Joins the process group, gloo or NCCL by the policy's device (blocks until every rank has joined)."""
        device = next(self.model.parameters()).device.type
        dist.init_process_group(
            COLLECTIVE_BACKENDS[device], init_method=init_method, rank=self.rank, world_size=self.world_size,
            timeout=timedelta(seconds=timeout_s),
        )  # fmt: skip

    def leave(self) -> None:
        """Leaves the process group."""
        if dist.is_initialized():
            dist.destroy_process_group()

    # -- the Learner hooks ---------------------------------------------------------------------------
    def _owns_micro_batch(self, index: int, count: int) -> bool:
        per_rank = -(-count // self.world_size)  # contiguous blocks: rank r runs [r * per_rank, (r+1) * per_rank)
        return index // per_rank == self.rank

    def _gather_micro_metrics(self, done: list[tuple[int, dict[str, float]]]) -> list[dict[str, float]]:
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, done)
        every = sorted((item for part in gathered for item in part), key=lambda item: item[0])
        return [metrics for _, metrics in every]

    def _optimizer_step(self) -> float:
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.requires_grad]
        has_grad = torch.tensor([p.grad is not None for p in params], dtype=torch.uint8)  # (P,)
        dist.all_reduce(has_grad, op=dist.ReduceOp.MAX)
        flat = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        buffer = torch.cat([g.reshape(-1) for g in flat])  # one all-reduce for every gradient
        dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
        offset = 0
        for p, used in zip(params, has_grad.tolist(), strict=True):
            n = p.numel()
            p.grad = buffer[offset : offset + n].view_as(p).clone() if used else None
            offset += n
        return super()._optimizer_step()

    # -- update --------------------------------------------------------------------------------------
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict`; the next update first copies rank 0's weights and state to every rank."""
        super().load_state_dict(state)
        self._in_sync = False

    def mark_weights_changed(self) -> None:
        """Rank 0's weights changed outside an update (warm-up, resume): the next update re-broadcasts them."""
        self._in_sync = False

    def update(self, batch: RolloutBatch, advantages: torch.Tensor | None = None) -> dict[str, float]:
        """One update of every rank on ``batch`` (rank 0 starts the remote ranks first)."""
        broadcast = not self._in_sync
        pending = self.peers.start_update(batch, advantages, broadcast) if self.peers is not None else None
        try:
            if broadcast:
                self._broadcast_state()
            result = super().update(batch, advantages)
            self._after_update(batch)
        except RuntimeError as exc:  # a gloo collective timed out or a peer vanished
            if not _is_comm_error(exc):
                raise
            raise DistributedError(
                f"learner rank {self.rank}: a collective failed ({str(exc).splitlines()[0][:200]}). A learner "
                f"rank probably died. Fix: look at the Ray logs under {ray_logs_dir()}."
            ) from None
        if pending is not None and self.peers is not None:
            self.peers.finish(pending)
        return result

    def _after_update(self, batch: RolloutBatch) -> None:
        """Every rank, after its update and before rank 0 waits for the others (fsdp2 gathers weights here)."""

    def remote_update(self, batch: RolloutBatch, advantages: torch.Tensor | None, broadcast: bool) -> None:
        """A remote rank's side of :meth:`update`."""
        self._in_sync = not broadcast
        self.update(batch, advantages)

    def _broadcast_weights(self, policy: Any) -> None:
        """Rank 0's ``policy``, SEAL head and KL reference weights to every rank.

        The reference is reset after the warm-up and on a resume, when the ranks' copies are stale too.
        """
        with torch.no_grad():
            for module in (policy, self.head, self.ref_model):
                for tensor in module.state_dict().values() if module is not None else ():
                    dist.broadcast(tensor, src=0)

    def _broadcast_state(self) -> None:
        """Rank 0's weights, SEAL head, KL reference and learner state (optimizer moments, shuffle RNG) to all ranks."""
        self._broadcast_weights(self.model)
        state: list[Any] = [self.state_dict() if self.rank == 0 else None]
        dist.broadcast_object_list(state, src=0)
        if self.rank != 0:
            Learner.load_state_dict(self, state[0])
        self._in_sync = True


class LearnerRank:
    """A remote rank (a Ray actor): its own copy of the policy and a :class:`DataParallelLearner`.

    Args:
        rank: Its rank (>= 1).
        world_size: Ranks in the group.
        model_config: The policy's transformers config.
        weights: The policy's weights (plain names).
        lora: LoRA settings when the policy is LoRA-wrapped (``None``: plain).
        learner_kwargs: Keyword arguments of :class:`Learner` (configs; ``ref_weights`` for a reference policy).
        num_threads: torch threads.
        sharding: The rank class's name in :data:`LEARNER_SHARDING`.
        device: ``cpu`` or ``cuda`` (the rank's GPU, when it holds one).
    """

    def __init__(
        self,
        rank: int,
        world_size: int,
        model_config: Any,
        weights: dict[str, Any],
        lora: Any,
        learner_kwargs: dict[str, Any],
        num_threads: int,
        sharding: str = "ddp",
        device: str = "cpu",
    ) -> None:
        from agentgym_seal.models.lora import apply_lora, model_from_weights

        torch.set_num_threads(num_threads)
        model = model_from_weights(model_config, weights).to(device)
        if lora is not None:
            model = apply_lora(model, lora)
        kwargs = dict(learner_kwargs)
        ref_weights = kwargs.pop("ref_weights", None)
        if ref_weights is not None:
            kwargs["ref_model"] = model_from_weights(model_config, ref_weights).to(device).eval().requires_grad_(False)
        pad_id = kwargs.pop("pad_id")
        learner_class = LEARNER_SHARDING.get(sharding)
        self.learner: DataParallelLearner = learner_class(model, pad_id, rank=rank, world_size=world_size, **kwargs)

    def join(self, init_method: str, timeout_s: float) -> int:
        """Joins the process group; returns the rank."""
        self.learner.join(init_method, timeout_s)
        return self.learner.rank

    def update(self, batch: RolloutBatch, advantages: torch.Tensor | None, broadcast: bool) -> None:
        """Takes part in one update."""
        self.learner.remote_update(batch, advantages, broadcast)

    def parameters(self) -> list[torch.Tensor]:
        """The rank's parameters (tests compare them with rank 0's); under fsdp2 this rank's shards."""
        return [_local(p).detach().clone() for p in self.learner.model.parameters()]

    def leave(self) -> None:
        """Leaves the process group."""
        self.learner.leave()


class LearnerPeers:
    """Rank 0's handle on the remote ranks: starts their side of each update, waits with a deadline."""

    def __init__(
        self, ray: Any, actors: Sequence[Any], group: Any, timeout_s: float, local: DataParallelLearner
    ) -> None:
        self.local = local
        self.ray = ray
        self.actors = list(actors)
        self.group = group
        self.timeout_s = timeout_s

    def start_update(self, batch: RolloutBatch, advantages: torch.Tensor | None, broadcast: bool) -> list[Any]:
        """Sends the batch once through the object store and starts every remote rank's update."""
        batch_ref = self.ray.put(batch)
        return [a.update.remote(batch_ref, advantages, broadcast) for a in self.actors]

    def finish(self, refs: list[Any]) -> None:
        """Waits for the remote ranks' updates."""
        try:
            self.ray.get(refs, timeout=self.timeout_s)
        except self.ray.exceptions.GetTimeoutError:
            raise DistributedError(f"a learner rank did not finish its update within {self.timeout_s:g} s.") from None
        except self.ray.exceptions.RayActorError as exc:
            raise DistributedError(f"a learner rank died during an update: {str(exc).splitlines()[0][:200]}") from None

    def parameters(self, index: int) -> list[torch.Tensor]:
        """Parameters of remote rank ``index + 1``."""
        return list(self.ray.get(self.actors[index].parameters.remote(), timeout=self.timeout_s))

    def close(self) -> None:
        """Stops the remote ranks and frees their resources."""
        self.local.leave()
        self.local.peers = None
        if not self.ray.is_initialized():
            return
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)
        self.actors = []
        release(self.group)


def start_learner_group(
    learner: DataParallelLearner,
    *,
    cluster: ClusterConfig,
    lora: Any = None,
    cpus_per_rank: float = 1.0,
    gpus_per_rank: float = 0.0,
) -> LearnerPeers:
    """Starts ranks ``1..W-1`` of ``learner``'s group as Ray actors and joins rank 0 (``learner``) to it.

    Args:
        learner: Rank 0, in this process.
        cluster: Where to run and the deadlines.
        lora: The LoRA settings of the policy (``None``: plain).
        cpus_per_rank: CPUs reserved per remote rank.
        gpus_per_rank: GPUs reserved per remote rank.
    """
    ray = connect(cluster)
    learner_kwargs: dict[str, Any] = {
        "pad_id": learner.pad_id, "cfg": learner.cfg, "advantage": learner.advantage_cfg,
        "policy_loss": learner.policy_loss_cfg, "seal": learner.seal_cfg,
        "ref_weights": plain_weights(learner.ref_model) if learner.ref_model is not None else None,
    }  # fmt: skip
    remote = learner.world_size - 1
    device = next(learner.model.parameters()).device.type
    gpus_per_rank = gpus_per_rank or float(device == "cuda")  # a rank on a GPU policy holds one GPU
    bundle = {"CPU": cpus_per_rank, **({"GPU": gpus_per_rank} if gpus_per_rank else {})}
    group = reserve([dict(bundle)] * remote, timeout_s=cluster.connect_timeout_s, name="learner")
    actor_class = ray.remote(LearnerRank)
    config = ray.put(learner.model.get_base_model().config if lora is not None else learner.model.config)
    weights = ray.put(plain_weights(learner.model) if lora is None else _base_weights(learner.model))
    actors = [
        actor_class.options(
            num_cpus=cpus_per_rank, num_gpus=gpus_per_rank, scheduling_strategy=scheduling(group, i),
            runtime_env=runtime_env() or None,
        ).remote(i + 1, learner.world_size, config, weights, lora, learner_kwargs, max(1, int(cpus_per_rank)),
                 learner.sharding, device)
        for i in range(remote)
    ]  # fmt: skip
    host = ray.util.get_node_ip_address()
    init_method = f"tcp://{host}:{free_port(host)}"
    joins = [a.join.remote(init_method, cluster.call_timeout_s) for a in actors]
    peers = LearnerPeers(ray, actors, group, cluster.call_timeout_s, learner)
    try:
        learner.join(init_method, cluster.connect_timeout_s + cluster.call_timeout_s)
        ray.get(joins, timeout=cluster.connect_timeout_s)
    except Exception as exc:
        peers.close()
        raise DistributedError(f"the learner group could not form ({str(exc).splitlines()[0][:200]}).") from None
    learner.peers = peers
    return peers


#: Learner-group rank classes by ``--learner-sharding`` name.
LEARNER_SHARDING: Registry[Any] = Registry("learner sharding")
LEARNER_SHARDING.register("ddp", DataParallelLearner)
LEARNER_SHARDING.register("fsdp2", "agentgym_seal.backends.distributed.fsdp:ShardedLearner")


def _local(tensor: Any) -> Any:
    """A DTensor's local shard, or the tensor itself."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


def _base_weights(model: Any) -> dict[str, Any]:
    from agentgym_seal.models.lora import plain_state_dict

    return plain_state_dict(model, merged=False)


def _is_comm_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, dist.DistBackendError) or any(w in text for w in ("gloo", "connection", "timed out"))
