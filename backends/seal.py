"""SEAL (Separation-Enhanced Agent Learning, arXiv 2605.27954): the classifier head, its labels and config.

The loss itself is :func:`agentgym_seal.backends.losses.seal_loss`; the learner adds α·L_SEAL to the
policy loss (SPEC 3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor, nn

from agentgym_seal.errors import ConfigError

from ._checks import check_option, check_range

LabelSource = Literal["success", "advantage_sign"]
LABEL_SOURCES: tuple[LabelSource, ...] = get_args(LabelSource)


def _check_head_shape(where: str, hidden_size: int, num_layers: int, dropout: float) -> None:
    for name, value in (("hidden_size", hidden_size), ("num_layers", num_layers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"option {name!r} of {where}: expected an int >= 1; got {value!r}. "
                "Fix: num_layers counts the final Linear (1 = a linear probe; scripts use 3 or 6)."
            )
    check_range("dropout", dropout, where=where, low=0.0, high=1.0, high_open=True)


class SEALHead(nn.Module):
    """The SEAL classifier ``proj_z`` on per-token hidden states (SPEC 3.1, SEAL-repo ``ProjZModule``).

    ``num_layers - 1`` blocks of Linear(H, H) → GELU → LayerNorm(H) → Dropout, then Linear(H, 1);
    ``num_layers`` counts the final Linear (SPEC 3.6). All Linear layers have bias and PyTorch's default
    init. Feed it the final decoder layer output (after the final norm) at the response positions, not
    detached (SPEC 3.2).

    Args:
        hidden_size: H, the backbone's hidden size.
        num_layers: L >= 1 (the authors' scripts: 3 or 6, by env).
        dropout: Dropout probability of the hidden blocks, active in train mode.
    """

    def __init__(self, hidden_size: int, num_layers: int = 3, dropout: float = 0.1) -> None:
        super().__init__()
        _check_head_shape("SEALHead", hidden_size, num_layers, dropout)
        layers: list[nn.Module] = []
        for _ in range(num_layers - 1):
            layers += [nn.Linear(hidden_size, hidden_size), nn.GELU(), nn.LayerNorm(hidden_size), nn.Dropout(dropout)]
        layers.append(nn.Linear(hidden_size, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, hidden_states: Tensor) -> Tensor:
        """Maps ``(B, T, H)`` hidden states to ``(B, T)`` logits z (p = sigmoid(z)), SEAL Sec. 4.1."""
        logits: Tensor = self.net(hidden_states)  # (B, T, H) -> (B, T, 1)
        return logits.squeeze(-1)  # (B, T)


def seal_labels(won: Tensor, advantages: Tensor, source: LabelSource) -> Tensor:
    """Per-sample SEAL targets y in {0, 1} (SPEC 3.4).

    Args:
        won: ``(N,)`` bool, whether the sample's trajectory succeeded (used by ``"success"``).
        advantages: ``(N,)`` final advantages (GRPO or GiGPO, used by ``"advantage_sign"``).
        source: ``"success"`` (the paper, Eq. 3: y = 1 iff the trajectory is correct) or
            ``"advantage_sign"`` (the authors' code: y = 1 iff A >= 0, so an all-equal group, A = 0,
            is labelled 1).

    Returns:
        ``(N,)`` float labels (the dtype of ``advantages`` if floating, else float32); broadcast them over
        the response tokens, e.g. by passing them to ``seal_loss`` as ``(B,)``.
    """
    check_option("source", source, LABEL_SOURCES, where="seal_labels")
    dtype = advantages.dtype if advantages.is_floating_point() else torch.float32
    if source == "success":
        return won.to(torch.bool).to(dtype)  # (N,) SEAL Eq. 3
    return (advantages >= 0).to(dtype)  # (N,) SEAL-repo core_algos: label = [A >= 0]


@dataclass(frozen=True)
class SEALConfig:
    """Settings of the SEAL auxiliary loss (SPEC 3)."""

    alpha: float = 0.02
    """α, the weight of L_SEAL in the actor loss (every SEAL script that enables it: 0.02; 0 = off)."""
    num_layers: int = 3
    """L of :class:`SEALHead`, counting the final Linear (the authors' scripts: 3 or 6, by env)."""
    dropout: float = 0.1
    """Dropout of the head's hidden blocks."""
    label_source: LabelSource = "success"
    """``"success"`` (paper, default) or ``"advantage_sign"`` (authors' code), see :func:`seal_labels`."""

    def __post_init__(self) -> None:
        check_range("alpha", self.alpha, where="SEALConfig", low=0.0)
        _check_head_shape("SEALConfig", 1, self.num_layers, self.dropout)
        check_option("label_source", self.label_source, LABEL_SOURCES, where="SEALConfig")

    def build_head(self, hidden_size: int) -> SEALHead:
        """Returns a fresh :class:`SEALHead` with this config's depth and dropout."""
        return SEALHead(hidden_size, num_layers=self.num_layers, dropout=self.dropout)
