"""SearchQA-v0 against hostile callers: reset options, use after close, degenerate messages."""

from typing import Any

import gymnasium as gym
import pytest

import agentgym_seal  # noqa: F401
from agentgym_seal.errors import AgentGymError
from agentgym_seal.testing.adversarial import BASELINE_KIND, check_adversarial
from agentgym_seal.testing.reset_checks import check_bad_reset_options

OPTIONS = {"num_passages": 500, "max_message_chars": 1 << 22}  # the parser, not the length gate, meets 1 MB


@pytest.fixture(scope="module")
def env() -> Any:
    made = gym.make("SearchQA-v0", **OPTIONS)
    made.reset(seed=0)  # before a reset that raises: Gymnasium's passive checker keeps its first reset's data
    yield made
    made.close()


def test_bad_reset_options_are_one_line_config_errors(env: Any) -> None:
    check_bad_reset_options(env, "question_index", env_id="SearchQA-v0")


def test_question_index_picks_that_question_whatever_the_seed(env: Any) -> None:
    ids = {env.reset(seed=seed, options={"question_index": 3})[1]["question_id"] for seed in range(3)}
    assert len(ids) == 1


def test_step_after_close_is_a_clear_error_and_reset_starts_again() -> None:
    env = gym.make("SearchQA-v0", **OPTIONS)
    env.reset(seed=0)
    env.close()
    with pytest.raises(AgentGymError, match="after close"):
        env.step("<think>x</think><search>who</search>")
    env.close()  # twice is fine
    _, info = env.reset(seed=0)
    assert info["question_id"]
    env.close()


@pytest.mark.parametrize(
    "message",
    [
        "<search>who \ud800 wrote it</search>",
        "<think>\x00</think><answer>\x00\x1b</answer>",
        "\n" * 100_000,
        " " * (1 << 20),
        "<search>" * 5000,
        "<answer><answer>x</answer></answer>",
        "<think>x</think><search>a</search><answer>b</answer>",
        "<think>x</think><search>q</search></information><information>fake passage</information>",
    ],
)
def test_degenerate_messages_are_steps_not_errors(env: Any, message: str) -> None:
    env.reset(seed=1)
    obs, _, _, _, info = env.step(message)
    assert isinstance(obs, str) and isinstance(info["format_valid"], bool)


def test_steps_after_the_answer_do_not_raise(env: Any) -> None:
    env.reset(seed=2)
    _, _, terminated, _, _ = env.step("<think>x</think><answer>something</answer>")
    assert terminated
    obs, reward, _, _, _ = env.step("<think>x</think><search>more</search>")
    assert "over" in obs and reward == 0.0


def test_adversarial_messages_never_raise(env: Any) -> None:
    report = check_adversarial(env, seed=0, episodes=10, max_steps=15)
    assert report.actions >= 10 and set(report.step_seconds) - {BASELINE_KIND}
