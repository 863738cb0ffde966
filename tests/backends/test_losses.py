"""Policy losses (SPEC 1.3, 4) and the SEAL loss (SPEC 3.3) against hand-computed values and loop references."""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F

from agentgym_seal.backends import (
    POLICY_LOSSES,
    ClipCovConfig,
    KLCovConfig,
    PolicyLossInputs,
    PPOClipConfig,
    agg_loss,
    chunked_entropy,
    clip_cov_loss,
    compute_policy_loss,
    entropy_from_logits,
    kl_cov_loss,
    kl_penalty,
    ppo_clip_loss,
    seal_loss,
)
from agentgym_seal.errors import ConfigError


def random_batch(seed: int, b: int = 4, t: int = 9) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    old = -3 * torch.rand(b, t, generator=g, dtype=torch.float64)
    logp = old + torch.randn(b, t, generator=g, dtype=torch.float64)  # ratios far inside and outside the clip
    adv = 2 * torch.randn(b, t, generator=g, dtype=torch.float64)
    mask = torch.rand(b, t, generator=g) < 0.7
    mask[0] = True  # at least one valid token
    return logp, old, adv, mask


# ------------------------------------------------------------------ aggregation


MAT = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
MASK = torch.tensor([[1, 1, 1], [1, 0, 0]])


@pytest.mark.parametrize(
    ("mode", "want"),
    [
        ("token-mean", 10 / 4),  # (1 + 2 + 3 + 4) / 4 valid tokens
        ("seq-mean-token-sum", 5.0),  # (6 + 4) / 2 sequences
        ("seq-mean-token-mean", 3.0),  # (6 / 3 + 4 / 1) / 2
        ("seq-mean-token-sum-norm", 10 / 3),  # 10 / padded length 3
    ],
)
def test_agg_loss_modes(mode: str, want: float) -> None:
    assert agg_loss(MAT, MASK, mode) == pytest.approx(want, rel=1e-6)  # type: ignore[arg-type]


def test_agg_loss_seq_mean_token_mean_counts_an_empty_row_as_zero() -> None:
    got = agg_loss(MAT, torch.tensor([[1, 1, 1], [0, 0, 0]]), "seq-mean-token-mean")
    assert got == pytest.approx((6 / 3 + 0) / 2)


@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_agg_loss_ignores_non_finite_masked_entries(mode: str) -> None:
    poisoned = torch.where(MASK.bool(), MAT, torch.tensor([[math.inf, -math.inf, math.nan]] * 2))
    assert agg_loss(poisoned, MASK, mode) == agg_loss(MAT, MASK, mode)  # type: ignore[arg-type]


def test_agg_loss_bad_mode() -> None:
    with pytest.raises(ConfigError, match=re.escape("option 'mode' of agg_loss: expected one of ['token-mean'")):
        agg_loss(MAT, MASK, "token_mean")  # type: ignore[arg-type]


# ------------------------------------------------------------------ PPO clip


def test_ppo_clip_golden_with_dual_clip() -> None:
    # token 0: A = 1,  rho = e^0.5 = 1.6487: L1 = -1.6487, L2 = -1.2 -> Lc = -1.2 (clipped)
    # token 1: A = -1, rho = e^2 = 7.389:   L1 = 7.389, L2 = 1.2 -> Lc = 7.389; dual: min(7.389, 3) = 3 (lower clip)
    # token 2: A = -1, rho = e^-0.5 = 0.6065: L1 = 0.6065, L2 = 0.8 -> Lc = 0.8 (clipped); min(0.8, 3) = 0.8
    # token 3: A = 2,  rho = 1: L = -2.     token 4: masked.
    # token-mean: (-1.2 + 3 + 0.8 - 2) / 4 = 0.15; clipfrac 2/4; clipfrac_lower 1/4; ppo_kl = -(0.5 + 2 - 0.5) / 4
    logp = torch.tensor([[0.5, 2.0, -0.5, 0.0, 9.0]], requires_grad=True)
    old = torch.zeros(1, 5)
    adv = torch.tensor([[1.0, -1.0, -1.0, 2.0, -5.0]])
    mask = torch.tensor([[1, 1, 1, 1, 0]])
    loss, metrics = ppo_clip_loss(logp, old, adv, mask)
    assert loss.item() == pytest.approx(0.15, abs=1e-6)
    assert metrics == pytest.approx({"pg_clipfrac": 0.5, "pg_clipfrac_lower": 0.25, "ppo_kl": -0.5})
    loss.backward()
    assert logp.grad is not None
    # clipped and dual-clipped tokens have no gradient; token 3: d(-A rho)/dlogp / 4 = -2 / 4
    assert logp.grad[0].tolist() == pytest.approx([0.0, 0.0, 0.0, -0.5, 0.0])


