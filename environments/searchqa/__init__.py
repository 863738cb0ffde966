"""Search-augmented QA (Search-R1 style): a generated world, real-file loaders, retrievers, a server, ``SearchQA-v0``.

Light to import: retriever backends (bm25s, faiss, sentence-transformers, pyserini) load on first use.
"""

from typing import TYPE_CHECKING

from agentgym_seal.lazy import lazy_exports

if TYPE_CHECKING:
    from .data import Document, ensure_world, load_corpus, load_qa, write_world
    from .env import SearchQAConfig, SearchQAEnv
    from .metrics import answer_supported, exact_match, f1_score, normalize_answer
    from .parsing import SearchAction, parse_search_message
    from .questions import QUESTION_TYPES, Question
    from .world import WorldSpec

__getattr__ = lazy_exports(
    __name__,
    {
        "Document": ".data",
        "ensure_world": ".data",
        "load_corpus": ".data",
        "load_qa": ".data",
        "write_world": ".data",
        "SearchQAConfig": ".env",
        "SearchQAEnv": ".env",
        "answer_supported": ".metrics",
        "exact_match": ".metrics",
        "f1_score": ".metrics",
        "normalize_answer": ".metrics",
        "SearchAction": ".parsing",
        "parse_search_message": ".parsing",
        "QUESTION_TYPES": ".questions",
        "Question": ".questions",
        "WorldSpec": ".world",
    },
)

__all__ = [
    "QUESTION_TYPES",
    "Document",
    "Question",
    "SearchAction",
    "SearchQAConfig",
    "SearchQAEnv",
    "WorldSpec",
    "answer_supported",
    "ensure_world",
    "exact_match",
    "f1_score",
    "load_corpus",
    "load_qa",
    "normalize_answer",
    "parse_search_message",
    "write_world",
]
