"""Weight sync learner -> rollout workers (``--weight-sync``): through the Ray object store or a collective.

``object-store`` (:class:`ObjectStoreSync`): the driver puts the state dict once, every worker fetches it.
``collective`` (:class:`CollectiveSync`): the driver (rank 0) and the workers (ranks 1..N) form a
torch.distributed group of their own and rank 0 broadcasts each tensor: NCCL between GPUs (the workers hold
GPUs and the driver sees one), gloo otherwise. The group is a standalone one (a ``TCPStore`` and a backend
object), so the driver can also be rank 0 of the learner group's default process group. A worker that dies
breaks the group: it is restarted (from the current weights, through the object store) and the group is formed
again before the next broadcast.

Either way a worker loads the weights into its model replica and calls its engine's ``sync_weights``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agentgym_seal.models.lora import plain_state_dict
from agentgym_seal.registry import Registry

from .cluster import COLLECTIVE_BACKENDS, DistributedError, free_port, ray_logs_dir


def plain_weights(model: Any) -> dict[str, Any]:
    """``model``'s state dict on the CPU under plain names (adapters merged), ready for ``ray.put``."""
    return plain_state_dict(model, merged=True)


def _gloo(store: Any, rank: int, size: int, timeout: timedelta) -> Any:
    import torch.distributed as dist

    return dist.ProcessGroupGloo(store, rank, size, timeout)


def _nccl(store: Any, rank: int, size: int, timeout: timedelta) -> Any:
    import torch.distributed as dist

    options = dist.ProcessGroupNCCL.Options()
    options._timeout = timeout
    return dist.ProcessGroupNCCL(store, rank, size, options)


#: Standalone process-group constructors by backend name.
GROUP_BACKENDS: dict[str, Any] = {"gloo": _gloo, "nccl": _nccl}


class WeightGroup:
    """One member of a standalone broadcast group (rank 0: the driver, which hosts the ``TCPStore``).

    Args:
        backend: ``gloo`` or ``nccl``.
        host: The driver's address.
        port: The store's port on the driver.
        rank: This member's rank.
        world_size: Members (1 + workers).
        timeout_s: Deadline of forming the group and of every broadcast.
    """

    def __init__(self, backend: str, host: str, port: int, rank: int, world_size: int, timeout_s: float) -> None:
        import torch.distributed as dist

        timeout = timedelta(seconds=timeout_s)
        self.rank = rank
        self.device = {"gloo": "cpu", "nccl": "cuda"}[backend]
        self.store = dist.TCPStore(host, port, world_size, rank == 0, timeout)  # type: ignore[attr-defined]
        self.group = GROUP_BACKENDS[backend](self.store, rank, world_size, timeout)

    def broadcast(self, tensor: Any) -> None:
        """Broadcasts ``tensor`` (on :attr:`device`) from rank 0, in place on the others."""
        import torch.distributed as dist

        options = dist.BroadcastOptions()
        options.rootRank = 0
        self.group.broadcast([tensor], options).wait()

    def receive_into(self, state: dict[str, Any], meta: list[tuple[str, tuple[int, ...], str]]) -> None:
        """Receives every tensor of ``meta`` (name, shape, dtype), in order, into ``state``'s tensors."""
        import torch

        missing = [name for name, _, _ in meta if name not in state]
        if missing:
            raise DistributedError(f"weight sync: the worker's model has no {missing[:3]}: a runner bug.")
        for name, shape, dtype in meta:
            buffer = torch.empty(shape, dtype=getattr(torch, dtype), device=self.device)
            self.broadcast(buffer)
            with torch.no_grad():
                state[name].copy_(buffer)


def _meta(weights: dict[str, Any]) -> list[tuple[str, tuple[int, ...], str]]:
    return [(name, tuple(t.shape), str(t.dtype).removeprefix("torch.")) for name, t in weights.items()]


