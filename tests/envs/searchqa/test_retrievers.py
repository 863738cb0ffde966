"""Every retriever finds the supporting passages of generated questions; indexes round-trip and fail clearly."""

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentgym_seal.environments.searchqa import Document, Question
from agentgym_seal.environments.searchqa import index as index_module
from agentgym_seal.environments.searchqa.bm25 import _top_k
from agentgym_seal.environments.searchqa.dense import DENSE_BACKEND
from agentgym_seal.environments.searchqa.hybrid import HybridRetriever, reciprocal_rank_fusion
from agentgym_seal.environments.searchqa.index import (
    RETRIEVERS,
    Hit,
    build_index,
    load_index,
    open_index,
    save_index,
    search_documents,
)
from agentgym_seal.errors import ConfigError, DependencyNotInstalled, GameDataError, UnknownNameError


def recall(retriever: Any, docs: Sequence[Document], questions: Sequence[Question], k: int) -> dict[str, float]:
    """recall@k of the first supporting passage (question text) and of each hop's passage (oracle query)."""
    qs = list(questions)
    by_question = retriever.search([q.question for q in qs], k)
    hop_queries = [(query, sid) for q in qs for query, sid in zip(q.queries, q.supporting_ids, strict=True)]
    by_hop = retriever.search([query for query, _ in hop_queries], k)
    single = [q.supporting_ids[0] in {docs[h.index].id for h in hits} for q, hits in zip(qs, by_question, strict=True)]
    single_hop = [ok for ok, q in zip(single, qs, strict=True) if q.type == "single_hop"]
    hops = [sid in {docs[h.index].id for h in hits} for (_, sid), hits in zip(hop_queries, by_hop, strict=True)]
    return {"single_hop_question": sum(single_hop) / len(single_hop), "hop_query": sum(hops) / len(hops)}


def test_bm25_recall(bm25: Any, docs: list[Document], questions: list[Question]) -> None:
    r = recall(bm25, docs, questions, k=5)
    assert r["single_hop_question"] >= 0.95, r  # measured 1.00 (1k passages)
    assert r["hop_query"] >= 0.95, r  # measured 0.99


@pytest.mark.parametrize("k", [1, 3, 7, 32, 33, 60])
def test_bm25_top_k_orders_by_score_then_position_with_many_ties(k: int) -> None:
    """Both selection paths (argmax passes up to k 32, partition above) against a stable sort; ties are
    common in generated worlds (one template, many passages) and must go to the lower position."""
    rng = np.random.default_rng(k)
    for _ in range(50):
        scores = rng.choice([0.0, 0.0, 1.5, 2.25, 3.0], size=int(rng.integers(1, 400))).astype(np.float32)
        kept = min(k, len(scores))  # callers clip k to the corpus
        expected = [Hit(int(i), float(scores[i])) for i in np.argsort(-scores, kind="stable")[:kept]]
        assert _top_k(scores.copy(), kept) == expected  # zero scores: the fill, in corpus order


def test_search_shapes(bm25: Any) -> None:
    hits = bm25.search(["who", "unknownword zzz", ""], 3)
    assert [len(h) for h in hits] == [3, 3, 3]
    assert bm25.search([], 3) == []
    assert len(bm25.search(["x"], 10_000)[0]) == len(bm25.docs)  # k is clipped to the corpus
    rows = search_documents(bm25, ["city"], 2)
    assert set(rows[0][0]) == {"document", "score"} and set(rows[0][0]["document"]) == {"id", "contents"}
    assert set(search_documents(bm25, ["city"], 2, return_scores=False)[0][0]) == {"id", "contents"}


