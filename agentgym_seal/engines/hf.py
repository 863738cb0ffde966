"""The ``hf`` engine: batched sampling with a KV cache on a transformers causal LM."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from agentgym_seal.deps import require
from agentgym_seal.engines.base import FinishReason, GenerationOutput, SamplingParams


class HFEngine:
    """Samples from a transformers causal LM, all prompts of a turn in one left-padded batch.

    The loop is ours rather than ``model.generate`` so that it returns the exact per-token log-probs of
    the sampled tokens (and the entropy of each token's sampling distribution, from the same float32
    log-softmax), stops each row on its own stop tokens, and costs one forward per new token.

    Args:
        model: A ``PreTrainedModel`` (the learner's own module on CPU, so syncing is free).
        pad_token_id: Id used for left padding and for finished rows.
    """

    provides_entropies = True

    def __init__(self, model: Any, pad_token_id: int) -> None:
        self.model = model
        self.pad_token_id = int(pad_token_id)
        self._cache_kwarg = _cache_kwarg(model)

    def sync_weights(self, model: Any) -> None:
        """Copies ``model``'s weights in, unless it is the very module this engine samples from."""
        if model is not self.model:
            self.model.load_state_dict(model.state_dict())

    def generate(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, *, seeds: Sequence[int] | None = None
    ) -> GenerationOutput:
        """Samples one completion per prompt (see :class:`GenerationEngine`).

        With ``seeds``, row ``i`` draws from its own generator seeded with ``seeds[i]``: its tokens then
        depend only on its own logits, whatever else is in the batch.
        """
        torch = require("torch", "train")
        if not prompts:
            return GenerationOutput([], [], [], [])
        if seeds is not None and len(seeds) != len(prompts):
            raise ValueError(f"seeds: expected one per prompt ({len(prompts)}), got {len(seeds)}")
        device = next(self.model.parameters()).device
        n, width = len(prompts), max(len(p) for p in prompts)
        input_ids = torch.full((n, width), self.pad_token_id, dtype=torch.long)  # (N, P)
        attention = torch.zeros((n, width), dtype=torch.long)  # (N, P)
        for i, prompt in enumerate(prompts):
            if len(prompt) == 0:
                raise ValueError(f"prompt {i} is empty: every prompt needs at least one token")
            input_ids[i, width - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
            attention[i, width - len(prompt) :] = 1
        input_ids, attention = input_ids.to(device), attention.to(device)
        generator = torch.Generator(device=device)
        if params.seed is not None:
            generator.manual_seed(params.seed)
        else:
            generator.seed()
        generators = [generator] if seeds is None else [torch.Generator(device=device).manual_seed(s) for s in seeds]
        stop = torch.tensor(sorted(set(params.stop_token_ids)) or [-1], device=device)  # (S,)

        out_tokens = torch.full((n, params.max_new_tokens), self.pad_token_id, dtype=torch.long, device=device)
        out_logprobs = torch.zeros((n, params.max_new_tokens), dtype=torch.float32, device=device)
        out_entropies = torch.zeros((n, params.max_new_tokens), dtype=torch.float32, device=device)
        lengths = torch.zeros(n, dtype=torch.long, device=device)  # (N,)
        done = torch.zeros(n, dtype=torch.bool, device=device)  # (N,)
        stopped = torch.zeros(n, dtype=torch.bool, device=device)  # (N,)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                positions = (attention.cumsum(-1) - 1).clamp(min=0)  # (N, P)
                result = self.model(
                    input_ids=input_ids, attention_mask=attention, position_ids=positions, use_cache=True
                )
                past, logits = _cache_of(result), result.logits[:, -1, :].float()  # (N, V)
                next_pos = positions[:, -1] + 1  # (N,)
                for t in range(params.max_new_tokens):
                    token, logprob, entropy = _sample(torch, logits, params, generators)  # (N,) x3
                    token = torch.where(done, torch.full_like(token, self.pad_token_id), token)
                    out_tokens[:, t] = token
                    out_logprobs[:, t] = logprob
                    out_entropies[:, t] = entropy
                    lengths += (~done).long()
                    hit = torch.isin(token, stop) & ~done
                    stopped |= hit
                    done |= hit
                    if bool(done.all()) or t == params.max_new_tokens - 1:
                        break
                    attention = torch.cat([attention, (~done).long()[:, None]], dim=1)  # (N, P+t+1)
                    result = self.model(
                        input_ids=token[:, None],
                        attention_mask=attention,
                        position_ids=next_pos[:, None],
                        use_cache=True,
                        **{self._cache_kwarg: past},
                    )
                    past, logits = _cache_of(result), result.logits[:, -1, :].float()
                    next_pos = next_pos + 1
        finally:
            self.model.train(was_training)
        token_ids = [out_tokens[i, : int(lengths[i])].tolist() for i in range(n)]
        logprobs = [out_logprobs[i, : int(lengths[i])].tolist() for i in range(n)]
        entropies = [out_entropies[i, : int(lengths[i])].tolist() for i in range(n)]
        reasons: list[FinishReason] = ["stop" if bool(s) else "length" for s in stopped]
        return GenerationOutput(token_ids, logprobs, reasons, entropies)


def _cache_kwarg(model: Any) -> str:
    """The forward keyword that takes the KV cache: ``cache`` from transformers 5.2x, ``past_key_values`` before.

    A peft wrapper's forward takes ``**kwargs`` and hands them to the model inside, whose signature decides.
    """
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        params = inspect.signature(inner.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def _cache_of(result: Any) -> Any:
    """The KV cache of a forward's output, under either name (reading the old name warns on new versions)."""
    cache = getattr(result, "cache", None)
    return cache if cache is not None else result.past_key_values


def _sample(torch: Any, logits: Any, params: SamplingParams, generators: list[Any]) -> tuple[Any, Any, Any]:
    """Draws one token per row; returns it, its log-prob and the entropy of ``log_softmax(logits / T)``.

    One generator draws for the whole batch; one per row (``len(generators) == N``) draws row by row.
    """
    if params.temperature == 0:
        logp = torch.log_softmax(logits, dim=-1)  # (N, V)
        token = logp.argmax(dim=-1)  # (N,)
        return token, logp.gather(-1, token[:, None]).squeeze(-1), _entropy(torch, logp)
    logp = torch.log_softmax(logits / params.temperature, dim=-1)  # (N, V)
    probs = logp.exp()  # (N, V)
    entropy = -(probs * logp).nan_to_num().sum(-1)  # (N,) before top-p truncation; 0 * -inf -> 0
    if params.top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)  # (N, V)
        keep = sorted_p.cumsum(-1) - sorted_p < params.top_p  # always keeps the top token
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    if len(generators) == 1:
        token = torch.multinomial(probs, 1, generator=generators[0]).squeeze(-1)  # (N,)
    else:
        rows = [torch.multinomial(probs[i : i + 1], 1, generator=g) for i, g in enumerate(generators)]
        token = torch.cat(rows).squeeze(-1)  # (N,)
    return token, logp.gather(-1, token[:, None]).squeeze(-1), entropy


def _entropy(torch: Any, logp: Any) -> Any:
    """Row entropies ``-sum p log p`` of log-probabilities ``logp`` (N, V) -> (N,)."""
    return -(logp.exp() * logp).nan_to_num().sum(-1)