class ObjectStoreSync:
    """``--weight-sync object-store``: the state dict is put once; every worker fetches and loads it."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def push(self, model: Any, version: int) -> None:
        """Syncs every worker to ``model`` (a worker that dies is restarted from these weights)."""
        pool = self.pool
        pool.set_spawn_weights(pool.ray.put(plain_weights(model)))
        pending = {i: pool.actor(i).load_weights.remote(pool.spawn_weights, version) for i in range(pool.num_workers)}
        for i, ref in pending.items():
            try:
                pool.get(ref, "a weight sync")
            except pool.ray.exceptions.RayActorError as exc:
                pool.restart(i, f"during a weight sync: {_short(exc)}")

    def before_restart(self) -> None:
        """Nothing to do: the weights a new worker starts from are the last synced ones."""

    def close(self) -> None:
        """Nothing to free."""


class CollectiveSync:
    """``--weight-sync collective``: rank 0 (the driver) broadcasts each tensor to the workers (see the module doc)."""

    def __init__(self, pool: Any) -> None:
        import torch

        self.pool = pool
        on_gpu = pool.gpus_per_worker > 0 and torch.cuda.is_available()
        self.backend = COLLECTIVE_BACKENDS["cuda" if on_gpu else "cpu"]
        self.group: WeightGroup | None = None
        self.model: Any = None
        """The model of the last sync (a restarted worker starts from its weights)."""
        self.formed = 0
        """Times the group was formed (again after a worker restart)."""

    def _form(self) -> None:
        pool, ray = self.pool, self.pool.ray
        self.close()
        host = ray.util.get_node_ip_address()
        port = free_port(host)
        world = pool.num_workers + 1
        timeout = pool.cluster.call_timeout_s
        joins = [
            pool.actor(i).join_weight_group.remote(self.backend, host, port, i + 1, world, timeout)
            for i in range(pool.num_workers)
        ]
        try:
            self.group = WeightGroup(self.backend, host, port, 0, world, timeout)
        except RuntimeError as exc:
            raise DistributedError(
                f"the weight-sync group ({self.backend}, {world} members) did not form: {_short(exc)}. Fix: look at "
                f"the worker logs under {ray_logs_dir()}, or use --weight-sync object-store."
            ) from None
        pool.get(joins, "joining the weight-sync group")
        self.formed += 1

    def _restart_dead(self) -> None:
        """Restarts the workers that died since the last sync (their replacements start from ``self.model``)."""
        pool = self.pool
        pings = [pool.actor(i).pid.remote() for i in range(pool.num_workers)]
        for i, ref in enumerate(pings):
            try:
                pool.get(ref, "a ping")
            except pool.ray.exceptions.RayActorError as exc:
                pool.restart(i, f"before a weight sync: {_short(exc)}")

    def push(self, model: Any, version: int, *, retry: bool = True) -> None:
        """Broadcasts ``model``'s weights to every worker; a dead worker is restarted and the sync redone once."""
        pool = self.pool
        self.model = model
        self._restart_dead()  # a dead member would leave the others waiting for it until the deadline
        if self.group is None:
            self._form()
        assert self.group is not None
        weights = plain_weights(model)
        meta = _meta(weights)
        pending = {i: pool.actor(i).receive_weights.remote(meta, version) for i in range(pool.num_workers)}
        failure = ""
        try:
            for tensor in weights.values():
                self.group.broadcast(tensor.to(self.group.device))
        except RuntimeError as exc:  # a member died (gloo: connection closed) or the deadline passed
            failure = _short(exc)
        dead = []
        for i, ref in pending.items():
            try:
                pool.get(ref, "a weight sync")
            except pool.ray.exceptions.RayActorError as exc:
                dead.append(i)
                failure = failure or _short(exc)
            except pool.ray.exceptions.RayTaskError as exc:  # alive; its end of the group broke with the dead one's
                failure = failure or _short(exc)
        if not failure:
            return
        self.close()
        if not retry:
            raise DistributedError(f"the collective weight sync failed twice ({failure}).")
        for i in dead:
            pool.restart(i, f"during a weight sync: {failure}")
        self.push(model, version, retry=False)

    def before_restart(self) -> None:
        """A worker is replaced: it starts from the last synced weights; the group forms again at the next sync."""
        self.close()
        if self.model is not None:
            self.pool.set_spawn_weights(self.pool.ray.put(plain_weights(self.model)))

    def close(self) -> None:
        """Drops the driver's end of the group (workers drop theirs when they next join)."""
        self.group = None


#: Weight-sync routes by ``--weight-sync`` name.
WEIGHT_SYNC: Registry[Any] = Registry("weight sync route")
WEIGHT_SYNC.register("object-store", ObjectStoreSync)
WEIGHT_SYNC.register("collective", CollectiveSync)


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else exc.__class__.__name__


__all__ = ["GROUP_BACKENDS", "WEIGHT_SYNC", "CollectiveSync", "ObjectStoreSync", "WeightGroup", "plain_weights"]
