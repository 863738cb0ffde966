"""Scale-out on Ray: rollout workers with their own engines, a data-parallel learner group, placement.

Nothing here is imported by ``import agentgym_seal``; ``ray`` is imported when a pool or group starts.
"""

from .cluster import ClusterConfig, DistributedError, check_address, check_gpus, connect
from .learner_group import LEARNER_SHARDING, DataParallelLearner, LearnerPeers, start_learner_group
from .rollout import RayGroupRollout, RolloutPool, RolloutWorker, merge_batches, split_groups
from .scale import ScaleOut
from .weights import WEIGHT_SYNC

__all__ = [
    "LEARNER_SHARDING",
    "WEIGHT_SYNC",
    "ClusterConfig",
    "DataParallelLearner",
    "DistributedError",
    "LearnerPeers",
    "RayGroupRollout",
    "RolloutPool",
    "RolloutWorker",
    "ScaleOut",
    "check_address",
    "check_gpus",
    "connect",
    "merge_batches",
    "split_groups",
    "start_learner_group",
]
