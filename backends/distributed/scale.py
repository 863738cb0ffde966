"""The trainer's view of scale-out: which learner class, which rollout, when to start and stop Ray."""

from __future__ import annotations

import functools
from typing import Any

from agentgym_seal.rollout import RolloutConfig

from ..learner import Learner
from .cluster import ClusterConfig, check_address
from .learner_group import LEARNER_SHARDING, DataParallelLearner, LearnerPeers, start_learner_group
from .rollout import RayGroupRollout, RolloutPool


class ScaleOut:
    """Starts the Ray rollout pool (``--num-workers``) and learner group (``--num-learners``) of a run.

    With ``--num-workers 0 --num-learners 1`` it starts nothing and the trainer runs in one process.
    ``--learner-sharding`` picks the learner ranks' class, ``--engine`` the workers' engine, ``--weight-sync``
    the route of the weights to the workers.

    Args:
        cfg: The :class:`~agentgym_seal.backends.config.TrainConfig`.
    """

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.cluster = ClusterConfig(address=cfg.ray_address, num_gpus=cfg.num_gpus, call_timeout_s=cfg.ray_timeout_s)
        if self.enabled and cfg.ray_address is not None:  # fail at start, not after the warm-up
            check_address(cfg.ray_address, self.cluster.connect_timeout_s)
        self.pool: RolloutPool | None = None
        self.peers: LearnerPeers | None = None

    @property
    def enabled(self) -> bool:
        """Whether the run uses Ray at all."""
        return bool(self.cfg.num_workers > 0 or self.cfg.num_learners > 1)

    def learner_class(self) -> Any:
        """:class:`Learner`, or rank 0 of a learner group (``ddp`` or ``fsdp2``)."""
        if self.cfg.num_learners == 1:
            return Learner
        rank_class = LEARNER_SHARDING.get(self.cfg.learner_sharding)
        return functools.partial(rank_class, rank=0, world_size=self.cfg.num_learners)

    def start(self, model: Any, tokenizer: Any, learner: Learner) -> None:
        """Starts the learner group's remote ranks and the rollout workers (from ``model``'s weights)."""
        if isinstance(learner, DataParallelLearner) and self.peers is None:
            self.peers = start_learner_group(learner, cluster=self.cluster, lora=self.cfg.lora)
        if self.cfg.num_workers > 0 and self.pool is None:
            self.pool = RolloutPool(
                model, tokenizer, num_workers=self.cfg.num_workers, cluster=self.cluster, engine=self.cfg.engine,
                weight_sync=self.cfg.weight_sync,
            )  # fmt: skip

    def rollout(self, split: str, cfg: RolloutConfig, num_envs: int) -> RayGroupRollout | None:
        """A Ray rollout of ``split`` when workers run (else ``None``: roll out in this process)."""
        return RayGroupRollout(self.pool, split, cfg, num_envs) if self.pool is not None else None

    def weights_changed(self, model: Any, learner: Learner) -> None:
        """After a warm-up or a resume: workers and learner ranks take rank 0's weights."""
        if self.pool is not None:
            self.pool.sync_weights(model)
        if isinstance(learner, DataParallelLearner):
            learner.mark_weights_changed()

    def close(self) -> None:
        """Stops the workers and the remote learner ranks."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        if self.peers is not None:
            self.peers.close()
            self.peers = None
