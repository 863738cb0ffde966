"""Step groups of GiGPO: which step samples share an anchor state (SPEC 2.3, GiGPO Eq. 6, arXiv 2505.10978).

Two groupings, both within a uid only: exact equality of the anchor's hashable form
(:func:`anchor_groups`) and the optional greedy difflib clustering of text anchors (:func:`similarity_groups`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from difflib import SequenceMatcher

import numpy as np

from ._checks import as_keys, check_range, check_same_length


def anchor_key(obs: object) -> Hashable:
    """Hashable form of an anchor observation (SPEC 2.3, GiGPO ``to_hashable``).

    ndarray -> flattened tuple, list/tuple -> tuple, dict -> sorted tuple of items, numpy scalar ->
    Python scalar; other hashable values are used as they are.

    Raises:
        TypeError: ``obs`` is neither convertible nor hashable.
    """
    if isinstance(obs, np.ndarray):
        return tuple(obs.flatten().tolist())
    if isinstance(obs, np.generic):
        return obs.item()  # type: ignore[no-any-return]
    if isinstance(obs, list | tuple):
        return tuple(anchor_key(e) for e in obs)
    if isinstance(obs, dict):
        return tuple(sorted((k, anchor_key(v)) for k, v in obs.items()))
    if isinstance(obs, Hashable):
        return obs
    raise TypeError(
        f"anchor observation: expected a str, ndarray, list, tuple, dict or other hashable value; "
        f"got {type(obs).__name__}. Fix: pass the raw observation (text or array) as the anchor."
    )


def anchor_groups(anchors: Sequence[object], group_ids: Sequence[Hashable]) -> list[Hashable]:
    """Step-group key of each sample: (uid, exact anchor); clusters never cross uids (SPEC 2.3, GiGPO Eq. 6)."""
    check_same_length("anchor_groups", anchors=len(anchors), group_ids=len(group_ids))
    return [(uid, anchor_key(obs)) for obs, uid in zip(anchors, as_keys(group_ids), strict=True)]


def similarity_groups(anchors: Sequence[object], group_ids: Sequence[Hashable], threshold: float) -> list[int]:
    """Greedy similarity clustering of text anchors within each uid (SPEC 2.3, SEAL-repo ``build_step_group``).

    Samples are visited in batch order; each joins the first cluster of its uid whose representative
    (first member) has ``difflib.SequenceMatcher(None, obs, rep).ratio() >= threshold``, else it opens
    a new cluster. Clusters never cross uids.

    Args:
        anchors: ``N`` text observations.
        group_ids: ``N`` task-group keys (uid).
        threshold: Similarity threshold in (0, 1).

    Returns:
        ``N`` integer cluster ids, unique across uids.

    Raises:
        TypeError: An anchor is not a string (only text is supported, as in the reference).
    """
    check_range(
        "similarity_threshold", threshold, where="similarity_groups", low=0.0, high=1.0, low_open=True, high_open=True
    )
    check_same_length("similarity_groups", anchors=len(anchors), group_ids=len(group_ids))
    clusters: dict[Hashable, list[tuple[str, int]]] = {}  # uid -> [(representative, cluster id)]
    out: list[int] = []
    next_id = 0
    for obs, uid in zip(anchors, as_keys(group_ids), strict=True):
        if not isinstance(obs, str):
            raise TypeError(
                f"similarity_groups: expected str anchors; got {type(obs).__name__}. "
                "Fix: use exact anchor grouping (similarity_threshold=None) for non-text observations."
            )
        reps = clusters.setdefault(uid, [])
        for rep, cid in reps:
            if SequenceMatcher(None, obs, rep).ratio() >= threshold:
                out.append(cid)
                break
        else:
            reps.append((obs, next_id))  # obs becomes the representative of a new cluster
            out.append(next_id)
            next_id += 1
    return out
