"""The DRRN-style RLModule (RLlib new API stack, torch) that scores admissible-action slots.

The state is three featurized texts (goal, observation, last action; D each), the choices K featurized action
texts. One text encoder E (an MLP) embeds all of them, so a word learned in an action carries over to the same
word in the goal or the observation (B = batch, K = slots, H = ``model_config["hidden"]``)::

    goal, obs, last (B, D) each ─► E ─► g, o, l (B, H) ─► state MLP([g, o, l]) ─► s (B, H) ─► value MLP ─► V (B,)
    choices (B, K, D) ─► E ─► a (B, K, H)
    per slot: [s, a, g * a, o * a, l * a, cos(goal, choice), cos(obs, choice), cos(last, choice)]
        ─► score MLP ─► logits (B, K) + log(action_mask) ─► Categorical over the slots

The three cosines are taken on the raw features (word overlap, for hashing features): the goal "put some apple
on diningtable" and the action "move apple 1 to diningtable 1" share words before anything is learned.
Masked slots get ``FLOAT_MIN`` logits, so they are never sampled and carry no probability mass.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.torch_utils import FLOAT_MIN
from torch import nn


def _mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


class DRRNModule(TorchRLModule, ValueFunctionAPI):
    """Scores each action slot from (state, action) embeddings; ``model_config``: ``{"hidden": H}``."""

    def setup(self) -> None:
        """Builds the text encoder and the state, score and value networks from the Dict observation space."""
        space: Any = self.observation_space
        _, dim = space["choices"].shape
        if space["state"].shape[0] != 3 * dim:
            raise ValueError(f"state must hold 3 texts of the choices' size {dim}; got {space['state'].shape}")
        config: Any = self.model_config or {}
        hidden = int(config.get("hidden", 128))
        self.dim = dim
        self.text_net = nn.Sequential(_mlp(dim, hidden, hidden), nn.Tanh())
        self.state_net = nn.Sequential(_mlp(3 * hidden, hidden, hidden), nn.ReLU())
        self.score_net = _mlp(5 * hidden + 3, hidden, 1)
        self.value_net = _mlp(hidden, hidden, 1)

    def _texts(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw = state.reshape(*state.shape[:-1], 3, self.dim)  # (B, 3, D): goal, observation, last action
        return raw, self.text_net(raw)  # (B, 3, D), (B, 3, H)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        obs = batch[Columns.OBS]
        raw, texts = self._texts(obs["state"])
        state = self.state_net(texts.flatten(-2))  # (B, H)
        actions = self.action_embed(obs["choices"])  # (B, K, H)
        k = actions.shape[-2]
        products = texts.unsqueeze(-3) * actions.unsqueeze(-2)  # (B, K, 3, H)
        cosines = nn.functional.normalize(obs["choices"], dim=-1) @ nn.functional.normalize(raw, dim=-1).transpose(
            -1, -2
        )  # (B, K, 3)
        features = torch.cat(
            [state.unsqueeze(-2).expand(*state.shape[:-1], k, state.shape[-1]), actions, products.flatten(-2), cosines],
            dim=-1,
        )  # (B, K, 5H + 3)
        logits = self.score_net(features).squeeze(-1)  # (B, K)
        logits = logits + torch.clamp(torch.log(obs["action_mask"]), min=FLOAT_MIN)
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.EMBEDDINGS: state}

    def action_embed(self, choices: torch.Tensor) -> torch.Tensor:
        """The text encoder applied to every action slot, (B, K, D) -> (B, K, H)."""
        embedded: torch.Tensor = self.text_net(choices)
        return embedded

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> Any:
        """V(state), shape (B,); reuses the state embedding of the forward pass when given."""
        if embeddings is None:
            _, texts = self._texts(batch[Columns.OBS]["state"])
            embeddings = self.state_net(texts.flatten(-2))
        return self.value_net(embeddings).squeeze(-1)
