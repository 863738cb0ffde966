"""Every interference route (SPEC 6.6) against per-trajectory autograd on a tiny Qwen2, tied and untied;
SEAL Lemma 3.3 against the measured likelihood change of an SGD step."""

import re
from dataclasses import dataclass

import pytest
import torch

from agentgym_seal.errors import ConfigError
from agentgym_seal.monitor import (
    capture_linear,
    ghost_interference,
    interference_c,
    lemma33_prediction,
    linear_mean_gradient_c,
    lm_head_interference,
    lm_head_mean_gradient_c,
    reference_interference,
)

transformers = pytest.importorskip("transformers")


def tiny_qwen2(*, tied: bool = True, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    config = transformers.Qwen2Config(
        vocab_size=97,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=64,
        tie_word_embeddings=tied,
    )
    model = transformers.Qwen2ForCausalLM(config).to(dtype)
    model.eval()
    return model


@dataclass
class Group:
    """Right-padded rows; ``response_mask[b, t]`` marks positions t whose next token (t + 1) is a response token."""

    input_ids: torch.Tensor  # (B, L)
    attention_mask: torch.Tensor  # (B, L)
    response_mask: torch.Tensor  # (B, L - 1)
    row_traj: torch.Tensor  # (B,)
    num_traj: int

    @property
    def targets(self) -> torch.Tensor:
        return self.input_ids[:, 1:]  # (B, L - 1)

    def token_traj(self) -> torch.Tensor:
        return self.row_traj[:, None].expand_as(self.response_mask)[self.response_mask]  # (N,)


def make_group(seed: int = 0, row_traj: tuple[int, ...] = (0, 0, 1, 2, 2, 2, 3), width: int = 14) -> Group:
    """Rows of random tokens: a 3-5 token prompt, then a response; trajectory ``row_traj[b]`` owns row b."""
    gen = torch.Generator().manual_seed(seed)
    rows = len(row_traj)
    input_ids = torch.zeros(rows, width, dtype=torch.long)
    attention_mask = torch.zeros(rows, width, dtype=torch.long)
    response_mask = torch.zeros(rows, width - 1, dtype=torch.bool)
    for b in range(rows):
        prompt = int(torch.randint(3, 6, (), generator=gen))
        response = int(torch.randint(2, width - prompt + 1, (), generator=gen))
        length = prompt + response
        input_ids[b, :length] = torch.randint(1, 97, (length,), generator=gen)
        attention_mask[b, :length] = 1
        response_mask[b, prompt - 1 : length - 1] = True
    return Group(input_ids, attention_mask, response_mask, torch.tensor(row_traj), max(row_traj) + 1)


def token_loglik(logits: torch.Tensor, group: Group, rows: torch.Tensor | None = None) -> torch.Tensor:
    """Σ of the response tokens' log-probs over ``rows`` (all rows by default); logits (B, L - 1, V)."""
    rows = torch.ones(group.row_traj.numel(), dtype=torch.bool) if rows is None else rows
    logp = torch.log_softmax(logits, dim=-1).gather(-1, group.targets[rows][..., None]).squeeze(-1)  # (b, L - 1)
    return (logp * group.response_mask[rows]).sum()


def model_logits(model: torch.nn.Module, group: Group, rows: torch.Tensor) -> torch.Tensor:
    out = model(input_ids=group.input_ids[rows], attention_mask=group.attention_mask[rows])
    return out.logits[:, :-1]  # (b, L - 1, V)


def rel_err(got: torch.Tensor, ref: torch.Tensor) -> float:
    """Frobenius-relative error."""
    return float((got.double() - ref.double()).norm() / ref.double().norm())


@pytest.fixture(scope="module")
def group() -> Group:
    return make_group(0)


RTOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def final_hidden(model: torch.nn.Module, group: Group) -> torch.Tensor:
    with torch.no_grad():
        out = model.model(input_ids=group.input_ids, attention_mask=group.attention_mask)
    return out.last_hidden_state[:, :-1]  # (B, L - 1, d), the lm_head input (after the final norm)


def lm_head_reference(hidden: torch.Tensor, weight: torch.Tensor, group: Group, temperature: float) -> torch.Tensor:
    """Autograd on a separate copy of W used only in the final projection (the lm_head use of a tied W)."""
    copy = weight.detach().clone().requires_grad_(True)

    def loglik(i: int) -> torch.Tensor:
        rows = group.row_traj == i
        return token_loglik(hidden[rows] @ copy.T / temperature, group, rows)

    return reference_interference(loglik, [copy], group.num_traj)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize(("chunk_size", "temperature"), [(4096, 1.0), (10, 1.0), (1, 0.7), (96, 1.3)])
def test_lm_head_routes_match_autograd(
    group: Group, dtype: torch.dtype, tied: bool, chunk_size: int, temperature: float
) -> None:
    model = tiny_qwen2(tied=tied, dtype=dtype)
    weight = model.lm_head.weight
    assert (weight is model.model.embed_tokens.weight) == tied
    hidden = final_hidden(model, group)
    ref = lm_head_reference(hidden, weight, group, temperature)
    args = (hidden[group.response_mask], group.targets[group.response_mask], weight, group.token_traj(), group.num_traj)
    gram = lm_head_interference(*args, chunk_size=chunk_size, temperature=temperature)
    c = lm_head_mean_gradient_c(*args, chunk_size=chunk_size, temperature=temperature)
    assert gram.shape == (4, 4) and c.shape == (4,) and gram.dtype == dtype
    assert rel_err(gram, ref) <= RTOL[dtype]
    assert rel_err(c, interference_c(ref)) <= RTOL[dtype]
    torch.testing.assert_close(gram, gram.T)


def test_untied_lm_head_matches_full_model_autograd(group: Group) -> None:
    model = tiny_qwen2(tied=False)

    def loglik(i: int) -> torch.Tensor:
        rows = group.row_traj == i
        return token_loglik(model_logits(model, group, rows), group, rows)

    ref = reference_interference(loglik, [model.lm_head.weight], group.num_traj)
    hidden = final_hidden(model, group)
    gram = lm_head_interference(
        hidden[group.response_mask], group.targets[group.response_mask], model.lm_head.weight, group.token_traj(), 4
    )
    assert rel_err(gram, ref) <= 1e-10


def ghost_capture(model: torch.nn.Module, layer: torch.nn.Module, group: Group) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward/backward of Σ_i ℓ_i with the layer's a_t and b_t captured at every position."""
    with capture_linear(layer) as cap:
        token_loglik(model_logits(model, group, torch.ones(len(group.row_traj), dtype=torch.bool)), group).backward()
    model.zero_grad(set_to_none=True)
    return cap.flat()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("layer_name", ["mlp.down_proj", "mlp.gate_proj", "self_attn.q_proj"])
def test_ghost_matches_autograd_on_a_decoder_linear(group: Group, dtype: torch.dtype, layer_name: str) -> None:
    model = tiny_qwen2(dtype=dtype)
    layer = model.model.layers[0].get_submodule(layer_name)
    bias = layer.bias is not None
    assert bias == (layer_name == "self_attn.q_proj")  # Qwen2: q/k/v carry a bias, the MLP does not
    params = [layer.weight] + ([layer.bias] if bias else [])

    def loglik(i: int) -> torch.Tensor:
        rows = group.row_traj == i
        return token_loglik(model_logits(model, group, rows), group, rows)

    ref = reference_interference(loglik, params, group.num_traj)
    a, b = ghost_capture(model, layer, group)
    width = group.input_ids.shape[1]
    traj_index = group.row_traj.repeat_interleave(width)  # (B·L,) every position, padding included
    assert a.shape == (len(group.row_traj) * width, layer.in_features)
    gram = ghost_interference(a, b, traj_index, group.num_traj, bias=bias)
    c = linear_mean_gradient_c(a, b, traj_index, group.num_traj, bias=bias)
    assert rel_err(gram, ref) <= RTOL[dtype]
    assert rel_err(c, interference_c(ref)) <= RTOL[dtype]


def test_ghost_on_lm_head_equals_kernel_route(group: Group) -> None:
    model = tiny_qwen2(tied=True)
    a, b = ghost_capture(model, model.lm_head, group)
    width = group.input_ids.shape[1]
    ghost = ghost_interference(a, b, group.row_traj.repeat_interleave(width), 4)
    hidden = final_hidden(model, group)
    kernel = lm_head_interference(
        hidden[group.response_mask], group.targets[group.response_mask], model.lm_head.weight, group.token_traj(), 4
    )
    assert rel_err(ghost, kernel) <= 1e-10


def test_single_trajectory_and_empty_trajectory() -> None:
    model = tiny_qwen2()
    single = make_group(1, row_traj=(0, 0))
    hidden = final_hidden(model, single)
    h, y = hidden[single.response_mask], single.targets[single.response_mask]
    gram = lm_head_interference(h, y, model.lm_head.weight, single.token_traj(), 1)
    assert gram.shape == (1, 1) and rel_err(gram, lm_head_reference(hidden, model.lm_head.weight, single, 1.0)) < 1e-10
    padded = lm_head_interference(h, y, model.lm_head.weight, single.token_traj(), 3)  # trajectories 1, 2: no tokens
    assert torch.equal(padded[1:], torch.zeros(2, 3, dtype=padded.dtype)) and padded[0, 0] == gram[0, 0]
    assert torch.equal(lm_head_mean_gradient_c(h, y, model.lm_head.weight, single.token_traj(), 3)[1:], torch.zeros(2))
    none = lm_head_interference(h[:0], y[:0], model.lm_head.weight, single.token_traj()[:0], 2)
    assert torch.equal(none, torch.zeros(2, 2, dtype=none.dtype))


def test_non_finite_hidden_propagates() -> None:
    h = torch.randn(3, 4)
    h[1, 0] = float("nan")
    gram = lm_head_interference(h, torch.tensor([0, 1, 2]), torch.randn(5, 4), torch.tensor([0, 1, 1]), 2)
    assert torch.isnan(gram).any()


def test_bad_input_errors() -> None:
    h, w, y = torch.randn(3, 4), torch.randn(5, 4), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match=re.escape("expected traj_index values in [0, 2); got [0, 2]")):
        lm_head_interference(h, y, w, torch.tensor([0, 1, 2]), 2)
    with pytest.raises(ConfigError, match=re.escape("option 'num_traj' of lm_head_interference")):
        lm_head_interference(h, y, w, torch.tensor([0, 0, 0]), 0)
    with pytest.raises(ValueError, match="one row per token"):
        lm_head_interference(h, y[:2], w, torch.tensor([0, 0, 0]), 1)
    with pytest.raises(ValueError, match="expected an integer traj_index"):
        ghost_interference(h, h, torch.zeros(3), 1)
    with pytest.raises(ValueError, match=re.escape("hidden (N, d) and lm_head_weight (V, d)")):
        lm_head_interference(h, y, torch.randn(5, 3), torch.tensor([0, 0, 0]), 1)
    with pytest.raises(ConfigError, match="chunk_size"):
        lm_head_interference(h, y, w, torch.tensor([0, 0, 0]), 1, chunk_size=0)
    with pytest.raises(ConfigError, match="temperature"):
        lm_head_mean_gradient_c(h, y, w, torch.tensor([0, 0, 0]), 1, temperature=0.0)


