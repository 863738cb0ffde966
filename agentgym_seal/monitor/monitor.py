"""The training-dynamics :class:`Monitor`: metrics 1-8 of the monitor issue, one flat key namespace.

Per RL step the trainer calls :meth:`Monitor.begin_step` with the rollout batch and its advantages, the learner
calls the :class:`~agentgym_seal.monitor.hooks.LearnerObserver` hooks during its update, and
:meth:`Monitor.end_step` returns the metrics row. Keys (all present every step; NaN = not measured this step
or undefined, written as ``null`` in ``metrics.jsonl``):

- ``entropy/token_mean`` (SPEC 4.1, pre-update policy, response tokens), ``entropy/sample_mean`` and
  ``entropy/sample_std`` (over step samples' mean token entropies), ``entropy/correct`` / ``entropy/wrong``
  (token-mean within each class), ``entropy/delta`` (token-mean after − before the update).
- ``phase/id`` (0 descent, 1 eruption, 2 subsidence), ``phase/eruption_start`` (1 on the step an eruption is
  confirmed), ``phase/event_step`` (its back-dated start), ``phase/smoothed``, ``phase/baseline``,
  ``phase/noise``, ``phase/num_eruptions`` (:class:`~agentgym_seal.monitor.phases.PhaseDetector` on
  ``entropy/token_mean``).
- ``logprob/*`` (SPEC 6.4): class means of the pre-update sequence log-prob and, after the update,
  ``logprob/delta_*`` (:func:`~agentgym_seal.monitor.likelihood.likelihood_change`).
- ``text/*`` (SPEC 6.1): ``sentence_dup``, ``sentence_dup_ge_25``, ``repeated_5gram_mass``,
  ``format_error_rate``, ``response_tokens``.
- ``halluc/rate`` and ``halluc/rate/<env id>``: share of step samples whose env flagged
  ``info["hallucination"]`` (0 for envs that never flag).
- ``repr/*`` (SPEC 6.5) from masked mean-pooled final hidden states of the pre-update pass.
- ``grad/*`` (SPEC 6.6) for one task group every ``interference_every`` steps: see :meth:`Monitor.before_update`.

Bad input never raises mid-training: an empty batch gives NaN (log-prob class means 0 with count 0, as
SEAL-repo logs them); NaN/inf logits give NaN entropies that the phase detector skips; a group with one
trajectory or one class gives NaN for the pairs that do not exist. An unexpected error in one metric family
is reported once as a warning and its keys are NaN (``strict=True`` re-raises, for tests).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from agentgym_seal.errors import ConfigError
from agentgym_seal.logging.jsonl import JsonlWriter
from agentgym_seal.monitor.entropy import entropy_from_logits
from agentgym_seal.monitor.hooks import ForwardChunk, ForwardFn
from agentgym_seal.monitor.interference import block_sum, interference_c, lemma34_entropy_change
from agentgym_seal.monitor.likelihood import likelihood_change, likelihood_metrics
from agentgym_seal.monitor.measure import (
    LM_HEAD,
    gram_summary,
    linear_layer_grams,
    resolve_linear_layers,
    token_entropy_change,
)
from agentgym_seal.monitor.phases import PhaseConfig, PhaseDetector
from agentgym_seal.monitor.probe import lm_head_probe_step, relative_error
from agentgym_seal.monitor.representation import masked_mean_pool, project_2d, representation_metrics
from agentgym_seal.monitor.routes import RouteChoice, lm_head_gram
from agentgym_seal.monitor.text import text_degeneracy

_NAN = math.nan
PHASE_IDS = {"descent": 0.0, "eruption": 1.0, "subsidence": 2.0}
GRAD_KEYS = (
    "grad/c_mean", "grad/c_correct", "grad/c_wrong", "grad/cos_correct_wrong", "grad/cos_within", "grad/norm_mean",
    "grad/lemma33_pred", "grad/num_traj", "grad/num_units", "grad/num_tokens", "grad/lemma33_probe_pred",
    "grad/lemma33_probe_measured", "grad/lemma33_probe_rel_error",
)  # fmt: skip
POST_KEYS = (
    "logprob/delta_correct", "logprob/delta_wrong", "logprob/delta_diff", "logprob/delta_valid",
    "logprob/delta_invalid", "logprob/delta_all", "entropy/delta", "grad/lemma33_measured", "grad/lemma34_pred",
    "grad/lemma34_measured", "grad/lemma34_pred_sampled",
)  # fmt: skip


@dataclass(frozen=True)
class MonitorConfig:
    """What the monitor measures and how often (see the module docstring for the keys).

    Attributes:
        temperature: The rollout temperature (the learner's logits are already divided by it).
        phase: Rules of the phase detector.
        representations: Pool hidden states and log ``repr/*`` (asks the learner for hidden states).
        projection_every: Save the 2-D projection of the pooled states every N steps (0: never).
        post_update_every: Run one no-grad forward of the updated policy every N steps for ``logprob/delta_*``,
            ``entropy/delta`` and the measured side of Lemma 3.3/3.4 (0: never).
        interference_every: Measure gradient interference every N steps (0: never).
        interference_layers: Parameter subset: ``lm_head`` and/or dotted names of linear modules.
        interference_route: ``auto`` picks the cheapest Gram route by the FLOP cost model.
        interference_chunk_size: Vocab rows per chunk of the lm_head routes.
        lemma34_max_tokens: Response positions of the monitored group kept for the token-level Lemma 3.4 check.
        lemma33_probe_eta: Step size of the Lemma 3.3 probe (an SGD step on a copy of the lm_head; 0: off).
        env_id: Env id for the per-env hallucination key.
        strict: Re-raise errors inside metric families (tests) instead of warning and logging NaN.
    """

    temperature: float = 1.0
    phase: PhaseConfig = field(default_factory=PhaseConfig)
    representations: bool = True
    projection_every: int = 5
    post_update_every: int = 5
    interference_every: int = 5
    interference_layers: tuple[str, ...] = (LM_HEAD,)
    interference_route: RouteChoice = "auto"
    interference_chunk_size: int = 4096
    lemma34_max_tokens: int = 512
    lemma33_probe_eta: float = 1e-3
    env_id: str = ""
    strict: bool = False

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ConfigError(f"MonitorConfig.temperature must be > 0; got {self.temperature!r}.")
        for name in (
            "projection_every",
            "post_update_every",
            "interference_every",
            "lemma34_max_tokens",
            "lemma33_probe_eta",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"MonitorConfig.{name} must be >= 0 (0 turns it off); got {getattr(self, name)}.")
        if self.interference_route not in ("auto", "kernel", "blockwise"):
            raise ConfigError.bad_option("interference_route", self.interference_route, ("auto", "kernel", "blockwise"))


def _due(every: int, step: int) -> bool:
    return every > 0 and step % every == 0


@dataclass
class _Step:
    """Everything the monitor gathers during one RL step."""

    step: int
    won: Tensor  # (N,) bool
    rewards: Tensor  # (N,) float64
    valid: Tensor  # (N,) bool
    uids: list[int]
    traj_uids: list[int]
    texts: list[str]
    halluc: Tensor  # (N,) bool
    advantages: Tensor  # (N,)
    response_tokens: Tensor  # (N,)
    seq_logp: Tensor  # (N,) ℓ_j before the update
    ent_sum: Tensor  # (N,)
    ent_count: Tensor  # (N,)
    pooled: list[Tensor | None]
    group: list[int] = field(default_factory=list)  # sample indices of the monitored task group
    interference: bool = False
    post_update: bool = False
    group_hidden: dict[int, tuple[Tensor, Tensor]] = field(default_factory=dict)  # i -> (n_i, d), (n_i,)
    group_before: dict[int, Tensor] = field(default_factory=dict)  # i -> (k_i, V) log-softmax
    out: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    family_seconds: dict[str, float] = field(default_factory=dict)


class Monitor:
    """Composes the monitor metrics over a training run (module docstring); also a ``LearnerObserver``.

    Args:
        cfg: What to measure.
        artifact_dir: Folder for ``projection.jsonl`` and ``interference.jsonl`` (the report's 2-D projection and
            Gram matrices); None writes nothing.
        model: The policy, to check ``interference_layers`` against at construction (optional).

    Raises:
        ConfigError: An interference layer is not a linear submodule of ``model``.
    """

    def __init__(
        self, cfg: MonitorConfig | None = None, artifact_dir: str | Path | None = None, model: Any = None
    ) -> None:
        self.cfg = cfg or MonitorConfig()
        if model is not None:  # fail at start, not mid-training, on a layer name that does not exist
            resolve_linear_layers(model, self.cfg.interference_layers)
        self.detector = PhaseDetector(self.cfg.phase)
        self.artifact_dir = None if artifact_dir is None else Path(artifact_dir)
        self._projections = None if self.artifact_dir is None else JsonlWriter(self.artifact_dir / "projection.jsonl")
        self._grams = None if self.artifact_dir is None else JsonlWriter(self.artifact_dir / "interference.jsonl")
        self._state: _Step | None = None
        self._warned: set[str] = set()
        self.last_sample_entropy: Tensor = torch.zeros(0)
        """``(N,)`` mean token entropy of each step sample of the last step (for reward shapers)."""

    # -- run-level -----------------------------------------------------------------------------------
    def restore(self, rows: Sequence[dict[str, Any]], until_step: int) -> None:
        """Rebuilds the phase detector from earlier metrics rows and trims artifacts after ``until_step`` (resume).

        Args:
            rows: The run's ``metrics.jsonl`` rows (any order of keys; rows after ``until_step`` are ignored).
            until_step: The last step whose state is kept.
        """
        self.detector = PhaseDetector(self.cfg.phase)
        for row in rows:
            step = int(row.get("step", -1))
            if 0 < step <= until_step:
                value = row.get("entropy/token_mean")
                self.detector.update(step, _NAN if value is None else float(value))
        for writer in (self._projections, self._grams):
            if writer is not None:
                writer.keep_until(until_step)

    # -- per step ------------------------------------------------------------------------------------
    def begin_step(self, step: int, batch: Any, advantages: Tensor) -> None:
        """Starts a step with its :class:`~agentgym_seal.rollout.RolloutBatch` and per-sample advantages ``(N,)``."""
        t0 = time.perf_counter()
        samples = list(batch.samples)
        n = len(samples)
        self._state = _Step(
            step=step,
            won=torch.tensor(batch.sample_won(), dtype=torch.bool).reshape(n),
            rewards=torch.tensor(batch.sample_episode_rewards(), dtype=torch.float64).reshape(n),
            valid=torch.tensor([s.format_valid for s in samples], dtype=torch.bool).reshape(n),
            uids=[s.uid for s in samples],
            traj_uids=[s.traj_uid for s in samples],
            texts=[s.response_text for s in samples],
            halluc=torch.tensor([bool(getattr(s, "hallucination", False)) for s in samples], dtype=torch.bool),
            advantages=advantages.detach().to("cpu", torch.float64).reshape(n),
            response_tokens=torch.tensor([len(s.response_ids) for s in samples], dtype=torch.float64).reshape(n),
            seq_logp=torch.full((n,), _NAN, dtype=torch.float64),
            ent_sum=torch.zeros(n, dtype=torch.float64),
            ent_count=torch.zeros(n, dtype=torch.float64),
            pooled=[None] * n,
            interference=_due(self.cfg.interference_every, step) and bool(self.cfg.interference_layers),
            post_update=_due(self.cfg.post_update_every, step),
        )
        self._state.group = self._pick_group(self._state)
        self._state.seconds += time.perf_counter() - t0

    @staticmethod
    def _pick_group(state: _Step) -> list[int]:
        """The task group whose advantages vary most (ties: more samples, then the smaller uid)."""
        by_uid: dict[int, list[int]] = {}
        for i, uid in enumerate(state.uids):
            by_uid.setdefault(uid, []).append(i)
        if not by_uid:
            return []

        def score(uid: int) -> tuple[float, int, int]:
            adv = state.advantages[by_uid[uid]]
            return float(adv.var(unbiased=False)), len(by_uid[uid]), -uid

        return by_uid[max(by_uid, key=score)]

    @property
    def wants_hidden(self) -> bool:
        """Hidden states are needed for ``repr/*`` and the lm_head interference."""
        return self.cfg.representations or LM_HEAD in self.cfg.interference_layers

    @contextmanager
    def _guard(self, family: str, keys: Sequence[str] = ()) -> Iterator[None]:
        """Times the block; an error warns once per family, NaNs ``keys`` and never escapes (unless strict)."""
        state = self._state
        t0 = time.perf_counter()
        try:
            yield
        except Exception as exc:
            if self.cfg.strict:
                raise
            if family not in self._warned:
                self._warned.add(family)
                warnings.warn(f"monitor: {family} metrics failed and are logged as NaN: {exc!r}", stacklevel=3)
            if state is not None:
                state.out.update(dict.fromkeys(keys, _NAN))
        finally:
            if state is not None:
                spent = time.perf_counter() - t0
                state.seconds += spent
                state.family_seconds[family] = state.family_seconds.get(family, 0.0) + spent

    def on_old_policy(self, chunk: ForwardChunk) -> None:
        """Entropy, ℓ_j, pooled states and the monitored group's lm_head inputs from the pre-update pass."""
        state = self._state
        if state is None:
            return
        with self._guard("old-policy"), torch.no_grad():
            mask = chunk.response_mask.to(torch.bool)  # (B, T)
            entropy = chunk.entropy
            if entropy is None:
                entropy = entropy_from_logits(chunk.logits)  # (B, T)
            entropy = torch.where(mask, entropy.to(torch.float64), 0.0)  # (B, T) padding NaNs cannot leak
            logp = torch.where(mask, chunk.token_logp.to(torch.float64), 0.0)  # (B, T)
            idx = torch.as_tensor(list(chunk.indices), dtype=torch.long)  # (B,)
            state.seq_logp[idx] = logp.sum(dim=1)
            state.ent_sum[idx] = entropy.sum(dim=1)
            state.ent_count[idx] = mask.sum(dim=1).to(torch.float64)
            hidden = chunk.hidden[:, :-1] if chunk.hidden is not None else None  # (B, T, H) predicting positions
            if hidden is not None and self.cfg.representations:
                pooled = masked_mean_pool(hidden, mask)  # (B, H)
                for row, i in enumerate(chunk.indices):
                    state.pooled[i] = pooled[row].detach().to("cpu", torch.float64)
            in_group = set(state.group)
            for row, i in enumerate(chunk.indices):
                if i not in in_group:
                    continue
                if hidden is not None and state.interference:
                    state.group_hidden[i] = (hidden[row][mask[row]].detach(), chunk.input_ids[row, 1:][mask[row]])
                if state.post_update:
                    kept = sum(v.shape[0] for v in state.group_before.values())
                    room = max(0, self.cfg.lemma34_max_tokens - kept)
                    state.group_before[i] = torch.log_softmax(chunk.logits[row][mask[row]][:room].double(), dim=-1)

    def before_update(self, model: Any, forward: ForwardFn) -> None:
        """Gradient interference of the monitored group (SPEC 6.6) over the configured parameter subset.

        Units are the group's step samples (so Lemma 3.3 is exact for per-step advantages too); the per-unit
        Gram matrices of the layers are summed, then block-summed to the trajectory level for
        :func:`~agentgym_seal.monitor.measure.gram_summary`. ``grad/lemma33_pred`` = Σ_s A_s c_s (per unit SGD
        step on −Σ_s A_s ℓ_s, over the subset) with c_s = (1/n) Σ_r ⟨g_r, g_s⟩.
        """
        state = self._state
        if state is None or not state.interference or not state.group:
            return
        with self._guard("interference", GRAD_KEYS):
            units = {i: u for u, i in enumerate(state.group)}
            n_units = len(units)
            grams: list[Tensor] = []
            routes: dict[str, str] = {}
            tokens = 0
            if LM_HEAD in self.cfg.interference_layers and state.group_hidden:
                rows = [i for i in state.group if i in state.group_hidden]
                hidden = torch.cat([state.group_hidden[i][0] for i in rows])  # (N, d)
                targets = torch.cat([state.group_hidden[i][1] for i in rows])  # (N,)
                unit_index = torch.cat(
                    [torch.full((state.group_hidden[i][1].shape[0],), units[i], dtype=torch.long) for i in rows]
                )  # (N,)
                weight = model.get_output_embeddings().weight  # (V, d)
                gram, route = lm_head_gram(
                    hidden.double(), targets, weight.double(), unit_index, n_units,
                    route=self.cfg.interference_route, chunk_size=self.cfg.interference_chunk_size,
                    temperature=self.cfg.temperature,
                )  # fmt: skip
                grams.append(gram)
                routes[LM_HEAD] = route
                tokens = int(hidden.shape[0])
                self._probe(state, hidden, targets, weight, unit_index, gram)
            modules = resolve_linear_layers(model, self.cfg.interference_layers)
            for name, (gram, route) in linear_layer_grams(
                modules, forward, state.group, units, n_units, self.cfg.interference_route
            ).items():
                grams.append(gram)
                routes[name] = route
            if not grams:
                return
            unit_gram = torch.stack(grams).sum(dim=0)  # (n, n)
            adv = state.advantages[state.group]  # (n,)
            traj_ids = sorted({state.traj_uids[i] for i in state.group})
            traj_of_unit = torch.tensor([traj_ids.index(state.traj_uids[i]) for i in state.group])  # (n,)
            traj_gram = block_sum(unit_gram, traj_of_unit, len(traj_ids))  # (G, G)
            traj_won = torch.zeros(len(traj_ids), dtype=torch.bool)
            traj_won[traj_of_unit] = state.won[state.group]
            state.out.update(gram_summary(traj_gram, traj_won))
            state.out["grad/lemma33_pred"] = float((adv * interference_c(unit_gram)).sum())  # SEAL Lemma 3.3
            state.out.update({"grad/num_traj": float(len(traj_ids)), "grad/num_units": float(n_units)})
            state.out["grad/num_tokens"] = float(tokens)
            if self._grams is not None:
                traj_adv = torch.zeros(len(traj_ids), dtype=torch.float64).index_add_(0, traj_of_unit, adv)
                counts = torch.bincount(traj_of_unit, minlength=len(traj_ids)).clamp_min(1)
                self._grams.write({
                    "step": state.step, "routes": routes, "gram": traj_gram.tolist(), "won": traj_won.tolist(),
                    "advantage": (traj_adv / counts).tolist(),
                })  # fmt: skip

    def _probe(
        self, state: _Step, hidden: Tensor, targets: Tensor, weight: Tensor, units: Tensor, gram: Tensor
    ) -> None:
        """``grad/lemma33_probe_*``: Lemma 3.3 for a real SGD step of known size on a copy of the lm_head."""
        eta = self.cfg.lemma33_probe_eta
        if eta > 0:
            adv = state.advantages[state.group]  # (n,) in unit order
            pred, measured = lm_head_probe_step(
                hidden, targets, weight, units, adv, gram, eta=eta, temperature=self.cfg.temperature
            )
            state.out["grad/lemma33_probe_pred"], state.out["grad/lemma33_probe_measured"] = pred, measured
            state.out["grad/lemma33_probe_rel_error"] = relative_error(pred, measured)

    def after_update(self, model: Any, forward: ForwardFn) -> None:
        """One no-grad forward of the updated policy: likelihood and entropy change, Lemma 3.3/3.4 measured."""
        state = self._state
        if state is None or not state.post_update or not state.uids:
            return
        with self._guard("post-update", POST_KEYS), torch.no_grad():
            n = len(state.uids)
            after = torch.full((n,), _NAN, dtype=torch.float64)
            ent_after = torch.zeros(n, dtype=torch.float64)
            before_rows: list[Tensor] = []
            after_rows: list[Tensor] = []
            for chunk in forward(list(range(n)), False, False):
                mask = chunk.response_mask.to(torch.bool)  # (B, T)
                idx = torch.as_tensor(list(chunk.indices), dtype=torch.long)
                after[idx] = torch.where(mask, chunk.token_logp.double(), 0.0).sum(dim=1)
                ent = torch.zeros(mask.shape, dtype=torch.float64)  # (B, T)
                ent[mask] = entropy_from_logits(chunk.logits[mask]).double()  # (n_tok,) only response positions
                ent_after[idx] = ent.sum(dim=1)
                for row, i in enumerate(chunk.indices):
                    if i in state.group_before:
                        k = state.group_before[i].shape[0]
                        before_rows.append(state.group_before[i])
                        after_rows.append(torch.log_softmax(chunk.logits[row][mask[row]][:k].double(), dim=-1))
            state.out.update(likelihood_change(state.seq_logp, after, state.rewards, state.valid))
            count = state.ent_count.sum()
            state.out["entropy/delta"] = float((ent_after.sum() - state.ent_sum.sum()) / count) if count else _NAN
            group = torch.tensor(state.group, dtype=torch.long)
            delta = after[group] - state.seq_logp[group]  # (n_g,)
            state.out["grad/lemma33_measured"] = float(delta.mean()) if group.numel() else _NAN
            state.out["grad/lemma34_pred_sampled"] = lemma34_entropy_change(state.seq_logp[group], delta)
            if before_rows:
                pred, measured = token_entropy_change(torch.cat(before_rows), torch.cat(after_rows))
                state.out["grad/lemma34_pred"], state.out["grad/lemma34_measured"] = pred, measured

    def end_step(self) -> dict[str, float]:
        """The step's metrics row (every key of the module docstring; NaN where not measured)."""
        state = self._state
        if state is None:
            raise RuntimeError("Monitor.end_step: no step started. Fix: call begin_step(step, batch, advantages).")
        row: dict[str, float] = dict.fromkeys(GRAD_KEYS + POST_KEYS, _NAN)
        families: list[tuple[str, Callable[[_Step], dict[str, float]]]] = [
            ("entropy", self._entropy),
            ("phase", self._phase),
            ("logprob", lambda s: likelihood_metrics(s.seq_logp, s.rewards, s.valid)),
            ("text", self._text),
            ("halluc", self._halluc),
            ("repr", self._repr),
        ]
        for name, fn in families:
            with self._guard(name):
                row.update(fn(state))
        row.update(state.out)
        row["timing/monitor_s"] = state.seconds
        for family in ("old-policy", "interference", "post-update", "repr"):
            row[f"timing/monitor_{family.replace('-', '_')}_s"] = state.family_seconds.get(family, 0.0)
        self._state = None
        return row

    # -- metric families -----------------------------------------------------------------------------
    def _entropy(self, s: _Step) -> dict[str, float]:
        counts = s.ent_count  # (N,)
        per_sample = s.ent_sum / counts  # (N,) NaN for samples without a response token
        self.last_sample_entropy = torch.where(counts > 0, per_sample, 0.0)
        has = counts > 0

        def token_mean(mask: Tensor) -> float:
            total = counts[mask].sum()
            return float(s.ent_sum[mask].sum() / total) if total > 0 else _NAN

        sample = per_sample[has]
        return {
            "entropy/token_mean": token_mean(torch.ones_like(has)),
            "entropy/sample_mean": float(sample.mean()) if sample.numel() else _NAN,
            "entropy/sample_std": float(sample.std(unbiased=False)) if sample.numel() else _NAN,
            "entropy/correct": token_mean(s.won),
            "entropy/wrong": token_mean(~s.won),
        }

    def _phase(self, s: _Step) -> dict[str, float]:
        counts = s.ent_count.sum()
        value = float(s.ent_sum.sum() / counts) if counts > 0 else _NAN
        update = self.detector.update(s.step, value)
        return {
            "phase/id": PHASE_IDS[update.phase],
            "phase/eruption_start": 1.0 if update.event == "eruption_start" else 0.0,
            "phase/event_step": float(update.event_step) if update.event_step is not None else _NAN,
            "phase/smoothed": update.smoothed,
            "phase/baseline": update.baseline,
            "phase/noise": update.noise,
            "phase/num_eruptions": float(len(self.detector.eruption_steps)),
        }

    @staticmethod
    def _text(s: _Step) -> dict[str, float]:
        n = len(s.texts)
        out = text_degeneracy(s.texts)
        out["text/format_error_rate"] = float((~s.valid).double().mean()) if n else _NAN
        out["text/response_tokens"] = float(s.response_tokens.mean()) if n else _NAN
        return out

    def _halluc(self, s: _Step) -> dict[str, float]:
        rate = float(s.halluc.double().mean()) if s.halluc.numel() else _NAN
        out = {"halluc/rate": rate, "halluc/num_flagged": float(s.halluc.sum())}
        if self.cfg.env_id:
            out[f"halluc/rate/{self.cfg.env_id}"] = rate
        return out

    def _repr(self, s: _Step) -> dict[str, float]:
        if not self.cfg.representations:
            return {}
        rows = [i for i, p in enumerate(s.pooled) if p is not None]
        if not rows:
            return representation_metrics(torch.zeros((0, 1)), torch.zeros(0, dtype=torch.bool))
        pooled = torch.stack([p for p in s.pooled if p is not None])  # (n, H)
        labels = s.won[rows]  # (n,) SPEC 6.5: correct = episode reward > 0 (won)
        uids = torch.tensor([s.uids[i] for i in rows])  # (n,)
        out = representation_metrics(pooled, labels, uids)
        if self._projections is not None and _due(self.cfg.projection_every, s.step):
            coords = project_2d(pooled)  # (n, 2)
            self._projections.write({
                "step": s.step, "x": coords[:, 0].tolist(), "y": coords[:, 1].tolist(), "correct": labels.tolist(),
            })  # fmt: skip
        return out
