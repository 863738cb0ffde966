"""Representation similarity of correct vs wrong step samples (SPEC 6.5; SEAL Sec. 3.3, Fig. 3).

Defined values for bad input (never an exception for data, only for wrong shapes):

- Rows of ``embeddings`` with a non-finite value (e.g. a sample with no response token, see
  :func:`masked_mean_pool`) are dropped before any metric.
- A metric whose pairs or classes do not exist (one class only, a single sample, a group with one class,
  no ``group_ids``) is NaN; group means average only the groups where the metric exists.
- ``repr/probe_auc`` needs >= 2 samples of each class (one for training, one held out), else NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

_NAN = float("nan")


def masked_mean_pool(hidden: Tensor, mask: Tensor) -> Tensor:
    """Mean of the hidden states over the masked positions of each row (SPEC 6.5, recommended masked mean).

    Args:
        hidden: ``(B, L, H)`` last-layer hidden states.
        mask: ``(B, L)`` 1/True at the response positions.

    Returns:
        ``(B, H)`` in ``promote_types(hidden.dtype, float32)``; a row with no masked position is all NaN
        (:func:`representation_metrics` then drops it).
    """
    if hidden.dim() != 3 or tuple(mask.shape) != tuple(hidden.shape[:2]):
        raise ValueError(
            f"masked_mean_pool: expected hidden (B, L, H) and mask (B, L); got {tuple(hidden.shape)} and "
            f"{tuple(mask.shape)}."
        )
    dtype = torch.promote_types(hidden.dtype, torch.float32)
    weights = mask.to(dtype)  # (B, L)
    total = torch.einsum("blh,bl->bh", hidden.to(dtype), weights)  # (B, H)
    count = weights.sum(dim=1, keepdim=True)  # (B, 1)
    return total / count  # (B, H) 0/0 = NaN for an empty row


def _mean_pair_cosine(cos: Tensor, pairs: Tensor) -> float:
    """Mean of ``cos`` over the True entries of ``pairs`` (both (n, n)); NaN when there are none."""
    count = int(pairs.sum())
    return float(cos[pairs].sum() / count) if count else _NAN


def _pair_masks(labels: Tensor) -> tuple[Tensor, Tensor]:
    """Within-class pairs (i != j, same label) and cross-class pairs, both ``(n, n)`` bool."""
    same = labels[:, None] == labels[None, :]  # (n, n)
    off_diagonal = ~torch.eye(labels.shape[0], dtype=torch.bool)  # (n, n)
    return same & off_diagonal, ~same  # (n, n), (n, n)


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else _NAN


def auc_score(scores: Tensor, labels: Tensor) -> float:
    """ROC AUC by the rank formula (Mann-Whitney U / (n_pos·n_neg)), ties get their average rank.

    Args:
        scores: ``(n,)`` higher means more likely positive.
        labels: ``(n,)`` bool.

    Returns:
        The AUC in [0, 1]; NaN when a class is missing.
    """
    labels = labels.to(torch.bool)  # (n,)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return _NAN
    values = scores.to(torch.float64)  # (n,)
    # average rank (1-based) of each score: #less + (#equal + 1) / 2
    less = (values[None, :] < values[:, None]).sum(dim=1).to(torch.float64)  # (n,)
    equal = (values[None, :] == values[:, None]).sum(dim=1).to(torch.float64)  # (n,)
    ranks = less + (equal + 1) / 2  # (n,)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _probe_split(labels: Tensor, test_fraction: float, seed: int) -> tuple[Tensor, Tensor] | None:
    """A deterministic stratified split: per class, a seeded permutation; ``test_fraction`` held out."""
    generator = torch.Generator().manual_seed(seed)
    train, test = [], []
    for cls in (True, False):
        index = torch.nonzero(labels == cls).flatten()  # (n_c,)
        if index.numel() < 2:
            return None
        index = index[torch.randperm(index.numel(), generator=generator)]  # (n_c,)
        n_test = min(index.numel() - 1, max(1, round(test_fraction * index.numel())))
        test.append(index[:n_test])
        train.append(index[n_test:])
    return torch.cat(train), torch.cat(test)  # (n_train,), (n_test,)


def probe_auc(
    embeddings: Tensor, labels: Tensor, *, test_fraction: float = 0.3, l2: float = 1e-2, seed: int = 0
) -> float:
    """Held-out AUC of a logistic-regression probe of correct vs wrong (SPEC 6.5, issue "linear probe").

    Features are standardised with the training split's mean and std; the probe (w, b) minimises the mean
    logistic loss + ``l2``·‖w‖² with L-BFGS in float64 (deterministic on CPU).

    Args:
        embeddings: ``(n, H)`` finite embeddings.
        labels: ``(n,)`` bool, True = correct.
        test_fraction: Share of each class held out (at least one sample of each class on each side).
        l2: Ridge weight on w.
        seed: Seed of the split.

    Returns:
        The AUC on the held-out split; NaN when a class has fewer than 2 samples.
    """
    split = _probe_split(labels.to(torch.bool), test_fraction, seed)
    if split is None:
        return _NAN
    train, test = split
    x = embeddings.detach().to("cpu", torch.float64)  # (n, H)
    y = labels.to("cpu", torch.float64)  # (n,)
    mean = x[train].mean(dim=0)  # (H,)
    std = x[train].std(dim=0, unbiased=False).clamp_min(1e-8)  # (H,)
    x = (x - mean) / std  # (n, H)
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)  # (H,)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)  # ()
    optimizer = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        logits = x[train] @ w + b  # (n_train,)
        loss = F.binary_cross_entropy_with_logits(logits, y[train]) + l2 * (w * w).sum()  # ()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    with torch.enable_grad():
        optimizer.step(closure)  # type: ignore[no-untyped-call]
    with torch.no_grad():
        return auc_score(x[test] @ w + b, labels[test])  # (n_test,) scores


def _group_metrics(cos: Tensor, labels: Tensor, groups: Tensor) -> tuple[float, float]:
    within, cross = [], []
    for group in torch.unique(groups).tolist():
        rows = groups == group  # (n,)
        sub_within, sub_cross = _pair_masks(labels[rows])  # (n_g, n_g)
        sub_cos = cos[rows][:, rows]  # (n_g, n_g)
        within.append(_mean_pair_cosine(sub_cos, sub_within))
        cross.append(_mean_pair_cosine(sub_cos, sub_cross))
    return _nanmean(within), _nanmean(cross)


def representation_metrics(
    embeddings: Tensor, labels: Tensor | Sequence[bool], group_ids: Tensor | Sequence[int] | None = None
) -> dict[str, float]:
    """Similarity of correct and wrong embeddings, overall and per task group (SPEC 6.5).

    Args:
        embeddings: ``(N, H)`` one pooled embedding per step sample (:func:`masked_mean_pool`).
        labels: ``(N,)`` True = correct (episode reward > 0).
        group_ids: ``(N,)`` task group (uid) of each sample, or None.

    Returns:
        ``repr/centroid_cosine`` (cosine of the two class means), ``repr/within_cosine`` (mean pairwise cosine
        over same-class pairs i != j, both classes pooled), ``repr/cross_cosine`` (over correct-wrong pairs),
        ``repr/group_within_cosine`` and ``repr/group_cross_cosine`` (the same restricted to pairs inside one
        group, averaged over groups), ``repr/probe_auc`` (:func:`probe_auc`) and ``repr/num_samples`` (rows
        kept). See the module docstring for the NaN cases.
    """
    if embeddings.dim() != 2:
        raise ValueError(f"representation_metrics: expected embeddings (N, H); got {tuple(embeddings.shape)}.")
    x = embeddings.detach().to("cpu", torch.float64)  # (N, H)
    y = torch.as_tensor(labels).to("cpu", torch.bool).reshape(-1)  # (N,)
    g = None if group_ids is None else torch.as_tensor(group_ids).to("cpu").reshape(-1)  # (N,)
    if y.shape[0] != x.shape[0] or (g is not None and g.shape[0] != x.shape[0]):
        raise ValueError(
            f"representation_metrics: expected labels and group_ids of length {x.shape[0]} (one per embedding)."
        )
    keep = torch.isfinite(x).all(dim=1)  # (N,)
    x, y = x[keep], y[keep]  # (n, H), (n,)
    g = None if g is None else g[keep]  # (n,)
    unit = F.normalize(x, dim=1)  # (n, H)
    cos = unit @ unit.T  # (n, n)
    within, cross = _pair_masks(y)  # (n, n)
    centroid = _NAN
    if y.any() and (~y).any():
        centroid = float(F.cosine_similarity(x[y].mean(0), x[~y].mean(0), dim=0))  # SPEC 6.5 centroid cosine
    group_within, group_cross = _group_metrics(cos, y, g) if g is not None else (_NAN, _NAN)
    return {
        "repr/centroid_cosine": centroid,
        "repr/within_cosine": _mean_pair_cosine(cos, within),
        "repr/cross_cosine": _mean_pair_cosine(cos, cross),
        "repr/group_within_cosine": group_within,
        "repr/group_cross_cosine": group_cross,
        "repr/probe_auc": probe_auc(x, y),
        "repr/num_samples": float(x.shape[0]),
    }


def project_2d(embeddings: Tensor) -> Tensor:
    """2-D PCA projection of the embeddings for the report (SPEC 6.5; the paper uses t-SNE).

    Exact SVD of the centred finite rows (deterministic, unlike ``torch.pca_lowrank``); each component's sign
    is fixed so that its largest-magnitude loading is positive.

    Args:
        embeddings: ``(N, H)``.

    Returns:
        ``(N, 2)`` float; rows with a non-finite value are NaN; a component that does not exist (H < 2) is 0, and
        one without variance (a single finite row, or points on a line) gives 0 up to rounding.
    """
    if embeddings.dim() != 2:
        raise ValueError(f"project_2d: expected embeddings (N, H); got {tuple(embeddings.shape)}.")
    x = embeddings.detach().to(torch.promote_types(embeddings.dtype, torch.float32))  # (N, H)
    out = torch.full((x.shape[0], 2), _NAN, dtype=x.dtype, device=x.device)  # (N, 2)
    keep = torch.isfinite(x).all(dim=1)  # (N,)
    if not keep.any():
        return out
    finite = x[keep] - x[keep].mean(dim=0)  # (n, H) centred
    _, _, vh = torch.linalg.svd(finite, full_matrices=False)  # vh: (k, H), k = min(n, H)
    components = vh[:2]  # (c, H), c <= 2
    pivot = components.abs().argmax(dim=1, keepdim=True)  # (c, 1)
    components = components * torch.sign(components.gather(1, pivot))  # (c, H) sign-fixed
    coords = torch.zeros((finite.shape[0], 2), dtype=x.dtype, device=x.device)  # (n, 2)
    coords[:, : components.shape[0]] = finite @ components.T  # (n, c)
    out[keep] = coords
    return out
