"""Exact gradient interference ⟨g_i, g_j⟩ of trajectory log-likelihoods (SPEC 6.6; SEAL Lemmas 3.2-3.4).

g_i = ∇_θ ℓ_i with ℓ_i = Σ_{t∈τ_i} log π(y_t | ctx_t), the *summed* token log-likelihood of trajectory i
(for the token-mean normalisation, divide row and column i of the Gram matrix by |τ_i|). Three routes, none of
which materialises a per-trajectory gradient:

- :func:`lm_head_interference` (kernel route): the full G×G Gram matrix of the lm_head block,
  O(N·V·d + N²·(V + d)) time, O(N² + N·chunk) memory, one pass over the vocab.
- :func:`lm_head_mean_gradient_c` (mean-gradient route): only c_j, O(N·V·d) time (four N×V×d products),
  O(N·chunk + chunk·d) memory, two passes over the vocab.
- :func:`~agentgym_seal.monitor.ghost.ghost_interference` / ``linear_mean_gradient_c``: the same for any linear
  layer from its captured per-token inputs and output gradients (``capture_linear``).

:func:`~agentgym_seal.monitor.reference.reference_interference` is the slow autograd reference the tests compare
against.

Precision: the routes compute in ``promote_types(inputs, float32)`` (pass float64 inputs for more). The lm_head
routes never form 1 − p_t[y_t] by subtraction (see :func:`lm_head_interference`), so confident tokens keep
their relative accuracy. Non-finite inputs give non-finite outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from agentgym_seal.errors import ConfigError


def _check_tokens(where: str, rows: int, traj_index: Tensor, num_traj: int, **tensors: Tensor) -> None:
    if isinstance(num_traj, bool) or not isinstance(num_traj, int) or num_traj < 1:
        raise ConfigError(f"option 'num_traj' of {where}: expected an int >= 1; got {num_traj!r}.")
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if tuple(traj_index.shape) != (rows,) or any(s[0] != rows for s in shapes.values()):
        raise ValueError(
            f"{where}: expected one row per token (N = {rows}) in traj_index {tuple(traj_index.shape)} and "
            f"{shapes}. Fix: flatten the response tokens of the group to (N, ...) first."
        )
    if traj_index.dtype.is_floating_point or traj_index.dtype == torch.bool:
        raise ValueError(f"{where}: expected an integer traj_index; got dtype {traj_index.dtype}.")
    if rows and (int(traj_index.min()) < 0 or int(traj_index.max()) >= num_traj):
        raise ValueError(
            f"{where}: expected traj_index values in [0, {num_traj}); got [{int(traj_index.min())}, "
            f"{int(traj_index.max())}]. Fix: number the group's trajectories 0..num_traj-1."
        )


def block_sum(kernel: Tensor, traj_index: Tensor, num_traj: int) -> Tensor:
    """Sums an ``(N, N)`` token kernel over trajectory blocks: out[i, j] = Σ_{t∈i, s∈j} kernel[t, s].

    Args:
        kernel: ``(N, N)``.
        traj_index: ``(N,)`` trajectory of each token, in [0, num_traj).
        num_traj: G.

    Returns:
        ``(G, G)``.
    """
    rows = kernel.new_zeros((num_traj, kernel.shape[1])).index_add_(0, traj_index, kernel)  # (G, N)
    return kernel.new_zeros((num_traj, num_traj)).index_add_(1, traj_index, rows)  # (G, G)


def _vocab_chunks(weight: Tensor, chunk_size: int) -> Iterator[tuple[int, Tensor]]:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"option 'chunk_size': expected an int >= 1 (vocab rows per chunk); got {chunk_size!r}.")
    for start in range(0, weight.shape[0], chunk_size):
        yield start, weight[start : start + chunk_size]


def _lm_head_inputs(
    where: str, hidden: Tensor, token_ids: Tensor, weight: Tensor, traj_index: Tensor, num_traj: int, temperature: float
) -> tuple[Tensor, Tensor, torch.dtype]:
    _check_tokens(where, hidden.shape[0], traj_index, num_traj, hidden=hidden, token_ids=token_ids)
    if hidden.dim() != 2 or weight.dim() != 2 or hidden.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{where}: expected hidden (N, d) and lm_head_weight (V, d); got "
            f"{tuple(hidden.shape)} and {tuple(weight.shape)}."
        )
    if not temperature > 0:
        raise ConfigError(f"option 'temperature' of {where}: expected a float > 0; got {temperature!r}.")
    dtype = torch.promote_types(torch.promote_types(hidden.dtype, weight.dtype), torch.float32)
    h = hidden.detach().to(dtype) / temperature  # (N, d) z = W h / τ, so fold 1/τ into h
    return h, token_ids.to(torch.long), dtype


@dataclass
class _SoftmaxStats:
    """Per-token softmax statistics of z_t = W h_t, streamed over vocab chunks (online max rescaling).

    ``rest`` and ``target`` are Σ_{v≠y_t} exp(z_tv − m_t) and exp(z_{t,y_t} − m_t) at the running max m_t; keeping
    them apart gives the residual r_t = 1 − p_t[y_t] = rest / (rest + target) without the cancellation of
    ``1 − p``. ``rest_gram`` is Σ_{v∉{y_t, y_s}} exp(z_tv − m_t) exp(z_sv − m_s) (each row's target masked out).
    """

    running_max: Tensor  # (N,)
    rest: Tensor  # (N,)
    target: Tensor  # (N,)
    rest_gram: Tensor | None  # (N, N)

    @property
    def total(self) -> Tensor:
        return self.rest + self.target  # (N,) Σ_v exp(z_tv − m_t)

    @property
    def lse(self) -> Tensor:
        return self.running_max + torch.log(self.total)  # (N,) log Σ_v exp(z_tv)

    @property
    def residual(self) -> Tensor:
        return self.rest / self.total  # (N,) r_t = 1 − p_t[y_t], accurate even when p_t[y_t] → 1


def _softmax_stats(
    h: Tensor, y: Tensor, weight: Tensor, dtype: torch.dtype, chunk_size: int, *, gram: bool
) -> _SoftmaxStats:
    """One pass over the vocab: the (N, c) logits of one chunk at a time, never all of P (SPEC 6.6 streaming)."""
    n = h.shape[0]
    stats = _SoftmaxStats(
        running_max=torch.full((n,), float("-inf"), dtype=dtype, device=h.device),  # (N,)
        rest=torch.zeros(n, dtype=dtype, device=h.device),  # (N,)
        target=torch.zeros(n, dtype=dtype, device=h.device),  # (N,)
        rest_gram=torch.zeros((n, n), dtype=dtype, device=h.device) if gram else None,  # (N, N)
    )
    rows = torch.arange(n, device=h.device)  # (N,)
    for start, w_chunk in _vocab_chunks(weight, chunk_size):
        logits = h @ w_chunk.detach().to(dtype).T  # (N, c)
        new_max = torch.maximum(stats.running_max, logits.max(dim=1).values)  # (N,)
        rescale = torch.exp(stats.running_max - new_max)  # (N,) 0 on the first chunk
        weights = torch.exp(logits - new_max[:, None])  # (N, c)
        here = (y >= start) & (y < start + w_chunk.shape[0])  # (N,) the row's target is in this chunk
        target = torch.zeros_like(stats.target)  # (N,)
        target[here] = weights[rows[here], y[here] - start]
        weights[rows[here], y[here] - start] = 0  # (N, c) target masked out
        stats.rest = stats.rest * rescale + weights.sum(dim=1)  # (N,)
        stats.target = stats.target * rescale + target  # (N,)
        if stats.rest_gram is not None:
            outer = rescale[:, None] * rescale[None, :]  # (N, N)
            stats.rest_gram = stats.rest_gram * outer + weights @ weights.T  # (N, N)
        stats.running_max = new_max
    return stats


@torch.no_grad()
def lm_head_interference(
    hidden: Tensor,
    token_ids: Tensor,
    lm_head_weight: Tensor,
    traj_index: Tensor,
    num_traj: int,
    *,
    chunk_size: int = 4096,
    temperature: float = 1.0,
) -> Tensor:
    """Gram matrix ⟨g_i^W, g_j^W⟩ of the lm_head block by the kernel route (SPEC 6.6 (a), SEAL Lemma 3.2).

    ⟨g_i^W, g_j^W⟩ = Σ_{t∈i, s∈j} K_q[t, s]·⟨h_t, h_s⟩ with K_q[t, s] = ⟨q_t, q_s⟩, q_t = e_{y_t} − p_t, then block
    sums over trajectories. SPEC 6.6 writes K_q = 1[y_t=y_s] − p_s[y_t] − p_t[y_s] + ⟨p_t, p_s⟩; those four terms
    are ~1 while K_q is ~(1 − p)² for confident tokens, so in float32 that sum cancels catastrophically (a few %
    error at 1 − p ≈ 1e-4). The same quantity is regrouped with r_t = 1 − p_t[y_t] and p̃_t = p_t with its target
    entry removed:

    - y_t = y_s: K_q = r_t r_s + ⟨p̃_t, p̃_s⟩;
    - y_t ≠ y_s: K_q = −p_s[y_t] r_t − p_t[y_s] r_s + ⟨p̃_t, p̃_s⟩,

    where ⟨p̃_t, p̃_s⟩ is streamed over vocab chunks with online max rescaling (all of P, N×V, is never held; one
    pass over the logits) and p_s[y_t] = exp(h_s·w_{y_t} − lse_s) is an N×N gather. Memory O(N² + N·chunk_size),
    time O(N·V·d + N²·V + N²·d). For tied embeddings pass the shared matrix: the result is the gradient of the
    lm_head *use* of it only.

    Args:
        hidden: ``(N, d)`` the lm_head input h_t of each response token of the group.
        token_ids: ``(N,)`` the target tokens y_t.
        lm_head_weight: ``(V, d)`` W (no bias).
        traj_index: ``(N,)`` trajectory of each token, in [0, num_traj).
        num_traj: G.
        chunk_size: Vocab rows per chunk.
        temperature: τ of the log-probs (logits = W h / τ); the Gram scales as 1/τ².

    Returns:
        ``(G, G)`` symmetric, in the compute dtype (see the module docstring). A trajectory with no tokens has a
        zero row and column.
    """
    h, y, dtype = _lm_head_inputs(
        "lm_head_interference", hidden, token_ids, lm_head_weight, traj_index, num_traj, temperature
    )
    stats = _softmax_stats(h, y, lm_head_weight, dtype, chunk_size, gram=True)
    assert stats.rest_gram is not None
    total = stats.total  # (N,)
    rest_gram = stats.rest_gram / (total[:, None] * total[None, :])  # (N, N) ⟨p̃_t, p̃_s⟩
    residual = stats.residual  # (N,) r_t
    gathered = torch.exp(h @ lm_head_weight.detach()[y].to(dtype).T - stats.lse[:, None])  # (N, N) [s, t] = p_s[y_t]
    same_token = y[:, None] == y[None, :]  # (N, N) 1[y_t = y_s]
    both = residual[:, None] * residual[None, :]  # (N, N) r_t r_s
    cross = -(gathered.T * residual[:, None]) - gathered * residual[None, :]  # (N, N) −p_s[y_t] r_t − p_t[y_s] r_s
    q_kernel = torch.where(same_token, both, cross) + rest_gram  # (N, N) ⟨q_t, q_s⟩, SPEC 6.6 regrouped
    h_kernel = h @ h.T  # (N, N) ⟨h_t, h_s⟩ / τ² (h already carries 1/τ)
    return block_sum(q_kernel * h_kernel, traj_index, num_traj)  # (G, G) SEAL Lemma 3.2, W-block


@torch.no_grad()
def lm_head_mean_gradient_c(
    hidden: Tensor,
    token_ids: Tensor,
    lm_head_weight: Tensor,
    traj_index: Tensor,
    num_traj: int,
    *,
    chunk_size: int = 4096,
    temperature: float = 1.0,
) -> Tensor:
    """c_j = (1/G) Σ_i ⟨g_i^W, g_j^W⟩ of the lm_head block by the mean-gradient route (SPEC 6.6 (b)).

    ḡ = Σ_i g_i^W = Qᵀ H is built one vocab chunk at a time, and c_j = (1/G) Σ_{t∈j} q_tᵀ ḡ h_t needs only the
    chunk's rows of ḡ, so memory is O(N·chunk + chunk·d), never a V×d buffer. Two passes over the vocab (the
    softmax statistics first; q_t[y_t] = r_t as in :func:`lm_head_interference`); O(N·V·d) time.

    Args:
        hidden: ``(N, d)`` lm_head inputs.
        token_ids: ``(N,)`` target tokens.
        lm_head_weight: ``(V, d)``.
        traj_index: ``(N,)`` trajectory of each token.
        num_traj: G.
        chunk_size: Vocab rows per chunk.
        temperature: τ of the log-probs.

    Returns:
        ``(G,)`` c, equal to ``interference_c(lm_head_interference(...))``.
    """
    h, y, dtype = _lm_head_inputs(
        "lm_head_mean_gradient_c", hidden, token_ids, lm_head_weight, traj_index, num_traj, temperature
    )
    stats = _softmax_stats(h, y, lm_head_weight, dtype, chunk_size, gram=False)
    lse, residual = stats.lse, stats.residual  # (N,), (N,)
    rows = torch.arange(h.shape[0], device=h.device)  # (N,)
    per_token = torch.zeros(h.shape[0], dtype=dtype, device=h.device)  # (N,) q_tᵀ ḡ h_t
    for start, w_chunk in _vocab_chunks(lm_head_weight, chunk_size):
        q = -torch.exp(h @ w_chunk.detach().to(dtype).T - lse[:, None])  # (N, c) −p_t on the chunk
        here = (y >= start) & (y < start + w_chunk.shape[0])  # (N,)
        q[rows[here], y[here] - start] = residual[here]  # (N, c) q_t = e_{y_t} − p_t restricted to the chunk
        mean_grad = q.T @ h  # (c, d) the chunk's rows of ḡ = Qᵀ H (h carries 1/τ)
        per_token += (q * (h @ mean_grad.T)).sum(dim=1)  # (N,)
    return per_token.new_zeros(num_traj).index_add_(0, traj_index, per_token) / num_traj  # (G,) SEAL Lemma 3.3


def interference_c(gram: Tensor) -> Tensor:
    """c_j = (1/G) Σ_i ⟨g_i, g_j⟩ (SEAL Lemma 3.3; includes i = j).

    Args:
        gram: ``(G, G)`` Gram matrix.

    Returns:
        ``(G,)``.
    """
    return gram.sum(dim=0) / gram.shape[0]  # (G,)


def lemma33_prediction(gram: Tensor, advantages: Tensor, lr: float) -> float:
    """Predicted mean log-likelihood change of the group in one step: η Σ_j A_j c_j (SEAL Lemma 3.3).

    Exact to first order for the update θ ← θ + η Σ_j A_j g_j, i.e. SGD with step η on L = −Σ_j A_j ℓ_j over the
    parameters ``gram`` covers. For another loss, fold its per-trajectory weight into A (a token-mean loss
    over N tokens, for instance, is A_j / N).

    Args:
        gram: ``(G, G)`` ⟨g_i, g_j⟩.
        advantages: ``(G,)`` A_j.
        lr: η.

    Returns:
        The predicted (1/G) Σ_i Δℓ_i.
    """
    c = interference_c(gram)  # (G,)
    return float(lr * (advantages.to(c.dtype) * c).sum())  # SEAL Lemma 3.3: η Σ_j A_j c_j


def lemma34_entropy_change(logprobs: Tensor, delta_logprobs: Tensor, weights: Tensor | None = None) -> float:
    """Predicted entropy change ΔH = −Cov(log π(y), Δ log π(y)) (SEAL Lemma 3.4, App. A eq. 5).

    With ``weights`` = π(y) over an enumerable support this is the exact first-order change of H; with
    ``weights=None`` the covariance is the plain (1/n) sample covariance of sampled responses or tokens y ~ π,
    a Monte-Carlo estimate of the same quantity.

    Args:
        logprobs: ``(n,)`` log π(y) before the update.
        delta_logprobs: ``(n,)`` log π'(y) − log π(y).
        weights: ``(n,)`` nonnegative weights (normalised here), or None for uniform.

    Returns:
        The predicted ΔH; NaN for n = 0.
    """
    x = logprobs.detach().to(torch.float64).reshape(-1)  # (n,)
    y = delta_logprobs.detach().to(torch.float64).reshape(-1)  # (n,)
    if x.shape != y.shape:
        raise ValueError(
            f"lemma34_entropy_change: expected logprobs and delta_logprobs of one shape; got "
            f"{tuple(x.shape)} and {tuple(y.shape)}."
        )
    if x.numel() == 0:
        return float("nan")
    w = torch.ones_like(x) if weights is None else weights.detach().to(torch.float64).reshape(-1)  # (n,)
    w = w / w.sum()  # (n,)
    cov = (w * (x - (w * x).sum()) * (y - (w * y).sum())).sum()  # () Cov_w(log π, Δ log π)
    return float(-cov)  # SEAL Lemma 3.4: dH = −Cov(log π, dℓ)
