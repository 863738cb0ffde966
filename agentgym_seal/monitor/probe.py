"""Lemma 3.3 like for like: a probe SGD step of known size on a copy of the lm_head, predicted vs measured.

The live ``grad/lemma33_pred`` is for a unit SGD step while ``grad/lemma33_measured`` comes from the real AdamW
update, so the two need not agree even in sign. :func:`lm_head_probe_step` takes the step the lemma is about:
W' = W + η Σ_s A_s ∇_W ℓ_s (ascent on the advantage-weighted log-likelihood, the policy gradient) on a float64
copy of the lm_head, with the hidden states held fixed, and returns both sides:

- predicted: η Σ_s A_s c_s with c_s = (1/n) Σ_r ⟨g_r, g_s⟩ from the lm_head Gram (SEAL Lemma 3.3);
- measured: (1/n) Σ_r ℓ_r(W') − ℓ_r(W), exact log-likelihoods under the stepped copy.

Their gap is the second-order term, O(η²): the relative error shrinks with η.
"""

from __future__ import annotations

import torch
from torch import Tensor

from agentgym_seal.monitor.interference import interference_c

#: The probe is skipped (NaN) above this many logits (group tokens × vocab): it holds them in float64.
MAX_PROBE_LOGITS = 1 << 27


def lm_head_probe_step(
    hidden: Tensor,
    token_ids: Tensor,
    weight: Tensor,
    unit_index: Tensor,
    advantages: Tensor,
    gram: Tensor,
    *,
    eta: float,
    temperature: float = 1.0,
) -> tuple[float, float]:
    """``(predicted, measured)`` mean log-likelihood change of the units after one SGD step of size ``eta``.

    Args:
        hidden: ``(N, d)`` lm_head inputs of the group's response tokens.
        token_ids: ``(N,)`` their target tokens.
        weight: ``(V, d)`` the lm_head weight (copied; never modified).
        unit_index: ``(N,)`` unit (step sample) of each token, in ``[0, n)``.
        advantages: ``(n,)`` the units' advantages A_s.
        gram: ``(n, n)`` the units' lm_head Gram ⟨g_r, g_s⟩ (the same block the step moves).
        eta: The probe's SGD step size.
        temperature: τ of the log-probs (logits = W h / τ), as the Gram used.

    Returns:
        Both sides as floats; NaN when the group holds more than :data:`MAX_PROBE_LOGITS` logits.
    """
    num_units = int(advantages.shape[0])
    if hidden.shape[0] * weight.shape[0] > MAX_PROBE_LOGITS:
        return float("nan"), float("nan")
    h = hidden.detach().double() / temperature  # (N, d)
    adv = advantages.detach().double()  # (n,)

    def unit_loglik(w: Tensor) -> Tensor:
        token_logp = torch.log_softmax(h @ w.T, dim=-1).gather(-1, token_ids[:, None]).squeeze(-1)  # (N,)
        return token_logp.new_zeros(num_units).index_add_(0, unit_index, token_logp)  # (n,) ℓ_s

    w = weight.detach().double().clone().requires_grad_(True)  # (V, d)
    before = unit_loglik(w)  # (n,)
    (ascent,) = torch.autograd.grad((adv * before).sum(), w)  # (V, d) Σ_s A_s ∇_W ℓ_s
    with torch.no_grad():
        measured = float((unit_loglik(w + eta * ascent) - before).mean())
    predicted = float(eta * (adv * interference_c(gram.double())).sum())  # SEAL Lemma 3.3 with step η
    return predicted, measured


def relative_error(predicted: float, measured: float) -> float:
    """|predicted − measured| / |measured| (NaN when nothing was measured or the change is 0)."""
    return abs(predicted - measured) / abs(measured) if measured == measured and measured != 0 else float("nan")
