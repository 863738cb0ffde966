"""--max-turns defaults to the env family's turn limit; --env-options reach every env the trainers build."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym_seal.backends.config import TrainConfig, WarmupConfig, parse_train_args
from agentgym_seal.backends.env_options import check_env_options
from agentgym_seal.errors import ConfigError, UnknownNameError
from agentgym_seal.family import FAMILIES
from agentgym_seal.registration import ENVS

pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[2]


def parse_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The message of a flag set that fails at parse time (tyro prints our ConfigError and exits 2)."""
    with pytest.raises(SystemExit) as exit_info:
        parse_train_args(argv)
    assert exit_info.value.code == 2
    return " ".join(capsys.readouterr().err.replace("│", " ").split())


# -- --max-turns ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env_id", "turns"),
    [("ALFWorldText-v0", 10), ("WebShopText-v0", 15), ("WebShopHTML-v0", 15), ("SearchQA-v0", 4)],
)
def test_max_turns_defaults_to_the_env_familys_turn_limit(env_id: str, turns: int) -> None:
    cfg = parse_train_args(["--env", env_id])
    assert cfg.max_turns is None and cfg.turn_limit == turns
    assert FAMILIES.get(ENVS.get(env_id).family).default_train_turns == turns
    resolved = cfg.resolved()
    assert resolved.max_turns == turns and resolved.resolved() == resolved
    assert dataclasses.asdict(resolved)["max_turns"] == turns  # what config.json records


@pytest.mark.parametrize(("env_id", "steps"), [("ALFWorldText-v0", 12), ("WebShopText-v0", 12), ("SearchQA-v0", 24)])
def test_steps_default_to_the_env_familys_and_an_explicit_value_wins(env_id: str, steps: int) -> None:
    cfg = parse_train_args(["--env", env_id])
    assert cfg.steps is None and cfg.num_steps == steps
    assert cfg.resolved().steps == steps and dataclasses.asdict(cfg.resolved())["steps"] == steps  # config.json
    assert parse_train_args(["--env", env_id, "--steps", "3"]).resolved().steps == 3
    assert parse_train_args(["--env", env_id, "--steps", "0"]).resolved().steps == 0


@pytest.mark.parametrize(
    ("env_id", "on"), [("ALFWorldText-v0", True), ("WebShopText-v0", False), ("SearchQA-v0", False)]
)
def test_the_inadmissible_action_penalty_defaults_to_the_env_familys(env_id: str, on: bool) -> None:
    cfg = parse_train_args(["--env", env_id])
    assert cfg.penalise_inadmissible is None and cfg.penalises_inadmissible is on
    assert cfg.resolved().penalise_inadmissible is on  # what config.json records
    for flag, value in (("True", True), ("False", False)):
        assert parse_train_args(["--env", env_id, "--penalise-inadmissible", flag]).penalises_inadmissible is value
    assert parse_train_args(["--preset", "paper-alfworld"]).penalises_inadmissible is False  # the reference's rule


