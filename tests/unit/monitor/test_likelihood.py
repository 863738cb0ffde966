"""Log-probability of correct / wrong / valid / invalid step samples (SPEC 6.4)."""

import math
import re

import pytest
import torch

from agentgym_seal.monitor import likelihood_change, likelihood_metrics


def test_class_means_golden() -> None:
    out = likelihood_metrics([-1.0, -3.0, -2.0, -6.0], [1.0, 0.0, 0.5, -0.1], [True, True, False, True])
    eps = 1e-6
    assert out["logprob/correct"] == pytest.approx(-3.0 / (2 + eps))  # samples 0, 2 (reward > 0)
    assert out["logprob/wrong"] == pytest.approx(-9.0 / (2 + eps))  # reward <= 0
    assert out["logprob/diff"] == pytest.approx(out["logprob/correct"] - out["logprob/wrong"])
    assert out["logprob/valid"] == pytest.approx(-10.0 / (3 + eps))
    assert out["logprob/invalid"] == pytest.approx(-2.0 / (1 + eps))
    assert (out["logprob/num_correct"], out["logprob/num_wrong"]) == (2.0, 2.0)
    assert (out["logprob/num_valid"], out["logprob/num_invalid"]) == (3.0, 1.0)


def test_empty_class_gives_zero_and_count_zero() -> None:
    out = likelihood_metrics(torch.tensor([-1.0, -2.0]), torch.tensor([1.0, 2.0]), torch.tensor([True, True]))
    assert out["logprob/wrong"] == 0.0 and out["logprob/num_wrong"] == 0.0
    assert out["logprob/invalid"] == 0.0 and out["logprob/num_invalid"] == 0.0
    empty = likelihood_metrics([], [], [])
    assert all(v == 0.0 for v in empty.values())


def test_non_finite_stays_in_its_class() -> None:
    out = likelihood_metrics([-math.inf, -1.0], [1.0, 0.0], [True, False])
    assert out["logprob/correct"] == -math.inf and out["logprob/wrong"] == pytest.approx(-1.0, rel=1e-5)
    assert out["logprob/invalid"] == pytest.approx(-1.0, rel=1e-5)


def test_likelihood_change() -> None:
    out = likelihood_change([-1.0, -2.0, -3.0], [-1.5, -1.0, -3.0], [1.0, 0.0, 0.0], [True, False, True])
    assert out["logprob/delta_correct"] == pytest.approx(-0.5, rel=1e-5)
    assert out["logprob/delta_wrong"] == pytest.approx(0.5, rel=1e-5)
    assert out["logprob/delta_diff"] == pytest.approx(-1.0, rel=1e-5)
    assert out["logprob/delta_valid"] == pytest.approx(-0.25, rel=1e-5)
    assert out["logprob/delta_invalid"] == pytest.approx(1.0, rel=1e-5)
    assert out["logprob/delta_all"] == pytest.approx((-0.5 + 1.0 + 0.0) / 3)
    assert math.isnan(likelihood_change([], [], [], [])["logprob/delta_all"])


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match=re.escape("expected episode_rewards and format_valid of length 2")):
        likelihood_metrics([-1.0, -2.0], [1.0], [True, False])
    with pytest.raises(ValueError, match=re.escape("expected seq_logprobs of shape (N,)")):
        likelihood_metrics(torch.zeros(2, 2), [1.0, 1.0], [True, True])
    with pytest.raises(ValueError, match="before and after of one shape"):
        likelihood_change([-1.0], [-1.0, -2.0], [1.0], [True])
