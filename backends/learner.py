"""The learner: composes advantages, the policy loss, KL, entropy bonus and SEAL into optimizer steps.

It only sees :class:`~agentgym_seal.rollout.RolloutBatch` step samples (never an env). Every formula
lives in the pure functions of :mod:`.advantages`, :mod:`.losses` and :mod:`.seal`; this module batches
tensors and steps the optimizer (SPEC 1.3: AdamW, grad clip, skip on a non-finite grad norm).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import torch
from torch import Tensor

from agentgym_seal.errors import ConfigError
from agentgym_seal.monitor.hooks import ForwardChunk, LearnerObserver
from agentgym_seal.rollout.batch import RolloutBatch, StepSample

from .advantages import AdvantageConfig, AdvantageInputs, GRPOConfig, compute_advantages
from .batching import TokenBatch, by_length, collate, even_split
from .entropy import chunked_entropy, entropy_from_logits
from .losses import (
    PolicyLossConfig,
    PolicyLossInputs,
    PPOClipConfig,
    agg_loss,
    compute_policy_loss,
    kl_penalty,
    seal_loss,
)
from .seal import SEALConfig, SEALHead, seal_labels

KLKind = Literal["low_var_kl", "k1", "abs", "mse"]
_ACTOR_KEYS = (
    "actor/pg_loss", "actor/pg_clipfrac", "actor/pg_clipfrac_lower", "actor/ppo_kl", "actor/kl", "actor/seal_loss",
    "actor/grad_norm",
)  # fmt: skip


@dataclass(frozen=True)
class LearnerConfig:
    """Optimisation settings (SPEC 1.3-1.4).

    Attributes:
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        grad_clip: Max global grad norm; a non-finite norm skips the step (counted).
        ppo_epochs: Passes over each rollout batch.
        mini_batch_size: Most step samples per optimizer step: the trainable samples are split into
            ceil(N / mini_batch_size) mini-batches of near-equal size (see :func:`even_split`).
        micro_batch_size: Step samples per forward/backward (gradient accumulation).
        temperature: The rollout temperature; logits are divided by it (SPEC 4.1).
        entropy_coeff: Entropy bonus weight c_H (0 disables the term).
        kl_coef: Weight of the KL to the frozen reference policy (0 disables it).
        kl_kind: KL estimator (``low_var_kl`` = k3).
        shuffle_seed: Seed of the mini-batch shuffling (and of the SEAL head's init).
        drop_zero_advantage: Leave samples with zero advantage (groups whose outcomes all tie) out of the
            gradient step, as DAPO's dynamic sampling does: their policy-gradient term is exactly 0, so this
            only drops their KL, entropy-bonus and SEAL terms and saves their forward/backward. The old-policy
            pass (entropy metric) still covers every sample.
        penalise_inadmissible: The invalid-action penalty also hits well-formed actions the env cannot
            execute (not admissible), not only format errors (the reference's rule, SPEC 1.1).
        negative_advantage_scale: Multiplies negative advantages before the update (1 = GRPO/GiGPO as
            specified; 0 = reinforce only better-than-group samples, as RAFT / filtered behaviour cloning).
        credit_inadmissible: Let a positive advantage reach a well-formed action the env could not execute
            (not admissible: "Nothing happens."). ``False`` clips those steps' advantages at 0, so a winning
            trajectory does not reinforce the no-op turns it wasted on the way (negative credit is kept).
    """

    lr: float = 1e-6
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ppo_epochs: int = 1
    mini_batch_size: int = 256
    micro_batch_size: int = 16
    temperature: float = 1.0
    entropy_coeff: float = 0.001
    kl_coef: float = 0.0
    kl_kind: KLKind = "low_var_kl"
    shuffle_seed: int = 0
    drop_zero_advantage: bool = False
    penalise_inadmissible: bool = False
    negative_advantage_scale: float = 1.0
    credit_inadmissible: bool = True

    def __post_init__(self) -> None:
        for name in ("lr", "grad_clip", "temperature"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"LearnerConfig.{name} must be > 0; got {getattr(self, name)}.")
        if not 0.0 <= self.negative_advantage_scale <= 1.0:
            raise ConfigError(
                f"LearnerConfig.negative_advantage_scale must be in [0, 1]; got {self.negative_advantage_scale}."
            )
        for name in ("ppo_epochs", "mini_batch_size", "micro_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"LearnerConfig.{name} must be >= 1; got {getattr(self, name)}.")


@dataclass
class _OldPolicy:
    """Per-sample tensors of the pre-update policy (computed once per batch, no grad)."""

    logprobs: list[Tensor] = field(default_factory=list)  # each (R_i,)
    ref_logprobs: list[Tensor] = field(default_factory=list)
    entropy_sum: float = 0.0
    tokens: int = 0
    on_policy: bool = False
    """No pre-update pass was run: the batch is one mini-batch of one epoch, so the update's own forward is
    the old policy (ratio 1, as TRL does at ``num_iterations=1``); entropy then covers the trained samples."""


class Learner:
    """Trains a causal LM (and, with SEAL, its classifier head) on rollout batches.

    Args:
        model: The policy (a transformers causal LM), updated in place.
        pad_id: Padding token id.
        cfg: Optimisation settings.
        advantage: Estimator config (its class picks the estimator: GRPO or GiGPO).
        policy_loss: Policy-loss config (PPO clip, Clip-Cov or KL-Cov).
        seal: SEAL settings; ``alpha == 0`` builds no head and adds nothing.
        ref_model: Frozen reference policy for the KL term (required iff ``cfg.kl_coef > 0``).
    """

    def __init__(
        self,
        model: Any,
        pad_id: int,
        *,
        cfg: LearnerConfig | None = None,
        advantage: AdvantageConfig | None = None,
        policy_loss: PolicyLossConfig | None = None,
        seal: SEALConfig | None = None,
        ref_model: Any = None,
    ) -> None:
        self.model = model
        self.pad_id = pad_id
        self.device = next(model.parameters()).device
        """Where the policy's weights are (batches, advantages and the SEAL head go there)."""
        self.cfg = cfg or LearnerConfig()
        self.advantage_cfg: AdvantageConfig = advantage or GRPOConfig()
        self.policy_loss_cfg: PolicyLossConfig = policy_loss or PPOClipConfig()
        self.seal_cfg = seal or SEALConfig(alpha=0.0)
        if self.cfg.kl_coef > 0 and ref_model is None:
            raise ConfigError("kl_coef > 0 needs a reference policy. Fix: pass ref_model, or set kl_coef=0.")
        self.ref_model = ref_model
        self.head: SEALHead | None = None
        if self.seal_cfg.alpha > 0:
            with torch.random.fork_rng():  # the head's init must not depend on what ran before
                torch.manual_seed(self.cfg.shuffle_seed)
                self.head = self.seal_cfg.build_head(int(model.config.hidden_size)).to(self.device)
        params = list(model.parameters()) + (list(self.head.parameters()) if self.head is not None else [])
        self.optimizer = torch.optim.AdamW(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        self.skipped_steps = 0
        self._shuffle = torch.Generator().manual_seed(self.cfg.shuffle_seed)
        self.observer: LearnerObserver | None = None
        """Gets the pre-update forward and runs measurements around each update (the training monitor)."""

    # -- advantages ----------------------------------------------------------------------------------
    def advantages(self, batch: RolloutBatch) -> Tensor:
        """One advantage per step sample (N,), by the configured estimator."""
        inputs = advantage_inputs(batch, penalise_inadmissible=self.cfg.penalise_inadmissible)
        return compute_advantages(inputs, self.advantage_cfg)

    # -- forward -------------------------------------------------------------------------------------
    def _forward(self, model: Any, tb: TokenBatch, *, hidden: bool) -> tuple[Tensor, Tensor, Tensor | None]:
        out = model(input_ids=tb.input_ids, attention_mask=tb.attention_mask, output_hidden_states=hidden)
        logits = out.logits[:, :-1].float() / self.cfg.temperature  # (B, T, V)
        logp = torch.log_softmax(logits, dim=-1)  # (B, T, V)
        token_logp = logp.gather(-1, tb.input_ids[:, 1:, None]).squeeze(-1)  # (B, T)
        states = out.hidden_states[-1] if hidden else None  # (B, L, H), after the final norm (SPEC 3.2)
        return token_logp, logits, states

    def _response_forward(self, tb: TokenBatch) -> tuple[Tensor, Tensor, Tensor]:
        """The policy at response positions only: ``(B, T)`` log-probs (0 elsewhere), ``(n, V)`` logits, states.

        The lm_head, the float cast and the log-softmax run on the n response positions instead of all
        B x T (prompts are ~95% of the tokens of an agent turn), which is most of a small model's step.
        Falls back to the full forward for models without the standard decoder / output-embedding split.
        """
        decoder, lm_head = self.model.get_decoder(), self.model.get_output_embeddings()
        if decoder is None or lm_head is None:
            token_logp, logits, states = self._forward(self.model, tb, hidden=True)
            assert states is not None
            return token_logp, logits[tb.response_mask], states
        states = decoder(input_ids=tb.input_ids, attention_mask=tb.attention_mask).last_hidden_state  # (B, L, H)
        logits = lm_head(states[:, :-1][tb.response_mask]).float() / self.cfg.temperature  # (n, V)
        targets = tb.input_ids[:, 1:][tb.response_mask]  # (n,)
        picked = torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None]).squeeze(-1)  # (n,)
        token_logp = torch.zeros(tb.response_mask.shape, dtype=picked.dtype, device=picked.device)
        token_logp = token_logp.masked_scatter(tb.response_mask, picked)  # (B, T)
        return token_logp, logits, states

    @torch.no_grad()
    def old_policy(self, samples: Sequence[StepSample]) -> _OldPolicy:
        """Log-probs (and entropy, reference log-probs) of the pre-update policy (SPEC 4.1 logging)."""
        result = _OldPolicy()
        logprobs: list[Tensor | None] = [None] * len(samples)
        ref_logprobs: list[Tensor | None] = [None] * len(samples)
        order = by_length(samples, range(len(samples)))  # micro-batches of similar lengths: little padding
        for start in range(0, len(order), self.cfg.micro_batch_size):
            idx = order[start : start + self.cfg.micro_batch_size]
            tb = collate([samples[i] for i in idx], self.pad_id, self.device)
            hidden = self.observer is not None and self.observer.wants_hidden
            token_logp, logits, states = self._forward(self.model, tb, hidden=hidden)
            entropy = chunked_entropy(logits)  # (B, T)
            if self.observer is not None:
                self.observer.on_old_policy(
                    ForwardChunk(idx, tb.input_ids, tb.attention_mask, tb.response_mask, token_logp, logits, entropy,
                                 states)
                )  # fmt: skip
            result.entropy_sum += float((entropy * tb.response_mask).sum())
            result.tokens += int(tb.response_mask.sum())
            ref_logp = self._forward(self.ref_model, tb, hidden=False)[0] if self.ref_model is not None else None
            for row, i in enumerate(idx):
                sel = tb.response_mask[row]  # (T,)
                logprobs[i] = token_logp[row][sel]
                if ref_logp is not None:
                    ref_logprobs[i] = ref_logp[row][sel]
        assert all(t is not None for t in logprobs), "every sample is in one micro-batch of the pass"
        result.logprobs = cast(list[Tensor], logprobs)  # indexed by sample, as the update reads them
        result.ref_logprobs = cast(list[Tensor], ref_logprobs) if self.ref_model is not None else []
        return result

    def forward_chunks(
        self, samples: Sequence[StepSample], indices: Sequence[int], *, hidden: bool = False, grad: bool = False
    ) -> Iterator[ForwardChunk]:
        """The policy on ``samples[i] for i in indices``, one micro-batch at a time (for the monitor).

        Args:
            samples: The batch's step samples.
            indices: Which of them, in this order.
            hidden: Also return the final hidden states.
            grad: Build the autograd graph (the caller runs the backward it needs).

        Yields:
            One :class:`~agentgym_seal.monitor.hooks.ForwardChunk` per micro-batch (no entropy).
        """
        for start in range(0, len(indices), self.cfg.micro_batch_size):
            idx = list(indices[start : start + self.cfg.micro_batch_size])
            tb = collate([samples[i] for i in idx], self.pad_id, self.device)
            with torch.set_grad_enabled(grad):
                token_logp, logits, states = self._forward(self.model, tb, hidden=hidden)
            yield ForwardChunk(idx, tb.input_ids, tb.attention_mask, tb.response_mask, token_logp, logits, None, states)

    # -- update --------------------------------------------------------------------------------------
    def update(self, batch: RolloutBatch, advantages: Tensor | None = None) -> dict[str, float]:
        """Runs ``ppo_epochs`` passes of mini-batch updates on ``batch``; returns ``actor/*`` metrics."""
        samples = list(batch.samples)
        if not samples:
            return dict.fromkeys(_ACTOR_KEYS, 0.0) | {
                "actor/entropy": 0.0, "actor/skipped_steps": float(self.skipped_steps), "actor/trained_samples": 0.0,
            }  # fmt: skip
        adv = self.advantages(batch) if advantages is None else advantages  # (N,)
        if self.cfg.negative_advantage_scale != 1.0:
            adv = torch.where(adv < 0, adv * self.cfg.negative_advantage_scale, adv)  # (N,)
        if not self.cfg.credit_inadmissible:
            inadmissible = torch.tensor([s.format_valid and not s.action_valid for s in samples])  # (N,)
            adv = torch.where(inadmissible, adv.clamp(max=0.0), adv)  # (N,)
        won = torch.tensor(batch.sample_won(), dtype=torch.bool)  # (N,)
        labels = seal_labels(won, adv, self.seal_cfg.label_source)  # (N,)
        observer = self.observer
        trainable = list(range(len(samples)))
        if self.cfg.drop_zero_advantage:
            trainable = [i for i in trainable if abs(float(adv[i])) > 1e-6]
        # One epoch over one mini-batch with nobody reading the pre-update pass (monitor, KL reference): the
        # update's forward is the old policy, so the extra no-grad pass is skipped.
        single_pass = (
            observer is None and self.ref_model is None and self.cfg.ppo_epochs == 1
            and len(trainable) <= self.cfg.mini_batch_size
        )  # fmt: skip
        old = _OldPolicy(on_policy=True) if single_pass else self.old_policy(samples)

        def forward(indices: Sequence[int], hidden: bool, grad: bool) -> Iterator[ForwardChunk]:
            return self.forward_chunks(samples, indices, hidden=hidden, grad=grad)

        if observer is not None:
            observer.before_update(self.model, forward)
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}

        def log(key: str, value: float) -> None:
            sums[key] = sums.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1

        self.model.train()
        if self.head is not None:
            self.head.train()
        for _ in range(self.cfg.ppo_epochs):
            order = [trainable[j] for j in torch.randperm(len(trainable), generator=self._shuffle).tolist()]
            for shuffled in even_split(order, self.cfg.mini_batch_size):
                mini = by_length(samples, shuffled)  # micro-batches of similar lengths: little padding
                mini_tokens = sum(len(samples[i].response_ids) for i in mini)
                self.optimizer.zero_grad(set_to_none=True)
                size = self.cfg.micro_batch_size
                micro = range(0, len(mini), size)
                done = [
                    (k, self._micro_step(samples, mini[u : u + size], adv, labels, old, mini_tokens))
                    for k, u in enumerate(micro)
                    if self._owns_micro_batch(k, len(micro))
                ]
                for metrics in self._gather_micro_metrics(done):
                    for key, value in metrics.items():
                        log(key, value)
                log("actor/grad_norm", self._optimizer_step())
        if observer is not None:
            observer.after_update(self.model, forward)
        # Every key is always present: a batch with nothing to train on (all groups tied) logs zeros.
        result = dict.fromkeys(_ACTOR_KEYS, 0.0) | {key: sums[key] / counts[key] for key in sums}
        result["actor/trained_samples"] = float(len(trainable))
        result["actor/entropy"] = old.entropy_sum / max(1, old.tokens)
        result["actor/skipped_steps"] = float(self.skipped_steps)
        return result

    def _micro_step(
        self, samples: list[StepSample], idx: list[int], adv: Tensor, labels: Tensor, old: _OldPolicy, mini_tokens: int
    ) -> dict[str, float]:
        chunk = [samples[i] for i in idx]
        tb = collate(chunk, self.pad_id, self.device)
        token_logp, logits, states = self._response_forward(tb)  # logits (n_response, V)
        if old.on_policy:
            old_logp = token_logp.detach()  # (B, T)
            with torch.no_grad():
                old.entropy_sum += float(entropy_from_logits(logits).sum())
            old.tokens += int(logits.shape[0])
        else:
            old_logp = torch.zeros_like(token_logp)  # (B, T)
            for row, i in enumerate(idx):
                old_logp[row][tb.response_mask[row]] = old.logprobs[i]
        adv_tokens = adv[idx].to(self.device)[:, None].expand_as(token_logp)  # (B, T)
        pg_loss, metrics = compute_policy_loss(
            PolicyLossInputs(token_logp, old_logp, adv_tokens, tb.response_mask), self.policy_loss_cfg
        )
        loss = pg_loss
        out = {"actor/pg_loss": float(pg_loss.detach()), **{f"actor/{k}": v for k, v in metrics.items()}}
        if self.cfg.entropy_coeff != 0:
            entropy = entropy_from_logits(logits).sum() / max(1, logits.shape[0])  # token-mean, response positions
            loss = loss - self.cfg.entropy_coeff * entropy
        if self.cfg.kl_coef > 0:
            ref_logp = torch.zeros_like(token_logp)  # (B, T)
            for row, i in enumerate(idx):
                ref_logp[row][tb.response_mask[row]] = old.ref_logprobs[i]
            kl = agg_loss(kl_penalty(token_logp, ref_logp, kind=self.cfg.kl_kind), tb.response_mask, "token-mean")
            loss = loss + self.cfg.kl_coef * kl
            out["actor/kl"] = float(kl.detach())
        else:
            out["actor/kl"] = 0.0
        if self.head is not None and states is not None:
            # SEAL Sec. 3.2: the hidden state at each response token. The head only sees those positions
            # (not the prompt's), so its cost scales with response tokens, a small share of the sequence.
            row_labels = labels[idx].to(self.device)[:, None].expand(tb.token_mask.shape)  # (B, L)
            head_logits = self.head(states[tb.token_mask])[None]  # (1, n_response_tokens)
            token_labels = row_labels[tb.token_mask][None]  # (1, n_response_tokens)
            bce = seal_loss(head_logits, token_labels, torch.ones_like(token_labels, dtype=torch.bool))
            loss = loss + self.seal_cfg.alpha * bce  # SEAL Eq. 3
            out["actor/seal_loss"] = float(bce.detach())
        else:
            out["actor/seal_loss"] = 0.0
        # token-mean over the whole mini-batch: weight each micro-batch by its share of response tokens
        weight = int(tb.response_mask.sum()) / max(1, mini_tokens)
        (loss * weight).backward()  # type: ignore[no-untyped-call]
        return out

    def _owns_micro_batch(self, index: int, count: int) -> bool:
        """Whether this process runs micro-batch ``index`` of ``count`` (data-parallel ranks split them)."""
        return True

    def _gather_micro_metrics(self, done: list[tuple[int, dict[str, float]]]) -> list[dict[str, float]]:
        """The metrics of every micro-batch of the mini-batch, in order (data-parallel ranks gather them)."""
        return [metrics for _, metrics in done]

    def _optimizer_step(self) -> float:
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        norm = float(torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip))
        if not math.isfinite(norm):
            self.skipped_steps += 1  # SPEC 1.3: skip the step on a non-finite grad norm
            self.optimizer.zero_grad(set_to_none=True)
            return float("nan")
        self.optimizer.step()
        return norm

    # -- checkpointing -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Optimizer, SEAL head, skip counter and shuffling RNG (the model is saved separately)."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "head": None if self.head is None else self.head.state_dict(),
            "skipped_steps": self.skipped_steps,
            "shuffle_rng": self._shuffle.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict` (the model's weights must already be loaded).

        The moments and step counts come from ``state``; the hyperparameters (lr, weight decay) stay this
        learner's config, so a resume with a new ``--lr`` uses it (torch would restore the saved ones).
        """
        self.optimizer.load_state_dict(state["optimizer"])
        for group in self.optimizer.param_groups:
            group["lr"], group["weight_decay"] = self.cfg.lr, self.cfg.weight_decay
        if self.head is not None and state.get("head") is not None:
            self.head.load_state_dict(state["head"])
        self.skipped_steps = int(state["skipped_steps"])
        self._shuffle.set_state(state["shuffle_rng"])


def advantage_inputs(batch: RolloutBatch, *, penalise_inadmissible: bool = False) -> AdvantageInputs:
    """The estimator inputs of a rollout batch.

    Args:
        batch: The rollout batch.
        penalise_inadmissible: Also count a well-formed but inadmissible action (the env answers "Nothing
            happens.") as invalid. The reference counts format validity only (SPEC 1.1 and 7.3).
    """
    samples = batch.samples
    return AdvantageInputs(
        env_rewards=torch.tensor([s.env_reward for s in samples], dtype=torch.float32),
        invalid=torch.tensor(
            [not s.format_valid or (penalise_inadmissible and not s.action_valid) for s in samples], dtype=torch.bool
        ),
        traj_ids=[s.traj_uid for s in samples],
        group_ids=[s.uid for s in samples],
        anchors=[s.anchor for s in samples],
        won=torch.tensor(batch.sample_won(), dtype=torch.bool),
    )