def test_bm25_round_trip_and_corrupt_files(bm25: Any, tmp_path: Path) -> None:
    queries = ["Early life born", "founded institute", "novel written by"]
    folder = save_index(bm25, tmp_path / "idx")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "bm25" and manifest["num_docs"] == len(bm25.docs)
    loaded = load_index(folder)
    assert loaded.search(queries, 5) == bm25.search(queries, 5)
    save_index(bm25, folder)  # replacing an index is atomic and leaves no temp folders
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]

    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "bm25s" / "vocab.index.json").write_text("{not json")
    with pytest.raises(GameDataError, match="bm25s"):
        load_index(broken)
    (broken / "manifest.json").write_text("garbage")
    with pytest.raises(GameDataError, match=r"broken/manifest.json: corrupt index manifest"):
        load_index(broken)
    with pytest.raises(GameDataError, match="no index manifest"):
        load_index(tmp_path / "nowhere")
    shutil.copytree(folder, tmp_path / "short")
    lines = (tmp_path / "short" / "docs.jsonl").read_text().splitlines()
    (tmp_path / "short" / "docs.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(GameDataError, match=r"docs.jsonl: \d+ documents, the manifest says"):
        load_index(tmp_path / "short")


def test_bm25_defaults_are_pyserinis_and_a_cache_version_change_rebuilds(
    world_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = open_index(world_dir / "corpus.jsonl", "bm25", cache_dir=tmp_path)
    assert {k: first.options()[k] for k in ("k1", "b")} == {"k1": 0.9, "b": 0.4}
    monkeypatch.setattr(index_module, "CACHE_VERSION", index_module.CACHE_VERSION + 1)
    open_index(world_dir / "corpus.jsonl", "bm25", cache_dir=tmp_path)
    assert len(list((tmp_path / "searchqa" / "indexes").iterdir())) == 2  # not the index cached under the old key


def test_open_index_builds_once(world_dir: Path, tmp_path: Path) -> None:
    first = open_index(world_dir / "corpus.jsonl", "bm25", cache_dir=tmp_path)
    (folder,) = (tmp_path / "searchqa" / "indexes").iterdir()
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    second = open_index(world_dir / "corpus.jsonl", "bm25", cache_dir=tmp_path)
    assert (folder / "manifest.json").stat().st_mtime_ns == stamp
    assert second.search(["born"], 3) == first.search(["born"], 3)


def test_registry_and_options() -> None:
    assert {"bm25", "dense", "hybrid", "lucene"} <= set(RETRIEVERS.names())
    with pytest.raises(UnknownNameError, match="Did you mean 'bm25'"):
        build_index([Document("0", "x")], "bm52")
    with pytest.raises(ConfigError, match="retriever option"):
        build_index([Document("0", "x")], "bm25", k3=1)
    with pytest.raises(ConfigError, match="empty"):
        build_index([], "bm25")


def test_rrf() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=3, rrf_k=60)
    assert [h.index for h in fused] == [1, 3, 2]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)


@pytest.mark.slow
def test_dense_and_hybrid(dense: Any, dense_world: tuple[list[Document], list[Question]], tmp_path: Path) -> None:
    docs, questions = dense_world
    r = recall(dense, docs, questions, k=5)
    assert r["single_hop_question"] >= 0.85, r  # measured 1.00 (300 passages)
    assert r["hop_query"] >= 0.85, r  # measured 0.97
    queries = [q.question for q in questions[:5]]
    loaded = load_index(save_index(dense, tmp_path / "dense"))
    assert [[h.index for h in row] for row in loaded.search(queries, 5)] == [
        [h.index for h in row] for row in dense.search(queries, 5)
    ]
    (tmp_path / "dense" / "faiss.index").write_bytes(b"\0" * 64)
    with pytest.raises(GameDataError, match=r"dense/faiss.index: corrupt faiss index"):
        load_index(tmp_path / "dense")

    sparse = build_index(docs, "bm25", progress=False)
    hybrid = HybridRetriever(docs, sparse, dense, {"rrf_k": 60.0, "depth": 50})
    r = recall(hybrid, docs, questions, k=5)
    assert r["single_hop_question"] >= 0.9 and r["hop_query"] >= 0.9, r
    again = load_index(save_index(hybrid, tmp_path / "hybrid"))
    assert again.kind == "hybrid" and again.search(queries, 5) == hybrid.search(queries, 5)


@pytest.mark.parametrize("index_type", ["hnsw", "ivf"])
def test_dense_index_types(index_type: str, dense_world: tuple[list[Document], list[Question]], dense: Any) -> None:
    docs, questions = dense_world
    approx = DENSE_BACKEND.from_vectors(docs, dense.vectors(), {"index_type": index_type, "nprobe": 64})
    assert approx.vectors().shape == (len(docs), 384)
    assert approx.options()["index_type"] == index_type
    assert recall(approx, docs, questions, k=5)["single_hop_question"] >= 0.85


def test_dense_model_must_be_local(docs: list[Document]) -> None:
    pytest.importorskip("faiss")
    with pytest.raises(ConfigError, match="nothing is downloaded"):
        build_index(docs[:3], "dense", model="sentence-transformers/all-MiniLM-L6-v2")


def test_lucene_is_optional(docs: list[Document], tmp_path: Path) -> None:
    try:
        import pyserini  # noqa: F401
    except ImportError:
        with pytest.raises(DependencyNotInstalled, match=r"agentgym-seal\[searchqa-lucene\]"):
            build_index(docs[:10], "lucene")
        pytest.skip("pyserini not installed (optional extra searchqa-lucene)")
    lucene = build_index(docs, "lucene", workdir=str(tmp_path / "work"))
    assert lucene.search(["born"], 3)
