"""ALFWorld results: success per task type (expert episodes and demonstrations live in ``agentgym_seal.experts``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from rich.table import Table

from agentgym_seal.experts import expert_demonstrations, play_expert_episode
from agentgym_seal.types import Trajectory

from .scenes import TASK_TYPES

__all__ = [
    "expert_demonstrations",
    "play_expert_episode",
    "success_by_task_type",
    "success_table",
    "trajectories_summary",
]


def success_by_task_type(results: Iterable[tuple[str, bool]]) -> dict[str, tuple[int, int]]:
    """Counts ``(wins, episodes)`` per task type from ``(task_type, won)`` pairs, in ALFWorld's order."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for task_type, won in results:
        counts[task_type][0] += int(won)
        counts[task_type][1] += 1
    order = [t for t in TASK_TYPES if t in counts] + sorted(t for t in counts if t not in TASK_TYPES)
    return {t: (counts[t][0], counts[t][1]) for t in order}


def success_table(summary: dict[str, tuple[int, int]], title: str = "Success per task type") -> Table:
    """A rich table of :func:`success_by_task_type`'s output, with an overall row."""
    table = Table(title=title)
    for column, justify in (("task type", "left"), ("won", "right"), ("episodes", "right"), ("success", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for task_type, (won, total) in summary.items():
        table.add_row(task_type, str(won), str(total), f"{won / total:.1%}")
    won_all = sum(w for w, _ in summary.values())
    total_all = sum(n for _, n in summary.values())
    if total_all:
        table.add_row("all", str(won_all), str(total_all), f"{won_all / total_all:.1%}", style="bold")
    return table


def trajectories_summary(trajectories: Sequence[Trajectory]) -> dict[str, tuple[int, int]]:
    """:func:`success_by_task_type` over trajectories (their ``info["task_type"]``)."""
    return success_by_task_type((str(t.info.get("task_type", "")), t.won) for t in trajectories)
