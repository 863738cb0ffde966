"""Every env reads at most ``max_message_chars`` characters of a message: a longer one is a format-invalid step."""

import gymnasium as gym
import pytest

import agentgym_seal  # noqa: F401
from agentgym_seal.checkers import MAX_MESSAGE_CHARS, oversized
from agentgym_seal.errors import ConfigError

ENVS = {
    "ALFWorldText-v0": ({"difficulty": "tiny", "games_per_type": 2}, "<think>x</think><action>look</action>"),
    "WebShopText-v0": ({"num_products": 200}, "<think>x</think><action>search[red shoes]</action>"),
    "SearchQA-v0": ({"num_passages": 200}, "<think>x</think><search>who</search>"),
}


def test_oversized_names_both_sizes() -> None:
    assert oversized("a" * 10, 10) is None
    assert oversized("a" * 11, 10) == "the message has 11 characters; at most 10 are read"
    assert MAX_MESSAGE_CHARS >= 16_384  # a 4,096-token response fits


@pytest.mark.parametrize("env_id", sorted(ENVS))
def test_a_message_over_the_limit_is_invalid_and_read_no_further(env_id: str) -> None:
    options, valid = ENVS[env_id]
    env = gym.make(env_id, max_message_chars=len(valid) + 100, **options)
    env.reset(seed=0)
    padded = valid + " " * 100  # exactly at the limit: read as usual
    _, _, _, _, info = env.step(padded)
    assert info["format_valid"], info
    env.reset(seed=0)
    obs, reward, _, _, info = env.step(valid + " " * 101 + "x" * 1_000_000)
    assert not info["format_valid"] and not info["action_valid"] and not info["hallucination"]
    assert info["action"] == "" and reward <= 0
    said = obs + str(info.get("error"))  # the observation (ALFWorld, WebShop) or info["error"] (SearchQA)
    assert f"the message has {len(valid) + 1_000_101:,} characters; at most {len(valid) + 100:,} are read" in said
    env.close()


@pytest.mark.parametrize("env_id", sorted(ENVS))
@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "64"])
def test_an_impossible_limit_is_a_config_error(env_id: str, bad: object) -> None:
    with pytest.raises(ConfigError, match="max_message_chars"):
        gym.make(env_id, max_message_chars=bad, **ENVS[env_id][0])
