"""Progress of long phases: rich bars on a terminal, plain lines at least every 30 s in a log.

``make train > log``, CI and cluster jobs write to a file, where rich draws nothing until a phase ends. There,
:class:`PhaseProgress` prints ``label: started`` when the phase first reports a step or has run for
:data:`LOG_EVERY_S` seconds, then ``label: 40/120 (33%), loss 0.412, 61 s, about 2 min left`` at most every
:data:`LOG_EVERY_S` seconds (a heartbeat even when the phase reports no steps), and one line at its end; a phase
that ends at once without work (a cached model) prints nothing. On a terminal it drives a rich progress bar.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

#: Most seconds between two plain progress lines of a phase.
LOG_EVERY_S = 30.0


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class PhaseProgress:
    """A context manager for one phase; call it as ``on_step(done, total, loss)`` (loss may be NaN).

    Args:
        console: Where lines and bars go; ``console.is_terminal`` picks bars or plain lines.
        label: The phase's name, e.g. ``"warm-up (SFT)"``.
        enabled: ``False`` prints nothing (``--no-progress``).
        every_s: Most seconds between two plain lines.
        clock: The time source (tests pass their own).
    """

    def __init__(
        self,
        console: Console,
        label: str,
        *,
        enabled: bool = True,
        every_s: float = LOG_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console, self.label, self.enabled, self.every_s, self.clock = console, label, enabled, every_s, clock
        self.done, self.total, self.loss = 0, 0, math.nan
        self._start = self._last_line = 0.0
        self._started = False
        self._bar: Progress | None = None
        self._task: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    @property
    def plain(self) -> bool:
        """Whether plain lines are printed (the console is not a terminal)."""
        return self.enabled and not self.console.is_terminal

    def __enter__(self) -> PhaseProgress:
        self._start = self._last_line = self.clock()
        if self.plain:
            self._heartbeat = threading.Thread(target=self._beat, name=f"progress {self.label}", daemon=True)
            self._heartbeat.start()
        elif self.enabled:
            columns = (TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[loss]}"))
            self._bar = Progress(*columns, TimeRemainingColumn(), console=self.console)
            self._bar.__enter__()
        return self

    def __call__(self, done: int, total: int, loss: float = math.nan) -> None:
        """Reports ``done`` of ``total`` steps (and the loss, NaN if none)."""
        with self._lock:
            self.done, self.total, self.loss = done, total, loss
            if self._bar is not None:
                shown = "" if math.isnan(loss) else f"loss {loss:.3f}"
                if self._task is None:
                    self._task = self._bar.add_task(self.label, total=total, loss=shown)
                self._bar.update(self._task, completed=done, total=total, loss=shown)
            elif self.plain and not self._started:
                self._announce()
            elif self.plain and self.clock() - self._last_line >= self.every_s:
                self._line()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=self.every_s + 1)
        if self._bar is not None:
            self._bar.__exit__(kind, error, trace)
        elif self.plain and (self._started or kind is not None):
            with self._lock:
                ending = "done" if kind is None else f"stopped by {kind.__name__}"
                line = self._status(f"{ending} in {_duration(self.clock() - self._start)}")
                self.console.print(line, markup=False, highlight=False)

    def _beat(self) -> None:
        while not self._stop.wait(min(self.every_s, 1.0)):
            with self._lock:
                if self.clock() - self._last_line < self.every_s:
                    continue
                if self._started:
                    self._line()
                else:
                    self._announce()

    def _announce(self) -> None:
        self.console.print(f"{self.label}: started", markup=False, highlight=False)
        self._started, self._last_line = True, self.clock()

    def _line(self) -> None:
        elapsed = self.clock() - self._start
        left = ""
        if 0 < self.done < self.total:
            left = f", about {_duration(elapsed / self.done * (self.total - self.done))} left"
        self.console.print(self._status(f"{_duration(elapsed)}{left}"), markup=False, highlight=False)
        self._last_line = self.clock()

    def _status(self, tail: str) -> str:
        steps = f"{self.done}/{self.total} ({100 * self.done / self.total:.0f}%), " if self.total else ""
        loss = "" if math.isnan(self.loss) else f"loss {self.loss:.3f}, "
        return f"{self.label}: {steps}{loss}{tail}"