def test_capture_linear_needs_a_backward_and_removes_its_hook() -> None:
    layer = torch.nn.Linear(3, 2)
    with capture_linear(layer) as cap:
        out = layer(torch.randn(4, 3))
    with pytest.raises(RuntimeError, match="no complete forward/backward recorded"):
        cap.flat()
    out.sum().backward()  # the tensor hook still fires for the recorded call
    a, b = cap.flat()
    assert a.shape == (4, 3) and torch.equal(b, torch.ones(4, 2))
    layer(torch.randn(2, 3))
    assert len(cap.inputs) == 1  # the forward hook was removed on exit
    with capture_linear(layer) as nothing, torch.no_grad():
        layer(torch.randn(2, 3))
    with pytest.raises(RuntimeError):
        nothing.flat()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_lemma33_prediction_matches_an_sgd_step_on_the_lm_head(group: Group, dtype: torch.dtype) -> None:
    model = tiny_qwen2(tied=False, dtype=dtype)
    rows_of = [group.row_traj == i for i in range(group.num_traj)]

    def logliks() -> torch.Tensor:
        return torch.stack([token_loglik(model_logits(model, group, rows), group, rows) for rows in rows_of])  # (G,)

    advantages = torch.tensor([1.0, -0.5, 0.8, -1.3], dtype=dtype)  # centred
    hidden = final_hidden(model, group)
    args = (hidden[group.response_mask], group.targets[group.response_mask], model.lm_head.weight, group.token_traj())
    gram = lm_head_interference(*args, group.num_traj)
    c = lm_head_mean_gradient_c(*args, group.num_traj)  # before the step changes the weight in place
    lr = 1e-4
    with torch.no_grad():
        before = logliks()
    optimizer = torch.optim.SGD([model.lm_head.weight], lr=lr)
    (-(advantages * logliks()).sum()).backward()  # SEAL Eq. 1: L = −Σ_j A_j ℓ_j
    optimizer.step()
    with torch.no_grad():
        measured = float((logliks() - before).mean())
    predicted = lemma33_prediction(gram, advantages, lr)
    assert abs(predicted - measured) <= 0.1 * abs(measured), (predicted, measured)
    assert float(lr * (advantages * c).sum()) == pytest.approx(predicted, rel=1e-5)


def test_lm_head_routes_stay_accurate_in_float32_on_confident_tokens(group: Group) -> None:
    model = tiny_qwen2(dtype=torch.float64)
    weight = model.lm_head.weight.detach()
    hidden = final_hidden(model, group)
    targets = group.targets
    hidden = hidden + 20.0 * weight[targets] / weight[targets].norm(dim=-1, keepdim=True) ** 2  # logit of y_t + 20
    p_target = torch.softmax(hidden @ weight.T, dim=-1).gather(-1, targets[..., None]).squeeze(-1)
    assert float(1 - p_target[group.response_mask].median()) < 1e-4  # 1 − p ~ 3e-5: where 1 − 2p + |p|² cancels
    ref = lm_head_reference(hidden, weight, group, 1.0)
    h32, w32 = hidden[group.response_mask].float(), weight.float()
    args = (h32, targets[group.response_mask], w32, group.token_traj(), group.num_traj)
    assert rel_err(lm_head_interference(*args, chunk_size=7), ref) <= 1e-5
    assert rel_err(lm_head_mean_gradient_c(*args, chunk_size=7), interference_c(ref)) <= 1e-5
