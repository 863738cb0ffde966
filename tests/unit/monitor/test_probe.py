"""The Lemma 3.3 probe step: an SGD step of known size on a copy of the lm_head, predicted vs measured."""

import math

import pytest
import torch

from agentgym_seal.monitor.interference import lm_head_interference
from agentgym_seal.monitor.probe import lm_head_probe_step, relative_error


def case(seed: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(14, 6, generator=gen, dtype=torch.float64)  # (N, d)
    weight = torch.randn(23, 6, generator=gen, dtype=torch.float64)  # (V, d)
    targets = torch.randint(0, 23, (14,), generator=gen)  # (N,)
    units = torch.tensor([0] * 5 + [1] * 4 + [2] * 3 + [3] * 2)  # (N,) 4 units
    advantages = torch.tensor([1.0, -0.5, 0.8, -1.3], dtype=torch.float64)
    return hidden, targets, weight, units, advantages


@pytest.mark.parametrize("temperature", [1.0, 0.7])
@pytest.mark.parametrize("seed", range(3))
def test_prediction_is_first_order_exact(seed: int, temperature: float) -> None:
    hidden, targets, weight, units, adv = case(seed)
    gram = lm_head_interference(hidden, targets, weight, units, 4, temperature=temperature)
    errors = []
    for eta in (1e-3, 1e-4):
        predicted, measured = lm_head_probe_step(
            hidden, targets, weight, units, adv, gram, eta=eta, temperature=temperature
        )
        assert predicted == pytest.approx(measured, rel=0.05)
        errors.append(relative_error(predicted, measured))
    assert errors[1] < errors[0] / 5  # the gap is second order: ~10x smaller for a 10x smaller step


def test_the_weight_is_left_alone_and_oversized_groups_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    hidden, targets, weight, units, adv = case(0)
    before = weight.clone()
    gram = lm_head_interference(hidden, targets, weight, units, 4)
    lm_head_probe_step(hidden, targets, weight, units, adv, gram, eta=1e-2)
    assert torch.equal(weight, before)
    monkeypatch.setattr("agentgym_seal.monitor.probe.MAX_PROBE_LOGITS", 10)
    assert all(math.isnan(v) for v in lm_head_probe_step(hidden, targets, weight, units, adv, gram, eta=1e-2))


def test_relative_error() -> None:
    assert relative_error(1.1, 1.0) == pytest.approx(0.1)
    assert math.isnan(relative_error(1.0, 0.0)) and math.isnan(relative_error(1.0, math.nan))
