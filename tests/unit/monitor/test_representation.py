"""Representation metrics (SPEC 6.5) on constructed embeddings, the probe's AUC and the 2-D projection."""

import math

import pytest
import torch
import torch.nn.functional as F

from agentgym_seal.monitor import auc_score, masked_mean_pool, probe_auc, project_2d, representation_metrics


def test_masked_mean_pool_matches_loop_and_empty_row_is_nan() -> None:
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 5, 4, generator=gen)
    mask = torch.tensor([[1, 1, 0, 0, 0], [0, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    pooled = masked_mean_pool(hidden, mask)
    assert pooled.shape == (3, 4)
    assert torch.allclose(pooled[0], hidden[0, :2].mean(0)) and torch.allclose(pooled[1], hidden[1, 1:].mean(0))
    assert torch.isnan(pooled[2]).all()
    with pytest.raises(ValueError, match="masked_mean_pool"):
        masked_mean_pool(hidden, mask[:, :4])


def test_identical_classes() -> None:
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(1)) + 3
    out = representation_metrics(torch.cat([x, x]), [True] * 6 + [False] * 6, [0] * 6 + [1] * 6)
    assert out["repr/centroid_cosine"] == pytest.approx(1.0)
    assert out["repr/num_samples"] == 12.0
    assert math.isnan(out["repr/group_cross_cosine"])  # each group holds one class only


def test_orthogonal_classes() -> None:
    scales = torch.tensor([1.0, 2.0, 3.0])[:, None]
    correct = scales * F.one_hot(torch.tensor(0), 4).float()  # (3, 4) along e0
    wrong = scales * F.one_hot(torch.tensor(1), 4).float()  # (3, 4) along e1
    out = representation_metrics(torch.cat([correct, wrong]), [True] * 3 + [False] * 3, [0, 0, 1, 0, 1, 1])
    assert out["repr/centroid_cosine"] == pytest.approx(0.0, abs=1e-12)
    assert out["repr/within_cosine"] == pytest.approx(1.0)
    assert out["repr/cross_cosine"] == pytest.approx(0.0, abs=1e-12)
    assert out["repr/group_within_cosine"] == pytest.approx(1.0)
    assert out["repr/group_cross_cosine"] == pytest.approx(0.0, abs=1e-12)


def test_pair_means_against_loop() -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(10, 5, generator=gen)
    labels = [bool(v) for v in (torch.rand(10, generator=gen) > 0.5).tolist()]
    labels[:2] = [True, False]
    groups = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    out = representation_metrics(x, labels, groups)
    within, cross, per_group = [], [], {}
    for i in range(10):
        for j in range(10):
            if i == j:
                continue
            cos = F.cosine_similarity(x[i], x[j], dim=0).item()
            (within if labels[i] == labels[j] else cross).append(cos)
            if groups[i] == groups[j]:
                per_group.setdefault((groups[i], labels[i] == labels[j]), []).append(cos)
    assert out["repr/within_cosine"] == pytest.approx(sum(within) / len(within))
    assert out["repr/cross_cosine"] == pytest.approx(sum(cross) / len(cross))
    for same, key in ((True, "repr/group_within_cosine"), (False, "repr/group_cross_cosine")):
        means = [sum(v) / len(v) for (_, s), v in per_group.items() if s == same]
        assert out[key] == pytest.approx(sum(means) / len(means))


def test_probe_auc_separable_and_deterministic() -> None:
    gen = torch.Generator().manual_seed(3)
    direction = torch.randn(16, generator=gen)
    labels = torch.arange(40) % 2 == 0
    x = torch.randn(40, 16, generator=gen) + 4 * torch.where(labels, 1.0, -1.0)[:, None] * direction
    assert probe_auc(x, labels) == pytest.approx(1.0)
    assert representation_metrics(x, labels)["repr/probe_auc"] == probe_auc(x, labels)


def test_auc_score_rank_formula() -> None:
    labels = torch.tensor([False, False, True, True])
    assert auc_score(torch.tensor([0.1, 0.4, 0.35, 0.8]), labels) == pytest.approx(0.75)
    assert auc_score(torch.ones(4), labels) == pytest.approx(0.5)  # all tied
    assert auc_score(torch.tensor([0.0, 1.0, 1.0, 2.0]), labels) == pytest.approx(0.875)  # one tie across classes
    assert math.isnan(auc_score(torch.ones(3), torch.tensor([True, True, True])))


def test_bad_input_gives_nan_not_errors() -> None:
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(4))
    single_class = representation_metrics(x, [True] * 5, [0] * 5)
    assert math.isnan(single_class["repr/centroid_cosine"]) and math.isnan(single_class["repr/cross_cosine"])
    assert math.isnan(single_class["repr/probe_auc"]) and not math.isnan(single_class["repr/within_cosine"])
    one = representation_metrics(x[:1], [True])
    assert one["repr/num_samples"] == 1.0
    assert all(math.isnan(v) for k, v in one.items() if k != "repr/num_samples")
    empty = representation_metrics(torch.zeros(0, 3), [])
    assert empty["repr/num_samples"] == 0.0 and math.isnan(empty["repr/within_cosine"])
    assert math.isnan(representation_metrics(x[:3], [True, False, True])["repr/probe_auc"])  # 1 wrong sample
    poisoned = x.clone()
    poisoned[0, 1] = math.nan
    out = representation_metrics(poisoned, [True, False, True, False, True])
    assert out["repr/num_samples"] == 4.0 and math.isfinite(out["repr/centroid_cosine"])
    with pytest.raises(ValueError, match="one per embedding"):
        representation_metrics(x, [True])


def test_project_2d_recovers_a_plane() -> None:
    gen = torch.Generator().manual_seed(5)
    coords = torch.randn(20, 2, generator=gen) * torch.tensor([3.0, 1.0])
    basis = torch.linalg.qr(torch.randn(10, 2, generator=gen)).Q  # (10, 2) orthonormal
    x = coords @ basis.T + 7.0
    projected = project_2d(x)
    assert projected.shape == (20, 2)
    assert torch.allclose(torch.cdist(projected, projected), torch.cdist(coords, coords), atol=1e-4)
    assert torch.equal(project_2d(x), projected)  # deterministic
    x[3] = math.nan
    with_nan = project_2d(x)
    assert torch.isnan(with_nan[3]).all() and torch.isfinite(with_nan[[0, 1, 2, 4]]).all()
    assert project_2d(torch.zeros(0, 4)).shape == (0, 2)
    assert torch.equal(project_2d(torch.ones(1, 4)), torch.zeros(1, 2))
    assert project_2d(torch.randn(4, 1)).shape == (4, 2)
