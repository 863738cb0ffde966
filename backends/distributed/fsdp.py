"""FSDP2 learner ranks (``--learner-sharding fsdp2``): the policy trains sharded with ``fully_shard``.

Every rank of the learner group trains a sharded copy of the policy (each decoder layer and the root wrapped
with :func:`torch.distributed.fsdp.fully_shard` over the whole group), so parameters, gradients and AdamW's
moments are split W ways; the gradients are reduce-scattered in each backward (summed, as the ``ddp`` group
sums them). The trainer's policy on rank 0 stays a plain module: after each update every rank takes part in
gathering the new weights, which rank 0 copies into it, so rollouts, evaluation, checkpoints and the weight
sync to the rollout workers read the same module as without sharding. The SEAL head is small and stays
replicated (its gradients are all-reduced, as under ``ddp``).

The sharded copy is (re)built from rank 0's policy at the first update and after a warm-up or a resume
(:meth:`ShardedLearner.mark_weights_changed`), which also hands rank 0's learner state to every rank.

Runs wherever torch.distributed does: gloo on CPUs (tested against one process), NCCL when the policy is on a
GPU. Collectives run inside forward and backward, so every rank runs the same number of micro-batches (a rank
with fewer runs zero-weighted ones) and nothing may run the sharded copy on rank 0 alone: the training monitor
(``--no-monitor`` is required) has no place here.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.distributed as dist

from agentgym_seal.errors import ConfigError
from agentgym_seal.rollout.batch import RolloutBatch

from ..batching import collate
from ..learner import Learner
from .learner_group import DataParallelLearner, _local


def shard_policy(model: Any) -> Any:
    """``fully_shard`` on each of ``model``'s no-split blocks (its decoder layers), then on the root; in place."""
    from torch.distributed.fsdp import FSDPModule, fully_shard

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    blocks = set(getattr(base, "_no_split_modules", None) or ())
    for module in list(model.modules())[1:]:
        if type(module).__name__ in blocks:
            fully_shard(module)
    # The learner runs the decoder and the output head one after the other (not model.forward): the rest of
    # their weights (embeddings, final norm, head; tied or not) form one unit that either call gathers.
    decoder, head = base.get_decoder(), base.get_output_embeddings()
    if decoder is not None and head is not None:
        fully_shard([decoder, head])
    fully_shard(model)
    for module in model.modules():  # sum the ranks' gradients, as the ddp group does, with plain SUM collectives
        if isinstance(module, FSDPModule):  # (gloo has no pre-multiplied sum)
            module.set_gradient_divide_factor(1.0)
            module.set_force_sum_reduction_for_comms(True)
    return model


