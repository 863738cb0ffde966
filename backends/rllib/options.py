"""The RLlib baseline's own settings, the ``--rllib.*`` flags of ``examples/train_seal.py`` (no Ray needed).

:class:`~agentgym_seal.backends.config.TrainConfig` holds one :class:`RLlibOptions` as ``rllib``, so the CLI
parses (and ``--help`` shows) them in the main env, where Ray with RLlib is not installed; only the runner
(``--backend rllib``, in .venv-rllib) imports Ray.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentgym_seal.errors import ConfigError

from .features import FEATURIZERS


@dataclass(frozen=True)
class RLlibOptions:
    """PPO and wrapper settings of the RLlib baseline (``--rllib.*``; defaults tuned on the CPU default's tiny rooms).

    Attributes:
        featurizer: Text features: ``hashing`` (no model) or ``minilm`` (sentence embeddings; ``searchqa`` extra).
        feature_dim: Size of the hashing features.
        max_actions: K, the action slots (admissible actions beyond K are dropped and counted).
        hidden: Width of the module's MLPs.
        lr: Adam learning rate of PPO.
        entropy_coeff: Entropy bonus over the action slots.
        num_epochs: PPO passes over each iteration's batch.
        minibatch_size: Env steps per PPO minibatch.
        lambda_: GAE lambda.
        num_cpus: CPUs given to a local Ray instance (ignored when Ray is already initialised).
    """

    featurizer: str = "hashing"
    feature_dim: int = 256
    max_actions: int = 32
    hidden: int = 128
    lr: float = 1e-3
    entropy_coeff: float = 0.01
    num_epochs: int = 6
    minibatch_size: int = 64
    lambda_: float = 0.95
    num_cpus: int = 2

    def __post_init__(self) -> None:
        if self.featurizer not in FEATURIZERS:
            raise ConfigError.bad_option("--rllib.featurizer", self.featurizer, FEATURIZERS.names())
        checks = {
            "feature_dim": self.feature_dim >= 8, "max_actions": self.max_actions >= 2, "hidden": self.hidden >= 1,
            "lr": self.lr > 0, "entropy_coeff": self.entropy_coeff >= 0, "num_epochs": self.num_epochs >= 1,
            "minibatch_size": self.minibatch_size >= 1, "lambda_": 0 <= self.lambda_ <= 1,
            "num_cpus": self.num_cpus >= 1,
        }  # fmt: skip
        for name, ok in checks.items():
            if not ok:  # tyro's flag names: dashes inside, a trailing underscore kept (lambda_)
                flag = name[:-1].replace("_", "-") + name[-1]
                raise ConfigError(f"--rllib.{flag} has an impossible value {getattr(self, name)!r}.")