def test_a_negative_history_length_fails_at_parse(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--history-length has an impossible value -1" in parse_error(["--history-length", "-1"], capsys)


def test_webshop_and_searchqa_defaults_are_their_envs_own_limits() -> None:
    for env_id in ("WebShopText-v0", "SearchQA-v0"):
        assert TrainConfig(env=env_id).turn_limit == ENVS.get(env_id).max_episode_steps


def test_an_explicit_max_turns_wins_and_presets_keep_theirs(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_train_args(["--env", "SearchQA-v0", "--max-turns", "7"]).resolved().max_turns == 7
    assert parse_train_args(["--max-turns", "3"]).turn_limit == 3
    assert parse_train_args(["--preset", "paper-alfworld"]).turn_limit == 50
    resolved = TrainConfig(max_turns=10, steps=12, penalise_inadmissible=True, invalid_penalty=0.1)
    assert parse_train_args([]).resolved() == resolved
    assert "--max-turns has an impossible value 0" in parse_error(["--max-turns", "0"], capsys)
    with pytest.raises(UnknownNameError, match="ALFWorldText-v0"):
        _ = TrainConfig(env="ALFWorldTxt-v0").turn_limit


def test_train_first_game_is_checked_at_parse_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_train_args(["--train-first-game", "400"]).train_first_game == 400
    assert "--train-first-game has an impossible value -1" in parse_error(["--train-first-game", "-1"], capsys)
    message = parse_error(["--env", "SearchQA-v0", "--train-first-game", "5"], capsys)
    assert "--train-first-game selects generated games; SearchQA-v0 has none" in message
    with pytest.raises(ConfigError, match="first_game=5 selects generated games, but data_dir is set"):
        check_env_options(TrainConfig(train_first_game=5, env_options=("data_dir=/data/alfworld",)))  # env's check
    assert "use --train-first-game" in parse_error(["--env-options", "first_game=3"], capsys)


def test_searchqa_trainer_rolls_out_with_its_turn_limit_and_the_env_options(tmp_path: Path) -> None:
    from agentgym_seal.backends.trainer import Trainer

    cfg = TrainConfig(
        env="SearchQA-v0", env_options=("topk=5",), run_dir=str(tmp_path / "run"), warmup=WarmupConfig(episodes=2),
        progress=False, monitor=False, batch_tasks=1, group_size=2, eval_episodes=1, tiny_copy_sequences=0,
    )  # fmt: skip
    trainer = Trainer(cfg)
    assert trainer.cfg.max_turns == 4 and dataclasses.asdict(trainer.cfg)["max_turns"] == 4
    for split in ("train", *trainer.family.eval_splits):
        rollout = trainer._rollout(split, 2, 2)
        try:
            env = rollout._slots[0].env
            assert rollout.cfg.max_turns == 4 and env.spec.max_episode_steps == 4
            assert env.unwrapped.config.topk == 5 and env.unwrapped.config.split == split
        finally:
            rollout.close()


# -- --env-options ----------------------------------------------------------------------------------
def test_env_options_are_json_when_they_parse_else_strings_and_repeat() -> None:
    cfg = parse_train_args(
        ["--env", "SearchQA-v0", "--env-options", "topk=5", "--env-options", "require_think=true",
         "--env-options", 'question_types=["single_hop"]', "--env-options", "retriever=bm25",
         "--env-options", 'retriever_options={"k1": 1.2}', "--env-options", "cache_dir=runs/a b",
         "--env-options", "topk=6"]
    )  # fmt: skip
    assert cfg.extra_env_kwargs == {
        "topk": 6, "require_think": True, "question_types": ["single_hop"], "retriever": "bm25",
        "retriever_options": {"k1": 1.2}, "cache_dir": "runs/a b",
    }  # fmt: skip
    assert parse_train_args([]).extra_env_kwargs == {}


def test_env_options_go_on_top_of_the_familys_kwargs_for_rollouts_and_demonstrations() -> None:
    from agentgym_seal.backends.rllib.options import RLlibOptions
    from agentgym_seal.backends.rllib.runner import _env_config

    cfg = TrainConfig(train_games_per_type=7, env_options=("won_reward=5", "games_per_type=3"))
    family = FAMILIES.get("alfworld")
    assert family.rollout_kwargs(cfg, "train") == {
        **family.env_kwargs(cfg, "train"),
        "won_reward": 5,
        "games_per_type": 3,
    }
    assert family.rollout_kwargs(cfg, "valid_seen")["split"] == "valid_seen"
    assert family.warmup_kwargs(cfg) == {**family.demo_kwargs(cfg), "won_reward": 5, "games_per_type": 3}
    searchqa = TrainConfig(env="SearchQA-v0", env_options=("topk=2",))
    config = _env_config(searchqa, RLlibOptions(), "test")  # the RLlib baseline's envs get them too
    world = FAMILIES.get("searchqa").shared_kwargs(searchqa)
    assert config["env_kwargs"] == {**world, "split": "test", "topk": 2} and config["max_turns"] == 4


def test_malformed_or_trainer_owned_env_options_fail_at_parse(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--env-options expects KEY=VALUE; got 'topk'" in parse_error(["--env-options", "topk"], capsys)
    assert "expects KEY=VALUE" in parse_error(["--env-options", "=5"], capsys)
    assert "Fix: drop it" in parse_error(["--env-options", "split=test"], capsys)
    assert "Fix: use --max-turns N" in parse_error(["--env-options", "max_episode_steps=3"], capsys)


def test_an_option_the_env_does_not_take_fails_naming_the_key_and_the_env() -> None:
    check_env_options(TrainConfig(env="SearchQA-v0"))  # nothing given: nothing built
    check_env_options(TrainConfig(env="SearchQA-v0", env_options=("topk=5",)))
    with pytest.raises(ConfigError) as error:
        check_env_options(TrainConfig(env="SearchQA-v0", env_options=("retreiver=bm25",)))
    message = str(error.value)
    assert "--env-options retreiver=bm25" in message and "SearchQA-v0" in message
    assert "Did you mean 'retriever'?" in message
    with pytest.raises(ConfigError, match=r"'reward' of SearchQA-v0.*'bleu'"):  # the env's own value checks too
        check_env_options(TrainConfig(env="SearchQA-v0", env_options=("reward=bleu",)))
    with pytest.raises(ConfigError, match=r"ALFWorldText-v0.*'num_products'"):
        check_env_options(TrainConfig(train_games_per_type=2, env_options=("num_products=10",)))


def test_train_script_stops_at_start_on_an_unknown_env_option(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_seal.py"), "--env", "SearchQA-v0", "--run-dir",
         str(tmp_path / "run"), "--env-options", "retreiver=dense", "--no-progress"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "0"}, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "error: --env-options retreiver=dense" in done.stderr and "SearchQA-v0" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "config.json").exists()  # before any model, demo or rollout


@pytest.mark.parametrize(
    ("env_id", "penalty"), [("ALFWorldText-v0", 0.1), ("WebShopText-v0", 0.1), ("SearchQA-v0", 0.01)]
)
@pytest.mark.parametrize("backend", ["grpo", "gigpo"])
def test_lambda_is_the_env_familys_unless_given(env_id: str, penalty: float, backend: str) -> None:
    cfg = parse_train_args(["--env", env_id, "--backend", backend])
    assert cfg.invalid_penalty is None and cfg.penalty == penalty
    assert cfg.advantage.invalid_penalty == penalty  # what the learner subtracts
    assert dataclasses.asdict(cfg.resolved())["invalid_penalty"] == penalty  # what config.json records
    given = parse_train_args(["--env", env_id, "--backend", backend, "--invalid-penalty", "0.3"])
    assert given.resolved().advantage.invalid_penalty == 0.3


def test_a_negative_lambda_fails_at_parse(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--invalid-penalty must be >= 0" in parse_error(["--invalid-penalty", "-0.1"], capsys)
