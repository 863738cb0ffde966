"""Slow autograd reference for the interference routes (SPEC 6.6): materialises every g_i."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor


def reference_interference(traj_loglik: Callable[[int], Tensor], params: Sequence[Tensor], num_traj: int) -> Tensor:
    """Slow reference: materialises each g_i = ∇ ℓ_i with autograd and returns their Gram matrix.

    Memory O(G·|params|); for tests and benchmarks only.

    Args:
        traj_loglik: ``i -> ℓ_i`` (a 0-d tensor with a graph to ``params``), rebuilt on each call.
        params: The parameters the gradients are taken over (a parameter unused by ℓ_i contributes 0).
        num_traj: G.

    Returns:
        ``(G, G)`` float64.
    """
    grads = []
    for i in range(num_traj):
        parts = torch.autograd.grad(traj_loglik(i), list(params), allow_unused=True)
        flat = [
            torch.zeros(p.numel(), dtype=torch.float64, device=p.device)
            if g is None
            else g.detach().reshape(-1).double()
            for p, g in zip(params, parts, strict=True)
        ]
        grads.append(torch.cat(flat))  # (P,)
    stacked = torch.stack(grads)  # (G, P)
    return stacked @ stacked.T  # (G, G)
