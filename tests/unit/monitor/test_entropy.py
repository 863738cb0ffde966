"""Entropy (SPEC 4.1) against torch.distributions.Categorical, chunking, grad, temperature, bad input."""

import math
import re

import pytest
import torch

from agentgym_seal.errors import ConfigError
from agentgym_seal.monitor import entropy_from_logits, per_sample_entropy, token_mean_entropy


def categorical_entropy(logits: torch.Tensor) -> torch.Tensor:
    return torch.distributions.Categorical(logits=logits.double()).entropy()


@pytest.mark.parametrize("shape", [(7,), (5, 11), (3, 5, 11), (2, 3, 4, 50)])
@pytest.mark.parametrize("chunk_size", [1, 3, 1024])
def test_matches_categorical_for_any_leading_shape(shape: tuple[int, ...], chunk_size: int) -> None:
    logits = 5 * torch.randn(shape, generator=torch.Generator().manual_seed(len(shape)))
    got = entropy_from_logits(logits, chunk_size=chunk_size)
    assert got.shape == shape[:-1] and got.dtype == torch.float32
    assert torch.allclose(got.double(), categorical_entropy(logits), rtol=0, atol=1e-5)


def test_chunked_equals_unchunked() -> None:
    logits = 3 * torch.randn(4, 37, 97, generator=torch.Generator().manual_seed(1))
    whole = entropy_from_logits(logits, chunk_size=10_000)
    for chunk_size in (1, 7, 64, 148):
        assert torch.allclose(entropy_from_logits(logits, chunk_size=chunk_size), whole, rtol=0, atol=1e-5)