class ShardedLearner(DataParallelLearner):
    """One rank of an FSDP2 learner group (see the module doc); same arguments as :class:`DataParallelLearner`."""

    sharding = "fsdp2"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = self.model
        """The plain policy (rank 0: the trainer's); it holds the weights of the last update."""
        self._full_optimizer: dict[str, Any] = {}
        """The whole optimizer state by parameter name (rank 0, gathered after each update; for checkpoints)."""
        self._pad_sample: Any = None
        self._micro_count = 0
        self._owned = 0

    # -- sync ----------------------------------------------------------------------------------------
    def _broadcast_state(self) -> None:
        """Rank 0's policy, head, KL reference and learner state to every rank; then a fresh sharded copy, optimizer."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        self._broadcast_weights(self.policy)
        state: list[Any] = [self.state_dict() if self.rank == 0 else None]
        dist.broadcast_object_list(state, src=0)
        self.model = shard_policy(copy.deepcopy(self.policy))
        params = list(self.model.parameters()) + (list(self.head.parameters()) if self.head is not None else [])
        self.optimizer = torch.optim.AdamW(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        if state[0]["optimizer"]:
            set_optimizer_state_dict(
                self._trained(), self.optimizer, state[0]["optimizer"], options=StateDictOptions(full_state_dict=True)
            )
            for group in self.optimizer.param_groups:
                group["lr"], group["weight_decay"] = self.cfg.lr, self.cfg.weight_decay
        if self.head is not None and state[0]["head"] is not None:
            self.head.load_state_dict(state[0]["head"])
        self.skipped_steps = int(state[0]["skipped_steps"])
        self._shuffle.set_state(state[0]["shuffle_rng"])
        self._full_optimizer = state[0]["optimizer"] if self.rank == 0 else {}
        self._in_sync = True

    def _trained(self) -> torch.nn.Module:
        """The sharded policy and the head under one root (the names of the optimizer's state dict)."""
        modules: dict[str, torch.nn.Module] = {"policy": self.model}
        if self.head is not None:
            modules["head"] = self.head
        return torch.nn.ModuleDict(modules)

    def _gather(self) -> None:
        """Every rank: the full weights into rank 0's plain policy, the full optimizer state to rank 0."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict
        from torch.distributed.tensor import DTensor

        target = dict(self.policy.named_parameters())
        with torch.no_grad():
            for name, param in self.model.named_parameters():
                full = param.full_tensor() if isinstance(param, DTensor) else param
                if self.rank == 0:
                    target[name].copy_(full)
        full_state = get_optimizer_state_dict(
            self._trained(), self.optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True)
        )
        self._full_optimizer = full_state if self.rank == 0 else {}

    # -- update --------------------------------------------------------------------------------------
    def update(self, batch: RolloutBatch, advantages: torch.Tensor | None = None) -> dict[str, float]:
        """One update of every rank; afterwards rank 0's plain policy holds the new weights."""
        if self.observer is not None:
            raise ConfigError(
                "--learner-sharding fsdp2 cannot run the training monitor (it runs the policy on rank 0 alone, "
                "while a sharded forward needs every rank). Fix: add --no-monitor, or use --learner-sharding ddp."
            )
        self._pad_sample = batch.samples[0] if batch.samples else None
        return super().update(batch, advantages)

    def _after_update(self, batch: RolloutBatch) -> None:
        if batch.samples:  # (an empty batch trains nothing)
            self._gather()

    def _owns_micro_batch(self, index: int, count: int) -> bool:
        owned = super()._owns_micro_batch(index, count)
        if index == 0:
            self._micro_count, self._owned = count, 0
        self._owned += owned
        return owned

    def _gather_micro_metrics(self, done: list[tuple[int, dict[str, float]]]) -> list[dict[str, float]]:
        per_rank = -(-self._micro_count // self.world_size)
        for _ in range(per_rank - self._owned):  # the others run more micro-batches: match their collectives
            self._zero_micro_step()
        return super()._gather_micro_metrics(done)

    def _zero_micro_step(self) -> None:
        """A forward and backward whose gradient is zero (every parameter's reduce-scatter still runs)."""
        tb = collate([self._pad_sample], self.pad_id, self.device)
        token_logp, _, states = self._response_forward(tb)
        loss = token_logp.sum() * 0.0
        if self.head is not None:
            loss = loss + self.head(states[tb.token_mask]).sum() * 0.0
        loss.backward()  # type: ignore[no-untyped-call]

    def _optimizer_step(self) -> float:
        """Head gradients all-reduced; one global grad norm over the shards; clip; step (as one process would)."""
        from torch.distributed.tensor import DTensor

        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.requires_grad]
        sharded = [p for p in params if isinstance(p, DTensor)]
        replicated = [p for p in params if not isinstance(p, DTensor)]
        for p in replicated:  # the SEAL head: every rank ran its own micro-batches through it
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        local = sum(
            (_local(p.grad).float().pow(2).sum() for p in sharded if p.grad is not None), torch.zeros(())
        )  # this rank's shards
        dist.all_reduce(local, op=dist.ReduceOp.SUM)
        square = float(local) + sum(float(p.grad.float().pow(2).sum()) for p in replicated if p.grad is not None)
        norm = math.sqrt(square)
        if not math.isfinite(norm):
            self.skipped_steps += 1  # SPEC 1.3, the same decision on every rank (the norm is global)
            self.optimizer.zero_grad(set_to_none=True)
            return float("nan")
        scale = min(1.0, self.cfg.grad_clip / (norm + 1e-6))
        with torch.no_grad():
            for p in params:
                if p.grad is not None and scale < 1.0:
                    p.grad.mul_(scale)
        self.optimizer.step()
        return norm

    # -- checkpointing -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """As :meth:`Learner.state_dict`, with the whole optimizer state by parameter name (rank 0)."""
        state = Learner.state_dict(self)
        state["optimizer"] = self._full_optimizer
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Keeps ``state`` for the next update, which re-shards the policy and hands the state to every rank."""
        optimizer = state.get("optimizer") or {}
        groups = optimizer.get("param_groups") or [{}]
        if groups[0].get("params") and isinstance(groups[0]["params"][0], int):  # torch.optim's format, not by name
            raise ConfigError(
                "this checkpoint's optimizer state comes from an unsharded learner (--learner-sharding ddp or one "
                "process). Fix: resume with the learner sharding the run was started with."
            )
        if self.head is not None and state.get("head") is not None:
            self.head.load_state_dict(state["head"])
        self.skipped_steps = int(state["skipped_steps"])
        self._shuffle.set_state(state["shuffle_rng"])
        self._full_optimizer = optimizer
        self._in_sync = False
