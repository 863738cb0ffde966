"""Gradient interference of any linear layer from per-token inputs and output gradients, "ghost" style (SPEC 6.6).

A single forward and backward of Σ_i ℓ_i gives every per-token output gradient b_t (trajectories are independent
rows, so ∂(Σ_k ℓ_k)/∂z_t = ∂ℓ_{i(t)}/∂z_t); :func:`capture_linear` records a_t and b_t with hooks. From them the
G×G Gram matrix costs O(N²(d_in + d_out)) and c_j O(N·d_in·d_out), against O(G·d_in·d_out) memory for
materialised per-trajectory gradients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from agentgym_seal.monitor.interference import _check_tokens, block_sum


def _linear_inputs(
    where: str, module_inputs: Tensor, output_grads: Tensor, traj_index: Tensor, num_traj: int
) -> tuple[Tensor, Tensor]:
    _check_tokens(where, module_inputs.shape[0], traj_index, num_traj, inputs=module_inputs, grads=output_grads)
    if module_inputs.dim() != 2 or output_grads.dim() != 2:
        raise ValueError(
            f"{where}: expected module_inputs (N, d_in) and output_grads (N, d_out); got "
            f"{tuple(module_inputs.shape)} and {tuple(output_grads.shape)}."
        )
    dtype = torch.promote_types(torch.promote_types(module_inputs.dtype, output_grads.dtype), torch.float32)
    return module_inputs.detach().to(dtype), output_grads.detach().to(dtype)


@torch.no_grad()
def ghost_interference(
    module_inputs: Tensor, output_grads: Tensor, traj_index: Tensor, num_traj: int, *, bias: bool = False
) -> Tensor:
    """Gram matrix ⟨G_i, G_j⟩ of a linear layer's per-trajectory gradients, "ghost" style (SPEC 6.6).

    For z_t = W a_t (+ b) with b_t = ∂(Σ_k ℓ_k)/∂z_t, G_i = Σ_{t∈i} b_t a_tᵀ and
    ⟨G_i, G_j⟩ = Σ_{t∈i, s∈j} ⟨a_t, a_s⟩⟨b_t, b_s⟩ (+ ⟨b_t, b_s⟩ for the bias). One forward/backward of the summed
    log-likelihood gives every b_t, because trajectories are independent rows. Pass *every* position of each row
    (prompt tokens too: for layers below the lm_head they carry gradient); padding has b_t = 0 and adds nothing.

    Args:
        module_inputs: ``(N, d_in)`` a_t.
        output_grads: ``(N, d_out)`` b_t.
        traj_index: ``(N,)`` trajectory of each position.
        num_traj: G.
        bias: Include the bias gradient's block.

    Returns:
        ``(G, G)``.
    """
    a, b = _linear_inputs("ghost_interference", module_inputs, output_grads, traj_index, num_traj)
    grad_kernel = b @ b.T  # (N, N) ⟨b_t, b_s⟩
    input_kernel = a @ a.T + (1.0 if bias else 0.0)  # (N, N) ⟨a_t, a_s⟩ (+1: the bias's input is 1)
    return block_sum(input_kernel * grad_kernel, traj_index, num_traj)  # (G, G) SPEC 6.6 ghost


@torch.no_grad()
def linear_mean_gradient_c(
    module_inputs: Tensor, output_grads: Tensor, traj_index: Tensor, num_traj: int, *, bias: bool = False
) -> Tensor:
    """c_j of a linear layer by the mean-gradient route: ḡ = Σ_t b_t a_tᵀ, c_j = (1/G) Σ_{t∈j} b_tᵀ ḡ a_t (SPEC 6.6).

    Args:
        module_inputs: ``(N, d_in)`` a_t.
        output_grads: ``(N, d_out)`` b_t.
        traj_index: ``(N,)`` trajectory of each position.
        num_traj: G.
        bias: Include the bias gradient's block.

    Returns:
        ``(G,)`` c; O(N·d_in·d_out) time and one d_out×d_in buffer.
    """
    a, b = _linear_inputs("linear_mean_gradient_c", module_inputs, output_grads, traj_index, num_traj)
    mean_grad = b.T @ a  # (d_out, d_in) ḡ
    per_token = ((a @ mean_grad.T) * b).sum(dim=1)  # (N,) b_tᵀ ḡ a_t
    if bias:
        per_token = per_token + b @ b.sum(dim=0)  # (N,) b_tᵀ Σ_s b_s
    return per_token.new_zeros(num_traj).index_add_(0, traj_index, per_token) / num_traj  # (G,)


@dataclass
class LinearCapture:
    """Per-call inputs a and output gradients b of a linear module, recorded by :func:`capture_linear`.

    Attributes:
        inputs: One ``(..., d_in)`` tensor per forward call, detached.
        output_grads: One ``(..., d_out)`` tensor per forward call (None until its backward ran), detached.
    """

    inputs: list[Tensor] = field(default_factory=list)
    output_grads: list[Tensor | None] = field(default_factory=list)

    def flat(self) -> tuple[Tensor, Tensor]:
        """All calls' positions flattened and concatenated in call order: ``(N, d_in)`` and ``(N, d_out)``.

        Raises:
            RuntimeError: Nothing was recorded, or a call's backward has not run.
        """
        if not self.inputs or any(g is None for g in self.output_grads):
            raise RuntimeError(
                "capture_linear: no complete forward/backward recorded. Fix: run the forward and "
                "backward of Σ_i ℓ_i inside the `with capture_linear(module)` block, with grad enabled."
            )
        a = torch.cat([x.reshape(-1, x.shape[-1]) for x in self.inputs])  # (N, d_in)
        b = torch.cat([g.reshape(-1, g.shape[-1]) for g in self.output_grads if g is not None])  # (N, d_out)
        return a, b


@contextmanager
def capture_linear(module: nn.Module) -> Iterator[LinearCapture]:
    """Records a_t and b_t of ``module`` (an ``nn.Linear``-like layer) over one forward/backward (SPEC 6.6).

    Example::

        with capture_linear(model.model.layers[0].mlp.down_proj) as cap:
            loglik(model, batch).sum().backward()
        a, b = cap.flat()  # (B·L, d_in), (B·L, d_out); traj_index = row_traj.repeat_interleave(L)
        gram = ghost_interference(a, b, traj_index, num_traj)

    Args:
        module: The layer; its first positional input is a_t, its output z_t.

    Yields:
        The :class:`LinearCapture` being filled. The hooks are removed on exit.
    """
    capture = LinearCapture()

    def on_forward(_: nn.Module, args: tuple[Tensor, ...], output: Tensor) -> None:
        call = len(capture.inputs)
        capture.inputs.append(args[0].detach())
        capture.output_grads.append(None)
        if output.requires_grad:

            def on_grad(grad: Tensor) -> None:
                capture.output_grads[call] = grad.detach()

            output.register_hook(on_grad)  # type: ignore[no-untyped-call]

    handle = module.register_forward_hook(on_forward)
    try:
        yield capture
    finally:
        handle.remove()
