import pytest

pytest.importorskip("pettingzoo")
from pettingzoo.test import parallel_api_test

from agentgym_seal.rollout.parallel import GroupParallelEnv


def test_group_passes_pettingzoo_parallel_api_test() -> None:
    env = GroupParallelEnv(
        "ALFWorldText-v0", group_size=3, difficulty="tiny", action_format="plain", max_episode_steps=5
    )
    parallel_api_test(env, num_cycles=20)
    env.close()


def test_group_members_share_the_task_and_leave_when_done() -> None:
    env = GroupParallelEnv("ALFWorldText-v0", group_size=2, difficulty="tiny", action_format="plain")
    observations, _ = env.reset(seed=4)
    assert observations["agent_0"] == observations["agent_1"]
    plan = env._envs["agent_0"].unwrapped.expert_plan()
    for command in plan:
        _, rewards, terminations, _, _ = env.step({"agent_0": command, "agent_1": "look"})
    assert terminations["agent_0"] and rewards["agent_0"] == 10.0
    assert env.agents == ["agent_1"]
    env.close()
