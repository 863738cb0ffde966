"""Progress lines of long phases: plain lines at most every N s in a log, rich bars on a terminal."""

import io
import time

import pytest
from rich.console import Console

from agentgym_seal.logging.progress import PhaseProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def log_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=200), out


def test_a_log_gets_a_start_line_throttled_step_lines_and_an_end_line() -> None:
    console, out = log_console()
    clock = Clock()
    with PhaseProgress(console, "warm-up (SFT)", every_s=30, clock=clock) as on_step:
        clock.now = 5
        on_step(1, 10, 0.9)  # the first step announces the phase
        clock.now = 20
        on_step(2, 10, 0.85)  # too soon after the start line
        clock.now = 36
        on_step(2, 10, 0.8)
        clock.now = 40
        on_step(3, 10, 0.7)  # too soon after the last line
    lines = out.getvalue().splitlines()
    assert lines == [
        "warm-up (SFT): started",
        "warm-up (SFT): 2/10 (20%), loss 0.800, 36 s, about 2.4 min left",
        "warm-up (SFT): 3/10 (30%), loss 0.700, done in 40 s",
    ]


def test_a_phase_that_ends_without_work_prints_nothing() -> None:
    console, out = log_console()
    with PhaseProgress(console, "copy pretraining", clock=Clock()):
        pass  # the cached model was loaded: no step, no heartbeat
    assert out.getvalue() == ""


def test_a_phase_without_steps_still_prints_a_heartbeat() -> None:
    console, out = log_console()
    with PhaseProgress(console, "evaluation", every_s=0.05):
        deadline = time.monotonic() + 5
        while out.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = out.getvalue().splitlines()
    assert lines[0] == "evaluation: started" and lines[1].startswith("evaluation: 0 s")
    assert lines[-1].startswith("evaluation: done in")


def test_an_error_is_named_in_the_end_line() -> None:
    console, out = log_console()
    with pytest.raises(KeyError), PhaseProgress(console, "rollout", clock=Clock()):
        raise KeyError("x")
    assert out.getvalue().splitlines()[-1] == "rollout: stopped by KeyError in 0 s"


def test_a_terminal_gets_a_bar_and_disabled_progress_prints_nothing() -> None:
    out = io.StringIO()
    terminal = Console(file=out, force_terminal=True, width=120)
    with PhaseProgress(terminal, "copy pretraining") as on_step:
        assert not on_step.plain
        on_step(5, 10, 0.5)
    assert "copy pretraining" in out.getvalue() and "started" not in out.getvalue()
    console, quiet = log_console()
    with PhaseProgress(console, "copy pretraining", enabled=False) as on_step:
        on_step(1, 2)
    assert quiet.getvalue() == ""
