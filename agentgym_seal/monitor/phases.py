"""Online labelling of the entropy series into descent / eruption / subsidence (SEAL Sec. 3.1-3.4).

The paper describes cycles: entropy first descends (Phase 1), then erupts (Phase 2) and subsides
(Phase 3), and eruption and subsidence recur. :class:`PhaseDetector` labels each step causally from the
values seen so far, with these rules (all thresholds in the units of the series):

1. **Smoothing.** ``s_t = (1 − α)·s_{t−1} + α·x_t`` (EMA, ``ema_alpha``).
2. **Noise.** ``σ_t`` is an EMA of the step-to-step change ``|x_t − x_{t−1}|·√(π)/2`` (an unbiased σ for
   Gaussian noise, insensitive to slow trends). Each change is clipped at ``noise_clip·σ`` once warmed up, so
   an eruption's jump barely inflates σ.
3. **Baseline.** The running minimum ``m`` of ``s`` (from the end of the warm-up, or since the last eruption
   ended), and the *onset* candidate: the last step where ``s_t − m <= onset_sigmas·σ_t`` (still at the
   bottom; on a flat, noisy bottom this is where the rise began, not the noise's arg-min).
4. **Eruption start.** Outside an eruption, after ``warmup_steps`` values: if
   ``s_t − m > max(rise_sigmas·σ_t, rise_fraction·|m|, min_rise)`` for ``confirm_steps`` consecutive steps,
   the phase becomes ``eruption`` and the update carries ``event="eruption_start"`` with ``event_step`` =
   the onset candidate (where the rise began; the event itself is reported a few steps later).
5. **Eruption end.** In an eruption, track the peak ``M`` of ``s``. After at least ``min_eruption_steps``
   steps, if ``M − s_t > max(fall_sigmas·σ_t, fall_fraction·(M − m))`` for ``confirm_steps`` consecutive
   steps, the phase becomes ``subsidence`` and the baseline restarts at ``s_t``.
6. **Labels.** Before the first eruption the phase is ``descent``; after an eruption, ``subsidence`` until the
   next eruption (the paper's Phase 3 leads into the next cycle). Labels are never revised; use
   ``event_step`` to back-date an eruption's start in plots.

Non-finite values are skipped: the state is unchanged and the update repeats the current phase with no event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from agentgym_seal.errors import ConfigError

Phase = Literal["descent", "eruption", "subsidence"]
PhaseEvent = Literal["eruption_start"]

_SIGMA_FROM_ABS_DIFF = math.sqrt(math.pi) / 2  # E|x_t − x_{t−1}| = 2σ/√π for i.i.d. Gaussian noise


@dataclass(frozen=True)
class PhaseConfig:
    """Rules of :class:`PhaseDetector` (see the module docstring).

    Attributes:
        ema_alpha: Weight of the newest value in the smoothed series, in (0, 1].
        noise_alpha: Weight of the newest change in the noise estimate, in (0, 1].
        noise_clip: Changes larger than this many σ are clipped before entering the noise estimate.
        warmup_steps: Values seen before an eruption can be declared (the noise estimate needs them); the
            baseline follows ``s`` until then.
        rise_sigmas: An eruption needs a rise above the baseline of more than this many σ ...
        rise_fraction: ... and more than this fraction of the baseline's magnitude ...
        min_rise: ... and more than this absolute amount.
        onset_sigmas: A step is "still at the bottom" (onset candidate) while ``s − m`` is within this many σ.
        confirm_steps: Consecutive steps a start or end condition must hold.
        min_eruption_steps: Steps an eruption lasts at least before it can end (hysteresis).
        fall_sigmas: An eruption ends on a fall below its peak of more than this many σ ...
        fall_fraction: ... and more than this fraction of the eruption's height (peak − baseline).
    """

    ema_alpha: float = 0.3
    noise_alpha: float = 0.1
    noise_clip: float = 3.0
    warmup_steps: int = 5
    rise_sigmas: float = 4.0
    rise_fraction: float = 0.1
    min_rise: float = 0.0
    onset_sigmas: float = 1.0
    confirm_steps: int = 2
    min_eruption_steps: int = 2
    fall_sigmas: float = 2.0
    fall_fraction: float = 0.2

    def __post_init__(self) -> None:
        for name in ("ema_alpha", "noise_alpha"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ConfigError(f"PhaseConfig.{name} must be in (0, 1]; got {value!r}.")
        for name in (
            "noise_clip",
            "rise_sigmas",
            "rise_fraction",
            "min_rise",
            "onset_sigmas",
            "fall_sigmas",
            "fall_fraction",
        ):
            value = getattr(self, name)
            if not value >= 0:
                raise ConfigError(f"PhaseConfig.{name} must be >= 0; got {value!r}.")
        for name in ("warmup_steps", "confirm_steps", "min_eruption_steps"):
            value = getattr(self, name)
            if not value >= 1:
                raise ConfigError(f"PhaseConfig.{name} must be >= 1; got {value!r}.")


@dataclass(frozen=True)
class PhaseUpdate:
    """What :meth:`PhaseDetector.update` reports for one step.

    Attributes:
        phase: The phase of this step.
        event: ``"eruption_start"`` on the step where an eruption is confirmed, else None.
        event_step: With an event, the step the eruption started from (the trough), else None.
        smoothed: The smoothed value s_t (NaN before the first finite value).
        baseline: The running minimum m (NaN before the first finite value).
        noise: The noise estimate σ_t (0 before two finite values).
    """

    phase: Phase
    event: PhaseEvent | None = None
    event_step: int | None = None
    smoothed: float = math.nan
    baseline: float = math.nan
    noise: float = 0.0


class PhaseDetector:
    """Online labeller of an entropy series (SEAL Sec. 3; rules in the module docstring).

    Args:
        cfg: The rules' settings.

    Attributes:
        phase: The current phase.
        eruption_steps: The back-dated start step of every eruption so far.
    """

    def __init__(self, cfg: PhaseConfig | None = None) -> None:
        self.cfg = cfg or PhaseConfig()
        self.phase: Phase = "descent"
        self.eruption_steps: list[int] = []
        self._seen = 0
        self._last = math.nan
        self._smoothed = math.nan
        self._noise = 0.0
        self._baseline = math.nan
        self._onset_step = 0
        self._peak = math.nan
        self._streak = 0
        self._in_phase = 0

    def update(self, step: int, value: float) -> PhaseUpdate:
        """Feeds one value of the series; returns the step's phase and event.

        Args:
            step: The training step of ``value`` (used for ``event_step`` and :attr:`eruption_steps`).
            value: The entropy (or any series) at that step.

        Returns:
            The :class:`PhaseUpdate` of this step.
        """
        value = float(value)
        if not math.isfinite(value):
            return self._report()
        self._track(step, value)
        event_step: int | None = None
        if self.phase != "eruption":
            if self._seen >= self.cfg.warmup_steps and self._rising():
                self._streak += 1
            else:
                self._streak = 0
            if self._streak >= self.cfg.confirm_steps:
                event_step = self._onset_step
                self.eruption_steps.append(event_step)
                self._enter("eruption")
                self._peak = self._smoothed
        else:
            self._peak = max(self._peak, self._smoothed)
            self._streak = self._streak + 1 if self._in_phase >= self.cfg.min_eruption_steps and self._falling() else 0
            if self._streak >= self.cfg.confirm_steps:
                self._enter("subsidence")
                self._baseline, self._onset_step = self._smoothed, step  # the next cycle's baseline restarts here
        self._in_phase += 1
        return self._report("eruption_start" if event_step is not None else None, event_step)

    def _track(self, step: int, value: float) -> None:
        """Updates the smoothed value, the noise estimate and the baseline (rules 1-3)."""
        cfg = self.cfg
        if self._seen == 0:
            self._smoothed = value
        else:
            change = abs(value - self._last) * _SIGMA_FROM_ABS_DIFF
            if self._seen >= cfg.warmup_steps and self._noise > 0:
                change = min(change, cfg.noise_clip * self._noise)  # rule 2: robust to the eruption's jumps
            weight = cfg.noise_alpha if self._seen > 1 else 1.0
            self._noise = (1 - weight) * self._noise + weight * change
            self._smoothed = (1 - cfg.ema_alpha) * self._smoothed + cfg.ema_alpha * value  # rule 1
        self._last = value
        self._seen += 1
        if self.phase == "eruption":
            return
        if self._seen <= cfg.warmup_steps or not self._smoothed > self._baseline:
            self._baseline = self._smoothed  # rule 3: running minimum
        if self._smoothed - self._baseline <= cfg.onset_sigmas * self._noise:
            self._onset_step = step  # rule 3: still at the bottom

    def _rising(self) -> bool:
        cfg = self.cfg
        threshold = max(cfg.rise_sigmas * self._noise, cfg.rise_fraction * abs(self._baseline), cfg.min_rise)
        return self._smoothed - self._baseline > threshold  # rule 4

    def _falling(self) -> bool:
        cfg = self.cfg
        threshold = max(cfg.fall_sigmas * self._noise, cfg.fall_fraction * (self._peak - self._baseline))
        return self._peak - self._smoothed > threshold  # rule 5

    def _enter(self, phase: Phase) -> None:
        self.phase = phase
        self._streak = 0
        self._in_phase = 0

    def _report(self, event: PhaseEvent | None = None, event_step: int | None = None) -> PhaseUpdate:
        return PhaseUpdate(self.phase, event, event_step, self._smoothed, self._baseline, self._noise)


def label_series(
    values: list[float], steps: list[int] | None = None, cfg: PhaseConfig | None = None
) -> list[PhaseUpdate]:
    """Runs a fresh :class:`PhaseDetector` over a whole series.

    Args:
        values: The series.
        steps: The step of each value (default ``0, 1, ...``).
        cfg: The rules' settings.

    Returns:
        One :class:`PhaseUpdate` per value.
    """
    detector = PhaseDetector(cfg)
    steps = list(range(len(values))) if steps is None else steps
    if len(steps) != len(values):
        raise ValueError(f"label_series: expected one step per value; got {len(steps)} steps, {len(values)} values.")
    return [detector.update(step, value) for step, value in zip(steps, values, strict=True)]
