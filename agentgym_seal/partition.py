"""Even contiguous partitions of a range (torch-free): the learner's mini-batches, the rollout workers' groups."""

from __future__ import annotations


def even_slices(total: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous ``(first, count)`` slices of ``range(total)`` into ``parts``, sizes differing by at most one.

    Empty slices are left out (``parts > total``); ``total <= 0`` gives no slice.
    """
    if total <= 0:
        return []
    base, extra = divmod(total, parts)
    slices, first = [], 0
    for k in range(parts):
        count = base + (k < extra)
        if count:
            slices.append((first, count))
        first += count
    return slices