def test_gradient_matches_categorical() -> None:
    base = torch.randn(6, 13, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ours = base.clone().requires_grad_(True)
    entropy_from_logits(ours, chunk_size=4).sum().backward()
    ref = base.clone().requires_grad_(True)
    torch.distributions.Categorical(logits=ref).entropy().sum().backward()
    assert ours.grad is not None and ref.grad is not None
    assert torch.allclose(ours.grad, ref.grad, atol=1e-10)


def test_half_precision_is_upcast_and_float64_kept() -> None:
    logits = torch.randn(5, 11)
    assert entropy_from_logits(logits.to(torch.bfloat16)).dtype == torch.float32
    assert entropy_from_logits(logits.double()).dtype == torch.float64


def test_uniform_is_log_vocab_and_empty_rows() -> None:
    assert entropy_from_logits(torch.zeros(2, 8)).tolist() == pytest.approx([math.log(8)] * 2)
    assert entropy_from_logits(torch.zeros(0, 3, 8)).shape == (0, 3)


def test_non_finite_logits_defined_behaviour() -> None:
    inf = math.inf
    logits = torch.tensor(
        [
            [0.0, 0.0, -inf],  # -inf entries are probability-0 tokens: H = log 2
            [0.0, math.nan, 1.0],  # any NaN: NaN
            [0.0, inf, 1.0],  # +inf: NaN
            [-inf, -inf, -inf],  # no distribution: NaN
            [1.0, 2.0, 3.0],  # unaffected by the other rows
        ],
        requires_grad=True,
    )
    got = entropy_from_logits(logits, chunk_size=2)
    assert got[0].item() == pytest.approx(math.log(2))
    assert torch.isnan(got[1:4]).all()
    assert got[4].item() == pytest.approx(categorical_entropy(logits[4].detach()).item(), abs=1e-6)
    got[0].backward()
    assert logits.grad is not None and torch.isfinite(logits.grad[0]).all() and logits.grad[0, 2] == 0


def test_no_grad_path_has_the_same_non_finite_behaviour_and_leaves_the_input_alone() -> None:
    inf = math.inf
    logits = torch.tensor(
        [[0.0, 0.0, -inf], [0.0, math.nan, 1.0], [0.0, inf, 1.0], [-inf, -inf, -inf], [1.0, 2.0, 3.0]]
    )
    before = logits.clone()
    with torch.no_grad():
        got = entropy_from_logits(logits, chunk_size=2)
    assert got[0].item() == pytest.approx(math.log(2))
    assert torch.isnan(got[1:4]).all()
    assert got[4].item() == pytest.approx(categorical_entropy(logits[4]).item(), abs=1e-6)
    assert torch.equal(logits.nan_to_num(), before.nan_to_num()) and torch.isnan(logits[1, 1])


def test_no_grad_and_autograd_paths_agree_with_temperature() -> None:
    logits = 4 * torch.randn(3, 9, 301, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        lean = token_mean_entropy(logits, torch.ones(3, 9), temperature=0.7, chunk_size=5)
    graph = entropy_from_logits((logits / 0.7).requires_grad_(True), chunk_size=5).mean()
    assert lean.item() == pytest.approx(graph.item(), abs=1e-5)


def test_a_chunk_holds_at_most_max_chunk_logits(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentgym_seal.monitor import entropy as entropy_module

    logits = 2 * torch.randn(40, 50, generator=torch.Generator().manual_seed(3))
    whole = entropy_from_logits(logits)
    seen: list[int] = []
    inner = entropy_module._row_entropy_inplace
    monkeypatch.setattr(entropy_module, "MAX_CHUNK_LOGITS", 120)  # 2 rows of 50
    monkeypatch.setattr(entropy_module, "_row_entropy_inplace", lambda rows: seen.append(len(rows)) or inner(rows))
    assert torch.allclose(entropy_from_logits(logits, chunk_size=1024), whole, atol=1e-6)
    assert set(seen) == {2} and len(seen) == 20


def test_bad_options() -> None:
    with pytest.raises(
        ConfigError, match=re.escape("option 'chunk_size' of entropy_from_logits: expected an int >= 1")
    ):
        entropy_from_logits(torch.zeros(2, 3), chunk_size=0)
    with pytest.raises(ValueError, match="0-d tensor"):
        entropy_from_logits(torch.tensor(1.0))
    with pytest.raises(ConfigError, match="temperature"):
        token_mean_entropy(torch.zeros(2, 3), torch.ones(2), temperature=0.0)
    with pytest.raises(ValueError, match=re.escape("expected mask of shape (2, 4)")):
        token_mean_entropy(torch.zeros(2, 4, 3), torch.ones(2, 3))


def test_token_mean_entropy_with_temperature_and_mask() -> None:
    gen = torch.Generator().manual_seed(3)
    logits = 2 * torch.randn(3, 9, 40, generator=gen)
    mask = torch.rand(3, 9, generator=gen) > 0.4
    original = logits.clone()
    got = token_mean_entropy(logits, mask, temperature=0.7, chunk_size=5)
    per_token = categorical_entropy(logits / 0.7)  # (3, 9)
    expected = (per_token * mask).sum() / (mask.sum() + 1e-8)
    assert got.ndim == 0 and got.item() == pytest.approx(expected.item(), abs=1e-5)
    assert torch.equal(logits, original)  # not divided in place


def test_token_mean_entropy_no_grad_empty_mask_and_masked_nan() -> None:
    logits = torch.randn(2, 4, 6, requires_grad=True)
    assert not token_mean_entropy(logits, torch.ones(2, 4)).requires_grad
    assert token_mean_entropy(logits, torch.zeros(2, 4)).item() == 0.0  # SPEC 4.1: Σ/(0 + 1e-8) = 0
    poisoned = logits.detach().clone()
    poisoned[0, 0] = math.nan
    mask = torch.ones(2, 4, dtype=torch.bool)
    mask[0, 0] = False
    assert torch.isfinite(token_mean_entropy(poisoned, mask))
    assert torch.isnan(token_mean_entropy(poisoned, torch.ones(2, 4)))


def test_per_sample_entropy() -> None:
    gen = torch.Generator().manual_seed(4)
    logits = torch.randn(4, 7, 30, generator=gen)
    mask = torch.rand(4, 7, generator=gen) > 0.3
    mask[2] = False
    got = per_sample_entropy(logits, mask, temperature=1.3)
    per_token = categorical_entropy(logits / 1.3)  # (4, 7)
    assert got.shape == (4,)
    for b in range(4):
        expected = per_token[b][mask[b]].mean().item() if mask[b].any() else 0.0
        assert got[b].item() == pytest.approx(expected, abs=1e-5)
    with pytest.raises(ValueError, match="per_sample_entropy"):
        per_sample_entropy(torch.zeros(5), torch.ones(()))


def test_backends_reexport_the_one_implementation() -> None:
    from agentgym_seal.backends import entropy as backends_entropy

    assert backends_entropy.entropy_from_logits is entropy_from_logits
    logits = torch.randn(3, 5, 7, generator=torch.Generator().manual_seed(5))
    assert torch.equal(backends_entropy.chunked_entropy(logits), entropy_from_logits(logits))
    with pytest.raises(ConfigError, match=re.escape("option 'chunk_size' of chunked_entropy")):
        backends_entropy.chunked_entropy(logits, 0)
