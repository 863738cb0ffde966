"""Entropy-based tool-use rewards (arXiv 2602.02050), as pure functions. OUR READING (SPEC 5, UNVERIFIED).

The paper's formulas are not public. What is implemented, per SPEC 5's most faithful reading:

- Per tool call k: H_before = mean token entropy of the policy's segment that issued the call (the turn
  with ``<search>``), H_after = mean token entropy of the next segment, generated after the
  ``<information>`` result was appended. Entropy reduction dH_k = H_before - H_after (> 0: the result
  made the policy more certain, the signature of a useful call). ``window`` optionally keeps only the
  last tokens before / first tokens after the call.
- Dense process reward (per call, added at the call's step): ``coef * f(dH_k)``, f = identity, sign or
  clip to [-clip, clip].
- Sparse outcome reward (per trajectory): ``correct * (1 - beta * (1 - q))`` with q the fraction of calls
  with dH_k > ``threshold`` (q = 1 with no calls). A correct answer keeps its full reward only if every
  call it made reduced entropy, so needless calls cost reward: the pressure towards fewer calls.

The trainer applies them to rollout batches through ``--reward-shaper entropy-dense|entropy-sparse``
(``agentgym_seal.backends.reward_shaping``), from the per-token entropies the rollout records
(``StepSample.entropies``). Torch-free, shared by envs and backends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from agentgym_seal.errors import ConfigError

DenseMode = Literal["linear", "sign", "clip"]


@dataclass(frozen=True)
class ToolCallEntropy:
    """Mean token entropies around one tool call."""

    before: float
    after: float

    @property
    def reduction(self) -> float:
        """The entropy reduction dH = H_before - H_after."""
        return self.before - self.after


def mean_entropy(token_entropies: Sequence[float]) -> float:
    """Mean of the finite values; NaN when there are none (an empty or all-NaN segment)."""
    finite = [float(h) for h in token_entropies if math.isfinite(float(h))]
    return sum(finite) / len(finite) if finite else math.nan


def tool_call_entropies(
    turn_entropies: Sequence[Sequence[float]], is_tool_call: Sequence[bool], window: int | None = None
) -> list[ToolCallEntropy]:
    """One :class:`ToolCallEntropy` per tool-call turn that has a following turn.

    Args:
        turn_entropies: Per turn of one trajectory, the token entropies of the policy's response.
        is_tool_call: Per turn, whether the response made a (valid) tool call.
        window: Keep only the last ``window`` tokens of the calling turn and the first ``window`` of the
            next one (``None``: whole turns).

    Returns:
        The calls' entropies in turn order; a call whose segments have no finite entropy is skipped, as is
        a call on the last turn (no policy segment after its result).
    """
    if len(turn_entropies) != len(is_tool_call):
        raise ConfigError(f"{len(turn_entropies)} turns of entropies but {len(is_tool_call)} tool-call flags.")
    if window is not None and window < 1:
        raise ConfigError(f"window must be >= 1 or None; got {window}.")
    calls = []
    for t, called in enumerate(is_tool_call[:-1]):
        if not called:
            continue
        before, after = list(turn_entropies[t]), list(turn_entropies[t + 1])
        if window is not None:
            before, after = before[-window:], after[:window]
        call = ToolCallEntropy(mean_entropy(before), mean_entropy(after))
        if math.isfinite(call.before) and math.isfinite(call.after):
            calls.append(call)
    return calls


def dense_process_rewards(
    calls: Sequence[ToolCallEntropy], *, coef: float = 0.1, mode: DenseMode = "linear", clip: float = 1.0
) -> list[float]:
    """Per-call rewards ``coef * f(dH)``; f is the identity, the sign, or a clip to ``[-clip, clip]``."""
    transforms: dict[str, Callable[[float], float]] = {
        "linear": lambda d: d,
        "sign": lambda d: float((d > 0) - (d < 0)),
        "clip": lambda d: max(-clip, min(clip, d)),
    }
    if mode not in transforms:
        raise ConfigError.bad_option("mode", mode, sorted(transforms), where="dense_process_rewards")
    return [coef * transforms[mode](c.reduction) for c in calls]


def sparse_outcome_reward(
    correct: float, calls: Sequence[ToolCallEntropy], *, beta: float = 0.5, threshold: float = 0.0
) -> float:
    """Trajectory reward ``correct * (1 - beta * (1 - q))``, q = share of calls with dH > ``threshold``.

    With no calls q = 1, so a correct answer found without tools keeps the full reward; a wrong answer
    gets 0 whatever the calls did (the reward never pays for entropy alone).
    """
    if not 0.0 <= beta <= 1.0:
        raise ConfigError(f"beta must be in [0, 1]; got {beta}.")
    q = sum(c.reduction > threshold for c in calls) / len(calls) if calls else 1.0
    return float(correct) * (1.0 - beta * (1.0 - q))
