"""``SearchQA-v0``: conformance, the protocol, rewards, info, bad input, real files and a server URL."""

import json
import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import agentgym_seal
from agentgym_seal.environments.searchqa import exact_match
from agentgym_seal.environments.searchqa.index import save_index
from agentgym_seal.environments.searchqa.server import RetrievalServer
from agentgym_seal.errors import AgentGymError, ConfigError
from agentgym_seal.family import FAMILIES
from agentgym_seal.prompting import build_prompt
from agentgym_seal.testing import assert_env_valid, check_env

OPTIONS = {"num_passages": 500}


def make(**options: Any) -> Any:
    return gym.make("SearchQA-v0", **{**OPTIONS, **options})


def test_registered_with_turn_limit_4() -> None:
    spec = gym.spec("SearchQA-v0")
    assert spec.max_episode_steps == 4
    assert agentgym_seal.ENVS.get("SearchQA-v0").family == "searchqa"


def test_check_env_and_validate() -> None:
    env = make()
    check_env(env, seed=0, env_factory=lambda: make())
    env.close()
    report = assert_env_valid("SearchQA-v0", episodes=3, env_kwargs=OPTIONS)
    assert report.passed


def test_expert_episode_info() -> None:
    env = make(action_format="plain")
    obs, info = env.reset(seed=1)
    assert obs == f"Question: {info['goal']}" and info["anchor"] == obs
    assert info["num_searches"] == 0 and info["retrieved_ids"] == [] and not info["won"]
    plan = env.unwrapped.expert_plan()
    assert plan[-1].startswith("<answer>") and len(plan) <= 4
    total = 0.0
    for step, message in enumerate(plan):
        obs, reward, terminated, truncated, info = env.step(message)
        total += float(reward)
        assert info["tool_call"] == message.startswith("<search>")  # the rollout counts tool calls from it
        if message.startswith("<search>"):
            assert obs.startswith("\n<information>Doc 1(Title: ") and obs.endswith("</information>\n")
            assert len(info["retrieved_ids"]) == 3 and info["num_searches"] == step + 1
            assert info["supporting_ids"][step] in info["retrieved_ids"]  # the oracle's query finds its passage
            assert not terminated and reward == 0.0
    assert terminated and not truncated and total == 1.0
    assert info["won"] and info["em"] == 1.0 and info["f1"] == 1.0 and not info["hallucination"]
    assert set(info["episode_retrieved_ids"]) >= set(info["supporting_ids"])


@pytest.mark.parametrize("bad", [-0.1, 1.5, "often", True])
def test_expert_direct_answer_must_be_a_probability(bad: Any) -> None:
    with pytest.raises(ConfigError, match="expert_direct_answer"):
        make(expert_direct_answer=bad)


def test_expert_direct_answer_mixes_closed_book_episodes() -> None:
    plain, mixed, always = make(), make(expert_direct_answer=0.5), make(expert_direct_answer=1.0)
    closed_book = 0
    for seed in range(60):
        obs, _ = plain.reset(seed=seed)
        plan = plain.unwrapped.expert_plan()
        assert mixed.reset(seed=seed)[0] == obs == always.reset(seed=seed)[0]  # the draw comes after the question
        assert always.unwrapped.expert_plan() == plan[-1:]  # the gold answer alone
        mixed_plan = mixed.unwrapped.expert_plan()
        assert mixed_plan in (plan, plan[-1:])
        closed_book += mixed_plan == plan[-1:]
        _, reward, terminated, _, info = always.step(plan[-1])  # a closed-book oracle answer still scores
        assert terminated and reward == 1.0 and info["num_searches"] == 0 and info["hallucination"]
    assert 15 < closed_book < 45  # ~30 of 60 at p = 0.5


def _message_env(**options: Any) -> Any:
    env = make(**options)
    env.reset(seed=2)
    return env


def test_bad_input_is_an_invalid_step() -> None:
    env = _message_env()
    for garbage in [
        "",
        "hello",
        "<search>unclosed",
        "</answer>",
        "\x00" * 1000,
        "<search>a</search><search>b</search>",
    ]:
        obs, reward, terminated, _truncated, info = env.step(garbage)
        assert not info["format_valid"] and reward == pytest.approx(-0.01)
        assert not terminated
    obs, reward, terminated, _, info = env.step(b"bytes")  # type: ignore[arg-type]
    assert not info["format_valid"] and not info["action_valid"] and "invalid" in obs
    searches = info["num_searches"]  # the invalid-but-readable double search above did run once
    obs, reward, terminated, _, info = env.step("<search>   </search>")
    assert info["format_valid"] and not info["action_valid"] and info["num_searches"] == searches


def test_invalid_but_readable_block_still_runs() -> None:
    env = _message_env()
    obs, reward, _, _, info = env.step("<search>born</search> <answer>x</answer>")
    assert not info["format_valid"] and info["action_valid"] and info["num_searches"] == 1
    assert reward == pytest.approx(-0.01) and "<information>" in obs


def test_turn_limit_truncates() -> None:
    env = _message_env()
    for _ in range(4):
        _, _reward, terminated, truncated, info = env.step("<think>hm</think><search>born</search>")
    assert truncated and not terminated and not info["won"] and info["num_searches"] == 4