def ref_ppo(
    logp: list[float], old: list[float], adv: list[float], valid: list[bool], lo: float, hi: float, c: float
) -> float:
    total, n = 0.0, 0
    for lp, o, a, v in zip(logp, old, adv, valid, strict=True):
        if not v:
            continue
        rho = math.exp(lp - o)
        clipped = max(-a * rho, -a * min(max(rho, 1 - lo), 1 + hi))
        total += min(clipped, -a * c) if a < 0 else clipped
        n += 1
    return total / n


@pytest.mark.parametrize("seed", range(20))
def test_ppo_clip_matches_loop_reference(seed: int) -> None:
    logp, old, adv, mask = random_batch(seed)
    loss, _ = ppo_clip_loss(logp, old, adv, mask, clip_low=0.2, clip_high=0.28, clip_c=3.0)
    lists = [x.flatten().tolist() for x in (logp, old, adv, mask)]
    want = ref_ppo(lists[0], lists[1], lists[2], lists[3], 0.2, 0.28, 3.0)
    assert loss.item() == pytest.approx(want, rel=1e-9)


def test_ppo_clip_per_sample_advantages_broadcast() -> None:
    logp, old, adv, mask = random_batch(3)
    per_sample = adv[:, 0]
    loss_b, _ = ppo_clip_loss(logp, old, per_sample, mask)
    loss_bt, _ = ppo_clip_loss(logp, old, per_sample[:, None].expand_as(logp), mask)
    assert torch.equal(loss_b, loss_bt)


def test_ppo_clip_rejects_clip_c_not_above_one() -> None:
    logp, old, adv, mask = random_batch(0)
    msg = "option 'clip_c' of ppo_clip_loss: expected a finite number in (1, inf); got 1.0."
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ppo_clip_loss(logp, old, adv, mask, clip_c=1.0)
    with pytest.raises(ConfigError, match=re.escape("option 'clip_c' of PPOClipConfig")):
        PPOClipConfig(clip_c=0.5)


def test_shape_mismatch_is_a_value_error() -> None:
    logp, old, adv, mask = random_batch(0)
    with pytest.raises(ValueError, match=re.escape("ppo_clip_loss: expected tensors of one shape (B, T); got")):
        ppo_clip_loss(logp, old[:, :-1], adv, mask)


# ------------------------------------------------------------------ KL, entropy


def test_kl_kinds_golden() -> None:
    logp = torch.tensor([math.log(0.5)])
    ref = torch.tensor([math.log(0.25)])
    ln2 = math.log(2)
    assert kl_penalty(logp, ref, "k1").item() == pytest.approx(ln2)
    assert kl_penalty(logp, ref, "kl").item() == pytest.approx(ln2)
    assert kl_penalty(ref, logp, "abs").item() == pytest.approx(ln2)
    assert kl_penalty(logp, ref, "mse").item() == pytest.approx(0.5 * ln2**2)
    assert kl_penalty(logp, ref, "k2").item() == pytest.approx(0.5 * ln2**2)
    # k3: delta = log 0.25 - log 0.5 = -ln 2 -> e^delta - delta - 1 = 0.5 + ln 2 - 1
    assert kl_penalty(logp, ref, "low_var_kl").item() == pytest.approx(0.5 + ln2 - 1)
    assert kl_penalty(logp, ref).item() == kl_penalty(logp, ref, "k3").item()


def test_low_var_kl_clamps() -> None:
    # delta = 0 - (-inf) = inf: clamped to 20 before exp (no inf - inf = nan), then the result to 10
    got = kl_penalty(torch.tensor([-math.inf, 0.0, 0.0]), torch.tensor([0.0, -1000.0, 5.0]), "low_var_kl")
    assert got.tolist() == [10.0, 10.0, 10.0]  # e^-20 + 20 - 1 = 19 -> 10; e^5 - 6 = 142.4 -> 10


def test_kl_bad_kind() -> None:
    with pytest.raises(ConfigError, match=re.escape("option 'kind' of kl_penalty")):
        kl_penalty(torch.zeros(1), torch.zeros(1), "k4")  # type: ignore[arg-type]


@pytest.mark.parametrize("chunk_size", [1, 7, 256, 1000])
def test_chunked_entropy_equals_full_entropy(chunk_size: int) -> None:
    logits = 4 * torch.randn(3, 37, 50, generator=torch.Generator().manual_seed(0))
    full = entropy_from_logits(logits)
    assert full.shape == (3, 37)
    with torch.no_grad():
        chunked = chunked_entropy(logits, chunk_size=chunk_size)
    assert chunked.dtype == torch.float32 and torch.allclose(chunked, full, rtol=0, atol=1e-6)
    p = torch.softmax(logits.double(), -1)
    assert torch.allclose(full.double(), -(p * p.log()).sum(-1), atol=1e-5)  # = -sum p log p


