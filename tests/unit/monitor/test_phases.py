"""Phase detector (SEAL Sec. 3) on synthetic entropy series with known phases."""

import math
import re

import pytest
import torch

from agentgym_seal.errors import ConfigError
from agentgym_seal.monitor import PhaseConfig, PhaseDetector, label_series

ERUPTION_STARTS = (40, 100)


def clean_cycles() -> list[float]:
    """Descent 2.0 -> ~0.5, a 5-step eruption to 1.6, subsidence to ~0.7, then a second eruption and subsidence."""
    levels: list[float] = []
    for t in range(160):
        if t < 40:
            levels.append(0.5 + 1.5 * math.exp(-t / 10))  # Phase 1: descent
        elif t < 45:
            levels.append(levels[39] + (1.6 - levels[39]) * (t - 39) / 5)  # eruption, starts after step 39
        elif t < 100:
            levels.append(0.7 + 0.9 * math.exp(-(t - 44) / 8))  # subsidence
        elif t < 105:
            levels.append(levels[99] + (1.5 - levels[99]) * (t - 99) / 5)  # second eruption
        else:
            levels.append(0.7 + 0.8 * math.exp(-(t - 104) / 8))
    return levels


def cyclic_series(seed: int, noise: float = 0.03) -> list[float]:
    gen = torch.Generator().manual_seed(seed)
    return [level + noise * float(torch.randn((), generator=gen)) for level in clean_cycles()]


@pytest.mark.parametrize("seed", range(5))
def test_eruptions_detected_near_the_truth(seed: int) -> None:
    updates = label_series(cyclic_series(seed))
    events = [(t, u.event_step) for t, u in enumerate(updates) if u.event == "eruption_start"]
    assert len(events) == 2, events
    for (reported_at, start), truth in zip(events, ERUPTION_STARTS, strict=True):
        assert start is not None and abs(start - truth) <= 3, events
        assert 0 <= reported_at - truth <= 5, events
    phases = [u.phase for u in updates]
    assert set(phases[:40]) == {"descent"}
    assert phases[44] == phases[104] == "eruption"
    assert phases[70] == phases[99] == phases[159] == "subsidence"


@pytest.mark.parametrize("seed", range(10))
def test_no_false_eruption_on_noisy_monotone_descent(seed: int) -> None:
    gen = torch.Generator().manual_seed(100 + seed)
    series = [0.3 + 1.7 * math.exp(-t / 60) + 0.05 * float(torch.randn((), generator=gen)) for t in range(300)]
    updates = label_series(series)
    assert not [u for u in updates if u.event is not None]
    assert {u.phase for u in updates} == {"descent"}


@pytest.mark.parametrize("seed", range(5))
def test_no_false_eruption_on_noisy_plateau(seed: int) -> None:
    gen = torch.Generator().manual_seed(200 + seed)
    updates = label_series([1.0 + 0.05 * float(torch.randn((), generator=gen)) for _ in range(400)])
    assert not [u for u in updates if u.event is not None]


def test_non_finite_values_are_skipped() -> None:
    detector = PhaseDetector()
    first = detector.update(0, math.nan)
    assert first.phase == "descent" and first.event is None and math.isnan(first.smoothed)
    values = cyclic_series(0)
    values[42] = math.inf
    updates = [detector.update(t, v) for t, v in enumerate(values)]
    assert math.isinf(values[42]) and updates[42].smoothed == updates[41].smoothed
    assert len(detector.eruption_steps) == 2


def test_update_reports_state() -> None:
    detector = PhaseDetector(PhaseConfig(ema_alpha=1.0))
    out = detector.update(7, 2.0)
    assert (out.phase, out.event, out.event_step, out.smoothed, out.baseline, out.noise) == (
        "descent",
        None,
        None,
        2.0,
        2.0,
        0.0,
    )


def test_constant_series_then_a_jump() -> None:
    updates = label_series([1.0] * 20 + [2.0] * 10)
    starts = [u.event_step for u in updates if u.event == "eruption_start"]
    assert starts == [19]


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match=re.escape("PhaseConfig.ema_alpha must be in (0, 1]")):
        PhaseConfig(ema_alpha=0.0)
    with pytest.raises(ConfigError, match=re.escape("PhaseConfig.confirm_steps must be >= 1")):
        PhaseConfig(confirm_steps=0)
    with pytest.raises(ConfigError, match=re.escape("PhaseConfig.rise_sigmas must be >= 0")):
        PhaseConfig(rise_sigmas=-1.0)
    with pytest.raises(ValueError, match="one step per value"):
        label_series([1.0, 2.0], steps=[0])
