"""``--backend rllib``: a classic-RL baseline (RLlib PPO, new API stack) on the same text envs.

RLlib's encoders reject text spaces, so :class:`ActionChoiceEnv` turns a text env into vectors and a masked
choice among its admissible actions, and :class:`~agentgym_seal.backends.rllib.module.DRRNModule` scores the
action slots. Importing this package needs no Ray (the wrapper, the featurizers and :class:`RLlibOptions`, the
``--rllib.*`` flags, are plain Gymnasium/numpy); ``runner`` and ``module`` import Ray, which lives in its own
env (``make rllib-env``: ray[rllib] 2.60 pins gymnasium 1.2.2).
"""

from .env import ActionChoiceEnv
from .features import FEATURIZERS, HashingFeaturizer, MiniLMFeaturizer, TextFeaturizer
from .options import RLlibOptions

__all__ = ["FEATURIZERS", "ActionChoiceEnv", "HashingFeaturizer", "MiniLMFeaturizer", "RLlibOptions", "TextFeaturizer"]