def test_chunked_entropy_upcasts_half_precision() -> None:
    logits = torch.randn(5, 11).to(torch.bfloat16)
    assert torch.allclose(chunked_entropy(logits, 2), entropy_from_logits(logits.float()))
    with pytest.raises(ConfigError, match=re.escape("option 'chunk_size' of chunked_entropy: expected an int >= 1")):
        chunked_entropy(logits, 0)


def test_entropy_of_uniform_is_log_vocab() -> None:
    assert entropy_from_logits(torch.zeros(2, 8)).tolist() == pytest.approx([math.log(8)] * 2)


# ------------------------------------------------------------------ Clip-Cov, KL-Cov


def cov_batch(seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    logp = (-3 * torch.rand(2, 60, generator=g, dtype=torch.float64)).requires_grad_()
    adv = 3 * torch.randn(2, 60, generator=g, dtype=torch.float64)
    mask = torch.rand(2, 60, generator=g) < 0.8
    return logp, logp.detach().clone(), adv, mask  # ratio 1: no token is PPO-clipped


def ref_cov(logp: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor) -> dict[tuple[int, int], float]:
    cells = [(i, j) for i in range(mask.shape[0]) for j in range(mask.shape[1]) if mask[i, j]]
    mean_a = sum(adv[c].item() for c in cells) / len(cells)
    mean_l = sum(logp[c].item() for c in cells) / len(cells)
    return {c: (adv[c].item() - mean_a) * (logp[c].item() - mean_l) for c in cells}


@pytest.mark.parametrize("seed", range(5))
def test_clip_cov_selects_k_candidates_and_zeroes_exactly_their_gradient(seed: int) -> None:
    logp, old, adv, mask = cov_batch(seed)
    cov = ref_cov(logp.detach(), adv, mask)
    candidates = {c for c, v in cov.items() if 0.2 < v < 5.0}
    k = max(1, math.floor(0.05 * len(cov)))
    assert len(candidates) > k  # the draw is a real choice
    loss, metrics = clip_cov_loss(
        logp,
        old,
        adv,
        mask,
        clip_cov_ratio=0.05,
        clip_cov_lb=0.2,
        clip_cov_ub=5.0,
        generator=torch.Generator().manual_seed(seed),
    )
    loss.backward()
    assert logp.grad is not None
    zero_grad = {c for c in cov if logp.grad[c].item() == 0.0}
    assert len(zero_grad) == k and zero_grad <= candidates
    assert metrics["pg_clipfrac"] == pytest.approx(k / len(cov))
    # the other valid tokens keep the plain policy-gradient -A / N (ratio = 1, token-mean)
    for c in set(cov) - zero_grad:
        assert logp.grad[c].item() == pytest.approx(-adv[c].item() / len(cov))
    assert loss.item() == pytest.approx(sum(-adv[c].item() for c in set(cov) - zero_grad) / len(cov))


def test_clip_cov_selection_follows_the_generator() -> None:
    def selected(seed: int) -> torch.Tensor:
        logp, old, adv, mask = cov_batch(0)
        loss, _ = clip_cov_loss(
            logp, old, adv, mask, clip_cov_ratio=0.05, clip_cov_lb=0.2, generator=torch.Generator().manual_seed(seed)
        )
        loss.backward()
        assert logp.grad is not None
        return (logp.grad == 0) & mask

    assert torch.equal(selected(1), selected(1))
    assert not torch.equal(selected(1), selected(2))


def test_clip_cov_never_picks_ppo_clipped_or_masked_tokens() -> None:
    logp, old, adv, mask = cov_batch(1)
    cov = ref_cov(logp.detach(), adv, mask)
    in_band = {c for c, v in cov.items() if 0.2 < v < 5.0}
    assert in_band and clip_cov_loss(logp, old, adv, mask, clip_cov_ratio=0.05, clip_cov_lb=0.2)[1]["pg_clipfrac"] > 0
    old = old.clone()
    for c in in_band:  # push every in-band token outside the clip range on the side that clips it
        old[c] = logp[c].detach() - (1.0 if adv[c] > 0 else -1.0)
    _, metrics = clip_cov_loss(logp, old, adv, mask, clip_cov_ratio=0.05, clip_cov_lb=0.2)
    assert metrics["pg_clipfrac"] == 0.0
    only_masked = clip_cov_loss(logp, old, adv, torch.zeros_like(mask), clip_cov_lb=-100.0)[1]
    assert only_masked["pg_clipfrac"] == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_kl_cov_penalises_exactly_the_top_k_covariance_tokens(seed: int) -> None:
    logp, old, adv, mask = cov_batch(seed)
    old = old + 0.3 * torch.randn(old.shape, generator=torch.Generator().manual_seed(seed), dtype=old.dtype)
    cov = ref_cov(logp.detach(), adv, mask)
    k = max(1, math.floor(0.1 * len(cov)))
    top = set(sorted(cov, key=lambda c: cov[c], reverse=True)[:k])
    want = 0.0
    for c in cov:
        lr = logp[c].item() - old[c].item()
        want += -adv[c].item() * math.exp(lr) + (0.5 * abs(lr) if c in top else 0.0)
    loss, metrics = kl_cov_loss(logp, old, adv, mask, kl_cov_ratio=0.1, ppo_kl_coef=0.5)
    assert loss.item() == pytest.approx(want / len(cov), rel=1e-9)
    assert metrics["ppo_kl"] == pytest.approx(sum(abs(logp[c].item() - old[c].item()) for c in cov) / len(cov))


def test_kl_cov_small_ratio_still_penalises_one_token() -> None:
    logp, old, adv, mask = cov_batch(0)
    old = old - 0.5
    plain, _ = kl_cov_loss(logp, old, adv, mask, ppo_kl_coef=0.0)
    one, _ = kl_cov_loss(logp, old, adv, mask, kl_cov_ratio=1e-9, ppo_kl_coef=1.0)
    assert (one - plain).item() == pytest.approx(0.5 / mask.sum().item())  # k = max(1, 0): one token, |0.5|


# ------------------------------------------------------------------ SEAL loss


def test_seal_loss_equals_bce_on_masked_tokens() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, generator=g)
    labels = (torch.rand(3, 6, generator=g) > 0.5).float()
    mask = torch.rand(3, 6, generator=g) > 0.3
    want = F.binary_cross_entropy_with_logits(logits[mask], labels[mask])
    assert torch.allclose(seal_loss(logits, labels, mask), want)
    noisy = torch.where(mask, logits, torch.full_like(logits, 1e4))  # masked tokens are ignored
    assert torch.allclose(seal_loss(noisy, labels, mask), want)


