"""The generation-engine protocol shared by the ``hf`` and ``vllm`` engines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agentgym_seal.errors import ConfigError

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class SamplingParams:
    """How to sample.

    Attributes:
        temperature: Softmax temperature; 0 means greedy.
        top_p: Nucleus sampling mass (1.0 = off).
        max_new_tokens: Cap on generated tokens per prompt.
        stop_token_ids: Generation stops after any of these (EOS, the closing action tag...); the stop
            token is part of the output.
        seed: Seed of the sampler's generator (``None``: nondeterministic).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    stop_token_ids: tuple[int, ...] = field(default_factory=tuple)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ConfigError(f"temperature must be >= 0; got {self.temperature}. Fix: use 0 for greedy.")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"top_p must be in (0, 1]; got {self.top_p}.")
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be >= 1; got {self.max_new_tokens}.")


@dataclass(frozen=True)
class GenerationOutput:
    """One batch of completions, in prompt order.

    Attributes:
        token_ids: Generated token ids per prompt (stop token included when it was hit).
        logprobs: Log-probability of each generated token under the temperature-scaled policy
            (``log_softmax(logits / T)``; greedy uses T = 1), the quantity the learner recomputes.
        finish_reasons: ``stop`` (hit a stop token) or ``length`` (hit ``max_new_tokens``).
        entropies: Per generated token, the entropy (nats) of the distribution it was drawn from, taken as
            ``softmax(logits / T)`` over the whole vocabulary (greedy uses T = 1, like ``logprobs``; top-p
            truncation is not applied, so this is the entropy the learner's ``actor/entropy`` measures).
            ``None`` when the engine cannot provide them (see :attr:`GenerationEngine.provides_entropies`).
    """

    token_ids: list[list[int]]
    logprobs: list[list[float]]
    finish_reasons: list[FinishReason]
    entropies: list[list[float]] | None = None


class GenerationEngine(Protocol):
    """Batched generation from token ids. Implementations: ``hf`` (transformers), ``vllm``.

    ``provides_entropies`` says whether :attr:`GenerationOutput.entropies` is filled; consumers that need
    them (the entropy reward shapers) check it before training starts.
    """

    provides_entropies: bool

    def generate(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, *, seeds: Sequence[int] | None = None
    ) -> GenerationOutput:
        """Generates one completion per prompt.

        ``seeds`` (one per prompt, overriding ``params.seed``) gives each prompt its own sampler, so a
        prompt's draws do not depend on which other prompts share the batch (vLLM: a per-request seed).
        """
        ...

    def sync_weights(self, model: Any) -> None:
        """Makes the engine sample from ``model``'s current weights (after a learner update)."""
        ...
