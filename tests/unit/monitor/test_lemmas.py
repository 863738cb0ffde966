"""SEAL Lemma 3.3 (c_j and the prediction) golden values and Lemma 3.4 on an enumerable toy softmax policy."""

import math
import re

import pytest
import torch

from agentgym_seal.monitor import interference_c, lemma33_prediction, lemma34_entropy_change


def entropy(logp: torch.Tensor) -> torch.Tensor:
    return -(logp.exp() * logp).sum()


def test_lemma33_golden() -> None:
    gram = torch.tensor([[2.0, 1.0], [1.0, 4.0]])
    assert interference_c(gram).tolist() == [1.5, 2.5]  # (1/G) Σ_i <g_i, g_j>, i = j included
    assert lemma33_prediction(gram, torch.tensor([1.0, -1.0]), 0.5) == pytest.approx(0.5 * (1.5 - 2.5))


def policy(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return 2 * torch.randn(12, dtype=torch.float64, generator=gen), torch.randn(12, dtype=torch.float64, generator=gen)


@pytest.mark.parametrize("seed", range(3))
def test_lemma34_is_the_exact_entropy_derivative(seed: int) -> None:
    theta, direction = policy(seed)
    logp = torch.log_softmax(theta, dim=0)  # (K,)
    rate = direction - (logp.exp() * direction).sum()  # (K,) d/dt log π(θ + t·d) at t = 0
    t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    (derivative,) = torch.autograd.grad(entropy(torch.log_softmax(theta + t * direction, dim=0)), t)
    assert lemma34_entropy_change(logp, rate, weights=logp.exp()) == pytest.approx(float(derivative), rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_lemma34_predicts_a_small_step(seed: int) -> None:
    theta, direction = policy(seed)
    logp, stepped = torch.log_softmax(theta, dim=0), torch.log_softmax(theta + 1e-5 * direction, dim=0)
    measured = float(entropy(stepped) - entropy(logp))
    assert lemma34_entropy_change(logp, stepped - logp, weights=logp.exp()) == pytest.approx(measured, rel=1e-3)


def test_likelihood_decline_on_the_likeliest_response_raises_entropy() -> None:
    theta, _ = policy(0)
    logp = torch.log_softmax(theta, dim=0)
    stepped = torch.log_softmax(theta - 1e-3 * (theta == theta.max()).double(), dim=0)  # pull down the mode
    delta = stepped - logp
    cov = float((logp.exp() * (logp - (logp.exp() * logp).sum()) * delta).sum())
    assert cov < 0  # the premise of Lemma 3.4
    assert lemma34_entropy_change(logp, delta, weights=logp.exp()) > 0
    assert float(entropy(stepped) - entropy(logp)) > 0


def test_lemma34_monte_carlo_on_sampled_responses() -> None:
    theta, direction = policy(1)
    logp = torch.log_softmax(theta, dim=0)
    rate = direction - (logp.exp() * direction).sum()
    exact = lemma34_entropy_change(logp, rate, weights=logp.exp())
    samples = torch.multinomial(logp.exp(), 200_000, replacement=True, generator=torch.Generator().manual_seed(0))
    estimate = lemma34_entropy_change(logp[samples], rate[samples])  # uniform weights over y ~ π
    assert estimate == pytest.approx(exact, rel=0.05)


def test_lemma34_bad_input() -> None:
    assert math.isnan(lemma34_entropy_change(torch.zeros(0), torch.zeros(0)))
    with pytest.raises(ValueError, match=re.escape("logprobs and delta_logprobs of one shape")):
        lemma34_entropy_change(torch.zeros(2), torch.zeros(3))