def test_seal_loss_broadcasts_per_sample_labels() -> None:
    logits = torch.randn(2, 4)
    mask = torch.ones(2, 4)
    got = seal_loss(logits, torch.tensor([1.0, 0.0]), mask)
    assert torch.allclose(got, seal_loss(logits, torch.tensor([[1.0] * 4, [0.0] * 4]), mask))


# ------------------------------------------------------------------ registry


def same(a: tuple[torch.Tensor, dict[str, float]], b: tuple[torch.Tensor, dict[str, float]]) -> bool:
    return torch.equal(a[0], b[0]) and a[1] == b[1]


def test_policy_loss_registry_entries_equal_the_functions() -> None:
    logp, old, adv, mask = random_batch(5)
    batch = PolicyLossInputs(logp, old, adv, mask, generator=torch.Generator().manual_seed(0))
    assert POLICY_LOSSES.names() == ["clip_cov", "kl_cov", "ppo_clip"]
    want = ppo_clip_loss(logp, old, adv, mask, clip_high=0.28)
    assert same(compute_policy_loss(batch, PPOClipConfig(clip_high=0.28)), want)
    want = clip_cov_loss(logp, old, adv, mask, clip_cov_ratio=0.1, generator=torch.Generator().manual_seed(0))
    assert same(compute_policy_loss(batch, ClipCovConfig(clip_cov_ratio=0.1)), want)
    want = kl_cov_loss(logp, old, adv, mask, ppo_kl_coef=0.1)
    assert same(compute_policy_loss(batch, KLCovConfig(ppo_kl_coef=0.1)), want)
    for name in POLICY_LOSSES:
        assert set(want[1]) == {"pg_clipfrac", "pg_clipfrac_lower", "ppo_kl"}, name


def test_policy_loss_with_the_wrong_config() -> None:
    logp, old, adv, mask = random_batch(5)
    msg = "policy loss 'kl_cov': expected a KLCovConfig; got PPOClipConfig."
    with pytest.raises(ConfigError, match=re.escape(msg)):
        POLICY_LOSSES.get("kl_cov")(PolicyLossInputs(logp, old, adv, mask), PPOClipConfig())
    with pytest.raises(ConfigError, match=re.escape("option 'clip_cov_ub' of ClipCovConfig")):
        ClipCovConfig(clip_cov_lb=2.0, clip_cov_ub=1.0)