def test_wrong_answer_f1_reward_and_hallucination() -> None:
    env = _message_env()
    gold = env.unwrapped.question.golden_answers[0]
    _, reward, terminated, _, info = env.step(f"<answer>{gold}</answer>")  # right, but without any search
    assert terminated and reward == 1.0 and info["won"] and info["hallucination"]
    env = _message_env(reward="f1", correct_reward=2.0)
    _, reward, _, _, info = env.step("<answer>zzz qqq</answer>")
    assert reward == 0.0 and info["em"] == 0.0 and not info["won"] and info["hallucination"]
    env = _message_env()
    _, _, _, _, info = env.step("<search>born</search>")
    retrieved = env.unwrapped._retrieved_texts[0]
    word = retrieved.split("\n", 1)[1].split()[0]  # a word that is in a retrieved passage
    _, _, _, _, info = env.step(f"<answer>{word}</answer>")
    assert not info["hallucination"]


def test_f1_partial_credit() -> None:
    env = make(reward="f1", question_types=["single_hop"])
    for seed in range(50):
        env.reset(seed=seed)
        gold = env.unwrapped.question.golden_answers[0]
        if " " in gold and not gold.isdigit():
            break
    _, reward, _, _, info = env.step(f"<answer>{gold.split()[0]}</answer>")
    assert 0.0 < reward < 1.0 and reward == info["f1"] and info["em"] == 0.0


def test_step_after_answer_and_before_reset() -> None:
    env = _message_env()
    env.step("<answer>x</answer>")
    obs, _reward, terminated, _, info = env.unwrapped.step("<search>more</search>")
    assert terminated and "over" in obs and info["num_searches"] == 0
    with pytest.raises(AgentGymError, match="before reset"):
        make().unwrapped.step("x")


def test_seeding_question_index_and_pickle() -> None:
    a, b = make(), make()
    assert a.reset(seed=7)[0] == b.reset(seed=7)[0]
    _obs, info = a.reset(options={"question_index": 0})
    assert info["question_id"] == a.unwrapped._questions[0].id
    a.step("<search>born</search>")
    clone = pickle.loads(pickle.dumps(a.unwrapped))
    assert clone.step("<search>city</search>")[0] == a.unwrapped.step("<search>city</search>")[0]


def test_question_types_and_split() -> None:
    env = make(question_types=["comparison"], split="test")
    for seed in range(5):
        _, info = env.reset(seed=seed)
        assert info["task_type"] == "comparison" and info["question_id"].startswith("test-")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"split": "dev"}, "option 'split'"),
        ({"retriever": "bm52"}, "Did you mean 'bm25'"),
        ({"question_types": ["trivia"]}, "question_types"),
        ({"topk": 0}, "topk"),
        ({"colour": 1}, "keyword"),
        ({"corpus_path": "/x.jsonl"}, "needs its questions"),
    ],
)
def test_bad_options(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make(**options)


def _real_files(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "wiki.jsonl"
    rows = [
        {"id": "10", "contents": '"Kelmoor"\nKelmoor is a city in Varnia, founded in 1543.'},
        {"id": "11", "contents": '"Varnia"\nVarnia is a country. Its capital is Ostrel.'},
        {"id": "12", "contents": '"Ostrel"\nOstrel is the capital of Varnia.'},
    ]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    qa = tmp_path / "test.jsonl"
    qa.write_text(json.dumps({"id": "q0", "question": "When was Kelmoor founded?", "golden_answers": ["1543"]}) + "\n")
    return corpus, qa


def test_real_files_in_process(tmp_path: Path) -> None:
    corpus, qa = _real_files(tmp_path)
    env = make(corpus_path=str(corpus), qa_path=str(qa), cache_dir=str(tmp_path / "cache"), topk=2)
    obs, info = env.reset(seed=0)
    assert info["question_id"] == "q0"
    assert env.unwrapped.expert_plan() == ["<search>When was Kelmoor founded?</search>", "<answer>1543</answer>"]
    obs, *_, info = env.step("<search>Kelmoor founded</search>")
    assert info["retrieved_ids"][0] == "10" and 'Doc 1(Title: "Kelmoor") Kelmoor is a city' in obs
    _, reward, _, _, info = env.step("<answer>1543</answer>")
    assert reward == 1.0 and not info["hallucination"]


def test_server_url_gives_the_same_episode(tmp_path: Path, bm25: Any, world_dir: Path) -> None:
    index = save_index(bm25, tmp_path / "idx")
    qa = str(world_dir / "train.jsonl")
    local = gym.make("SearchQA-v0", index_dir=str(index), qa_path=qa)
    with RetrievalServer(bm25, port=0) as server:
        remote = gym.make("SearchQA-v0", search_url=server.url, qa_path=qa)
        for env in (local, remote):
            env.reset(seed=4)
        for message in local.unwrapped.expert_plan():
            a, b = local.step(message), remote.step(message)
            assert a[0] == b[0] and a[1] == b[1] and a[4]["retrieved_ids"] == b[4]["retrieved_ids"]
        remote.close()
    assert exact_match(local.unwrapped.question.golden_answers[0], list(local.unwrapped.question.golden_answers))


def test_prompt_template_renders_a_search_r1_prompt() -> None:
    template = FAMILIES.get("searchqa").prompt_template
    env = make()
    obs, info = env.reset(seed=0)
    first = build_prompt(template, task=info["goal"], observation=obs, admissible_actions=[])
    assert info["goal"] in first and "<search>" in first and "<answer>" in first
    message = "<think>search</think><search>born</search>"
    obs2, *_ = env.step(message)
    later = build_prompt(template, task=info["goal"], observation=obs2, admissible_actions=[], history=[(obs, message)])
    assert "Message 1: " + message in later and "<information>" in later
    assert template.expert_response.format(action="<answer>x</answer>") == "<think></think><answer>x</answer>"
