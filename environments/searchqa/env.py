"""``SearchQA-v0``: Search-R1-style question answering with a real retriever (SPEC 7.3, 7.6)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, SupportsFloat

import gymnasium

from agentgym_seal.checkers.format import MAX_MESSAGE_CHARS, check_message_limit, oversized
from agentgym_seal.errors import AgentGymError, ConfigError
from agentgym_seal.pickling import picklable_state, restore_state
from agentgym_seal.reset_options import read_reset_options
from agentgym_seal.spaces import TextSpace

from .client import RemoteRetriever
from .data import default_cache_dir, ensure_world, load_qa
from .index import RETRIEVERS, Retriever, load_index, open_index, search_documents
from .info import SearchQAInfo
from .metrics import answer_supported, exact_match, f1_score
from .parsing import SearchAction, parse_search_message, search_schema
from .questions import QUESTION_TYPES, SPLITS, Question
from .training import FAMILY
from .world import WorldSpec

REWARDS = ("em", "f1")
_YES_NO = frozenset({"yes", "no"})
_SHARED: dict[str, Any] = {}
_SHARED_LOCK = threading.Lock()


def _shared(key: str, make: Any) -> Any:
    """One object per key and process (retrievers and question lists are shared by every env)."""
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = make()
        return _SHARED[key]


@dataclass(frozen=True)
class SearchQAConfig:
    """Keyword options of ``SearchQA-v0`` (``gymnasium.make("SearchQA-v0", **options)``).

    Attributes:
        split: ``train`` or ``test``.
        num_passages: Size of the generated world's corpus (ignored with ``corpus_path``/``index_dir``).
        world_seed: Seed of the generated world.
        question_types: Which generated question types to ask (``single_hop``, ``bridge``, ``comparison``).
        qa_path: A QA file (jsonl/parquet with ``question``, ``golden_answers``) instead of generated questions.
        corpus_path: A Search-R1 corpus jsonl instead of the generated one.
        index_dir: A saved index folder (``agentgym-seal build-index``); its corpus is used.
        search_url: A running retrieval server (``http://127.0.0.1:8000/retrieve``) instead of an in-process index.
        retriever: Retriever name (``bm25``, ``dense``, ``hybrid``, ``lucene``) for in-process indexes.
        retriever_options: The retriever's options (e.g. ``{"index_type": "hnsw"}`` for dense).
        topk: Passages per search (Search-R1's default 3).
        reward: ``em`` (exact match, default) or ``f1``.
        correct_reward: Reward scale of a correct answer.
        invalid_format_penalty: Subtracted on a step whose format is invalid (default: the family's λ, 0.01).
        action_format: ``tagged`` model messages, or ``plain`` single blocks (the expert's form).
        require_think: Also require ``<think>...</think>`` for a valid format.
        max_query_chars: Longer queries are cut to this many characters.
        max_message_chars: A longer message is a format-invalid step, read no further.
        cache_dir: Where generated worlds and indexes are cached (default ``$AGENTGYM_SEAL_CACHE``).
        expert_direct_answer: Probability per episode that the oracle (:meth:`SearchQAEnv.expert_plan`)
            answers at once, from its own knowledge, without searching (0: it always searches each hop).
            Warm-up demonstrations with closed-book answers give a policy that sometimes skips the
            search, which the tool-use rewards need to have something to select (``--env-options
            expert_direct_answer=0.3``). Drawn at reset after the question, only when > 0.
    """

    split: str = "train"
    num_passages: int = 2000
    world_seed: int = 0
    question_types: tuple[str, ...] = tuple(QUESTION_TYPES)
    qa_path: str | None = None
    corpus_path: str | None = None
    index_dir: str | None = None
    search_url: str | None = None
    retriever: str = "bm25"
    retriever_options: dict[str, Any] = field(default_factory=dict)
    topk: int = 3
    reward: Literal["em", "f1"] = "em"
    correct_reward: float = 1.0
    invalid_format_penalty: float = FAMILY.invalid_penalty
    action_format: Literal["tagged", "plain"] = "tagged"
    require_think: bool = False
    max_query_chars: int = 1000
    max_message_chars: int = MAX_MESSAGE_CHARS
    cache_dir: str | None = None
    expert_direct_answer: float = 0.0

    def __post_init__(self) -> None:
        where = "SearchQA-v0"
        if self.split not in SPLITS:
            raise ConfigError.bad_option("split", self.split, SPLITS, where=where)
        if isinstance(self.question_types, str) or not self.question_types:
            raise ConfigError.bad_option("question_types", self.question_types, [list(QUESTION_TYPES)], where=where)
        for qtype in self.question_types:
            if qtype not in QUESTION_TYPES:
                raise ConfigError.bad_option("question_types", qtype, QUESTION_TYPES, where=where)
        if self.retriever not in RETRIEVERS:
            raise ConfigError.bad_option("retriever", self.retriever, RETRIEVERS.names(), where=where)
        if self.reward not in REWARDS:
            raise ConfigError.bad_option("reward", self.reward, REWARDS, where=where)
        if self.action_format not in ("tagged", "plain"):
            raise ConfigError.bad_option("action_format", self.action_format, ["tagged", "plain"], where=where)
        check_message_limit(self.max_message_chars, where)
        if not isinstance(self.topk, int) or not 1 <= self.topk <= 100:
            raise ConfigError.bad_option("topk", self.topk, ["an int in [1, 100]"], where=where)
        p = self.expert_direct_answer
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ConfigError.bad_option("expert_direct_answer", p, ["a probability in [0, 1]"], where=where)
        if not isinstance(self.retriever_options, dict):
            raise ConfigError.bad_option("retriever_options", self.retriever_options, ["a dict"], where=where)
        if self.qa_path is None and (self.corpus_path or self.index_dir or self.search_url):
            raise ConfigError(
                "SearchQA-v0: a corpus_path, index_dir or search_url needs its questions too. Fix: pass qa_path "
                "(jsonl/parquet with question and golden_answers)."
            )

    def world_spec(self) -> WorldSpec:
        """The generated world's spec."""
        return WorldSpec(num_passages=self.num_passages, seed=self.world_seed)


class SearchQAEnv(gymnasium.Env[str, str]):
    r"""Search-augmented question answering (Search-R1, arXiv 2503.09516), over a generated world or real files.

    ## Description
    Each episode asks one question. The agent searches with ``<search>query</search>`` (the env runs the
    retriever and returns the top passages inside ``<information>...</information>``) and ends the
    episode with ``<answer>...</answer>``. Questions come from a generated world (single-hop, bridge and
    comparison questions over a corpus in Search-R1's format) or from ``qa_path``.

    ## Action Space
    ``TextSpace``: any string. See ``tool_schemas/searchqa.json`` and :func:`~.parsing.parse_search_message`.

    ## Observation Space
    ``TextSpace``: ``"Question: ..."`` at reset; after a search, Search-R1's block
    ``"\\n<information>Doc 1(Title: ...) ...\\n</information>\\n"``; after an invalid message, a hint.
    ``FAMILIES.get("searchqa").prompt_template`` wraps observations with the instructions for a model.

    ## Rewards
    On the answer step: ``correct_reward`` x EM (or F1 with ``reward="f1"``), SQuAD normalisation, best
    over the gold aliases. ``-invalid_format_penalty`` on a step whose format is invalid.

    ## Episode End
    Terminates on an answer; truncated by ``TimeLimit`` (``max_episode_steps``, default 4 turns).

    ## Info
    ``won`` (EM = 1 on the answer step), ``em``, ``f1``, ``answer`` (``None`` before an answer),
    ``retrieved_ids`` (this step's passage ids), ``episode_retrieved_ids`` (all, in order, unique),
    ``num_searches``, ``tool_call`` (this step ran a search), ``hallucination``, ``anchor``, ``format_valid``,
    ``action_valid``, ``action``, ``goal`` (the question), ``question_id``, ``task_type`` (question type),
    ``supporting_ids`` and ``admissible_actions`` (``[]``: free text).

    ``hallucination`` is decided on the answer step only (``False`` elsewhere): the answer is flagged when
    its normalised text occurs (on word boundaries) in none of the passages retrieved in the episode. An
    answer given without any search is flagged; an empty answer is flagged; a correct answer not seen in
    the retrieved passages is flagged (it did not come from retrieval); ``yes``/``no`` answers cannot be
    checked against text, so they count as supported iff at least one search returned passages.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012 - Gymnasium declares it so

    def __init__(self, render_mode: str | None = None, **options: Any) -> None:
        known = set(SearchQAConfig.__dataclass_fields__)
        for name in options:
            if name not in known:
                raise ConfigError.bad_option("keyword", name, sorted(known), where="SearchQA-v0")
        if isinstance(options.get("question_types"), list):
            options["question_types"] = tuple(options["question_types"])
        if render_mode not in (None, "ansi"):
            raise ConfigError.bad_option("render_mode", render_mode, [None, "ansi"], where="SearchQA-v0")
        self.config = SearchQAConfig(**options)
        self.render_mode = render_mode
        self.observation_space = TextSpace()
        self.action_space = TextSpace()
        self._no_op = str(search_schema()["x-no-op-feedback"])
        self._questions = self._load_questions()
        self._backend: Retriever | RemoteRetriever | None = None
        self._question: Question | None = None
        self._reset_state()

    # -- data ----------------------------------------------------------------------------------------
    def _load_questions(self) -> tuple[Question, ...]:
        cfg = self.config
        if cfg.qa_path is not None:
            path = Path(cfg.qa_path)
            questions: tuple[Question, ...] = _shared(f"qa:{path.resolve()}", lambda: tuple(load_qa(path)))
        else:
            folder = ensure_world(cfg.world_spec(), cfg.cache_dir)
            questions = _shared(f"qa:{folder}/{cfg.split}", lambda: tuple(load_qa(folder / f"{cfg.split}.jsonl")))
            questions = tuple(q for q in questions if q.type in cfg.question_types)
        if not questions:
            raise ConfigError(f"SearchQA-v0: no questions of types {cfg.question_types} in split {cfg.split!r}.")
        return questions

    def _search_backend(self) -> Retriever | RemoteRetriever:
        if self._backend is None:
            cfg = self.config
            if cfg.search_url is not None:
                self._backend = RemoteRetriever(cfg.search_url)
            elif cfg.index_dir is not None:
                folder = Path(cfg.index_dir).resolve()
                self._backend = _shared(f"index:{folder}", lambda: load_index(folder))
            else:
                corpus = (
                    Path(cfg.corpus_path)
                    if cfg.corpus_path
                    else ensure_world(cfg.world_spec(), cfg.cache_dir) / "corpus.jsonl"
                )
                cache = cfg.cache_dir or default_cache_dir()
                key = f"corpus:{corpus.resolve()}:{cfg.retriever}:{sorted(cfg.retriever_options.items())}"
                self._backend = _shared(
                    key, lambda: open_index(corpus, cfg.retriever, cache_dir=cache, **cfg.retriever_options)
                )
        return self._backend

    def search(self, query: str) -> list[dict[str, str]]:
        """The top ``topk`` documents (``{"id", "contents"}``) for ``query``."""
        backend = self._search_backend()
        if isinstance(backend, RemoteRetriever):
            rows = backend.search_documents([query], self.config.topk)
        else:
            rows = search_documents(backend, [query], self.config.topk)
        return [item["document"] for item in rows[0]] if rows else []

    # -- Gymnasium API -------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self._turns = 0
        self._num_searches = 0
        self._step_ids: list[str] = []
        self._episode_ids: list[str] = []
        self._retrieved_texts: list[str] = []
        self._answer: str | None = None
        self._em = self._f1 = 0.0
        self._hallucination = False
        self._done = False
        self._expert_direct = False
        self._last_obs = self._anchor = ""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Draws a question with ``self.np_random`` (``options={"question_index": i}`` picks one)."""
        picked = read_reset_options(options, where="SearchQA-v0", indices={"question_index": len(self._questions)})
        super().reset(seed=seed)
        index = picked.get("question_index")
        if index is None:
            index = int(self.np_random.integers(len(self._questions)))
        self._question = self._questions[index]
        self._reset_state()
        p = self.config.expert_direct_answer  # checked to be a probability
        self._expert_direct = p > 0 and float(self.np_random.random()) < p  # no draw at 0: streams unchanged
        self._last_obs = self._anchor = f"Question: {self._question.question}"
        return self._last_obs, self._info(SearchAction("", "", True), True)

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Runs one message; never raises on any input (bad input is an invalid, penalised step)."""
        if self._question is None:
            raise AgentGymError(
                "SearchQA-v0: step() before reset() or after close(). Fix: call env.reset(seed=...) first."
            )
        cfg = self.config
        error = oversized(action, cfg.max_message_chars) if isinstance(action, str) else "the action must be a str"
        if error is None:
            parsed = parse_search_message(action, action_format=cfg.action_format, require_think=cfg.require_think)
        else:
            parsed = SearchAction("", "", False, error)
        self._turns += 1
        self._step_ids = []
        reward = 0.0
        action_valid = tool_call = False
        if self._done:
            obs = "The episode is over: the question was answered. Call reset()."
        elif parsed.kind == "answer":
            obs, reward, action_valid = self._answer_step(parsed.content), self._score(), True
        elif parsed.kind == "search" and parsed.content.strip():
            obs, action_valid = self._search_step(parsed.content[: cfg.max_query_chars]), True
            tool_call = True
        elif parsed.kind == "search":
            obs = "\n<information>The query was empty: nothing was searched.</information>\n"
        else:
            obs = self._no_op
        if not parsed.format_valid:
            reward -= cfg.invalid_format_penalty
        self._anchor = obs
        self._last_obs = obs
        terminated = self._done
        return obs, reward, terminated, False, self._info(parsed, action_valid, tool_call)

    def _search_step(self, query: str) -> str:
        docs = self.search(query)
        self._num_searches += 1
        lines = []
        for rank, doc in enumerate(docs, 1):
            contents = str(doc.get("contents", ""))
            title, _, text = contents.partition("\n")
            lines.append(f"Doc {rank}(Title: {title}) {text}")
            doc_id = str(doc.get("id", ""))
            self._step_ids.append(doc_id)
            if doc_id not in self._episode_ids:
                self._episode_ids.append(doc_id)
                self._retrieved_texts.append(contents)
        return "\n<information>" + "\n".join(lines) + "\n</information>\n"

    def _answer_step(self, answer: str) -> str:
        assert self._question is not None
        golds = list(self._question.golden_answers)
        self._answer, self._done = answer, True
        self._em, self._f1 = exact_match(answer, golds), f1_score(answer, golds)
        if answer.strip().lower().rstrip(".!") in _YES_NO:
            self._hallucination = not self._retrieved_texts
        else:
            self._hallucination = not answer_supported(answer, self._retrieved_texts)
        return "Answer received."

    def _score(self) -> float:
        return self.config.correct_reward * (self._em if self.config.reward == "em" else self._f1)

    def _info(self, parsed: SearchAction, action_valid: bool, tool_call: bool = False) -> dict[str, Any]:
        assert self._question is not None
        answered = self._answer is not None
        info: SearchQAInfo = {
            "won": answered and self._em == 1.0,
            "em": self._em,
            "f1": self._f1,
            "answer": self._answer,
            "retrieved_ids": list(self._step_ids),
            "episode_retrieved_ids": list(self._episode_ids),
            "num_searches": self._num_searches,
            "tool_call": tool_call,
            "hallucination": self._hallucination if parsed.kind == "answer" and action_valid else False,
            "anchor": self._anchor,
            "format_valid": parsed.format_valid,
            "action_valid": action_valid,
            "action": parsed.command,
            "error": parsed.error,
            "goal": self._question.question,
            "question_id": self._question.id,
            "task_type": self._question.type,
            "supporting_ids": list(self._question.supporting_ids),
            "admissible_actions": [],
        }
        return dict(info)

    def render(self) -> str | None:
        """Returns the last observation in ``ansi`` mode."""
        return self._last_obs if self.render_mode == "ansi" else None

    def close(self) -> None:
        """Closes a server connection, if any, and ends the episode (safe to call twice; ``reset`` starts again)."""
        if isinstance(self._backend, RemoteRetriever):
            self._backend.close()
        self._backend = None
        self._question = None

    # -- expert --------------------------------------------------------------------------------------
    def expert_plan(self) -> list[str]:
        """The oracle's remaining messages: one search per hop it has not made yet, then the gold answer.

        The oracle knows each hop's query (generated questions) or searches the question itself (loaded
        ones). ``[]`` once the question is answered. In an episode drawn closed-book (``expert_direct_answer``)
        the plan is the gold answer alone.
        """
        if self._question is None:
            raise AgentGymError("SearchQA-v0: expert_plan() before reset(). Fix: call env.reset() first.")
        if self._done:
            return []
        queries: Sequence[str] = self._question.queries or (self._question.question,)
        searches = [] if self._expert_direct else [f"<search>{q}</search>" for q in queries[self._num_searches :]]
        return [*searches, f"<answer>{self._question.golden_answers[0]}</answer>"]

    def expert_action(self) -> str | None:
        """The oracle's next message (``None`` once answered)."""
        plan = self.expert_plan()
        return plan[0] if plan else None

    @property
    def question(self) -> Question | None:
        """The current question (with its gold answers), ``None`` before reset."""
        return self._question

    def __getstate__(self) -> dict[str, Any]:
        return picklable_state(self, live=("_backend",))

    def __setstate__(self, state: dict[str, Any]) -> None:
        restore_state(self, state)
        self._backend = None
