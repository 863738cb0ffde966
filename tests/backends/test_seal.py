"""SEAL head (SPEC 3.1), labels (SPEC 3.4), config, and gradient flow of the SEAL loss (SPEC 3.2-3.3)."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from agentgym_seal.backends import SEALConfig, SEALHead, grpo_advantages, seal_labels, seal_loss
from agentgym_seal.errors import ConfigError


@pytest.mark.parametrize("num_layers", [1, 3, 6])
def test_head_architecture_counts_the_final_linear(num_layers: int) -> None:
    head = SEALHead(8, num_layers=num_layers, dropout=0.1)
    kinds = [type(m) for m in head.net]
    block = [nn.Linear, nn.GELU, nn.LayerNorm, nn.Dropout]
    assert kinds == block * (num_layers - 1) + [nn.Linear]
    linears = [m for m in head.net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8, 8)] * (num_layers - 1) + [(8, 1)]
    assert all(m.bias is not None for m in linears)
    assert all(m.p == 0.1 for m in head.net if isinstance(m, nn.Dropout))


def test_head_maps_hidden_states_to_per_token_logits() -> None:
    head = SEALHead(16).eval()
    hidden = torch.randn(3, 5, 16)
    logits = head(hidden)
    assert logits.shape == (3, 5)
    assert torch.allclose(logits[1, 2], head(hidden[1, 2][None, None])[0, 0])  # per token, independent


def test_dropout_is_active_in_train_mode_only() -> None:
    torch.manual_seed(0)
    head = SEALHead(32, dropout=0.5)
    hidden = torch.randn(2, 4, 32)
    assert not torch.equal(head.train()(hidden), head(hidden))
    head.eval()
    assert torch.equal(head(hidden), head(hidden))


def test_gradients_flow_from_seal_loss_through_the_head_into_the_hidden_states() -> None:
    torch.manual_seed(0)
    head = SEALHead(12, num_layers=3)
    hidden = torch.randn(2, 7, 12, requires_grad=True)  # stands in for the backbone's last hidden states
    mask = torch.ones(2, 7)
    mask[1, 5:] = 0
    loss = seal_loss(head(hidden), torch.tensor([1.0, 0.0]), mask)
    loss.backward()
    assert hidden.grad is not None and hidden.grad[mask.bool()].abs().sum() > 0
    assert torch.all(hidden.grad[1, 5:] == 0)  # masked tokens send no gradient back
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())


def test_seal_labels_success_is_the_won_flag() -> None:
    won = torch.tensor([True, False, True])
    adv = torch.tensor([-1.0, 2.0, 0.0])
    assert seal_labels(won, adv, "success").tolist() == [1.0, 0.0, 1.0]


def test_seal_labels_advantage_sign_labels_zero_as_one() -> None:
    adv = torch.tensor([-0.5, 0.0, 3.0, -1e-12], dtype=torch.float64)
    got = seal_labels(torch.zeros(4, dtype=torch.bool), adv, "advantage_sign")
    assert got.tolist() == [0.0, 1.0, 1.0, 0.0] and got.dtype == torch.float64


def test_all_equal_group_is_labelled_one_under_advantage_sign() -> None:
    # all-failed group whose steps were all invalid: every score is 0 - 0.1 -> A = 0 exactly -> label 1 (SPEC 3.4)
    adv = grpo_advantages(torch.full((6,), -0.1), ["u"] * 6)
    assert torch.equal(adv, torch.zeros(6))
    assert seal_labels(torch.zeros(6, dtype=torch.bool), adv, "advantage_sign").tolist() == [1.0] * 6
    assert seal_labels(torch.zeros(6, dtype=torch.bool), adv, "success").tolist() == [0.0] * 6


def test_seal_labels_bad_source() -> None:
    msg = "option 'source' of seal_labels: expected one of ['success', 'advantage_sign']; got 'sucess'."
    with pytest.raises(ConfigError, match=re.escape(msg)):
        seal_labels(torch.zeros(1, dtype=torch.bool), torch.zeros(1), "sucess")  # type: ignore[arg-type]


def test_seal_config_defaults_validation_and_head() -> None:
    cfg = SEALConfig()
    assert (cfg.alpha, cfg.num_layers, cfg.dropout, cfg.label_source) == (0.02, 3, 0.1, "success")
    head = SEALConfig(num_layers=6, dropout=0.0).build_head(4)
    assert sum(isinstance(m, nn.Linear) for m in head.net) == 6
    with pytest.raises(ConfigError, match=re.escape("option 'num_layers' of SEALConfig: expected an int >= 1; got 0.")):
        SEALConfig(num_layers=0)
    with pytest.raises(ConfigError, match=re.escape("option 'alpha' of SEALConfig")):
        SEALConfig(alpha=-0.1)
    with pytest.raises(ConfigError, match=re.escape("option 'label_source' of SEALConfig")):
        SEALConfig(label_source="trajectory")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=re.escape("option 'dropout' of SEALHead")):
        SEALHead(4, dropout=1.0)
