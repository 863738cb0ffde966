"""``--backend rllib``: PPO (RLlib new API stack) on the same text envs, through :class:`ActionChoiceEnv`.

The classic-RL baseline of the LLM learners: no language model, no warm-up; a DRRN-style policy
(:class:`~agentgym_seal.backends.rllib.module.DRRNModule`) picks one of the admissible actions from hashed
(or MiniLM-embedded) text. It writes the same run folder as the LLM trainer::

    config.json      the TrainConfig (family defaults resolved, e.g. --max-turns); "rllib": the RLlibOptions used
    warmup.json      evaluation of the untrained policy (the baseline's step 0; there is no warm-up)
    metrics.jsonl    one row per RLlib training iteration (1..steps)
    checkpoints/step_<k>/   RLlib's Algorithm checkpoint (resume with --resume RUN_DIR)
    final/           the trained RLModule (RLModule.from_checkpoint)

How the :class:`~agentgym_seal.backends.config.TrainConfig` flags map:

- ``--steps``: RLlib training iterations; each samples ``batch_tasks x group_size x max_turns`` env steps
  (the env-step budget of one LLM RL step) from ``batch_tasks x group_size`` vectorised envs.
- ``--env``, ``--task-types``, ``--difficulty``, ``--train-games-per-type``, ``--max-turns``, ``--env-options``: the
  envs, as for the LLM learners (train split for training, the family's eval splits for evaluation).
- ``--seed``, ``--gamma``, ``--eval-every``, ``--eval-episodes``, ``--eval-temperature`` (evaluation samples
  from ``softmax(logits / T)`` over the admissible actions, with the LLM trainer's eval seeds),
  ``--checkpoint-every``, ``--num-threads``, ``--run-dir``, ``--resume``.
- Not used (they are the LLM learner's): the model, engine, SEAL, KL, warm-up, prompt/response length,
  ``--lr``/``--entropy-coeff``/``--ppo-epochs``/``--mini-batch-size`` (PPO's own are :class:`RLlibOptions`,
  the ``--rllib.*`` flags: ``--rllib.lr``, ``--rllib.featurizer``, ...).

Metric rows: ``step``, ``train/success_rate``, ``train/episode_reward``, ``train/episode_length`` and
``train/episodes`` (episodes that ended in the iteration), ``train/valid_action_ratio`` and
``train/admissible_action_ratio`` (1.0 by construction: the policy only picks admissible actions; measured
anyway), ``train/step_samples`` (env steps sampled), ``rllib/*`` (PPO's policy/value loss, entropy over
the action slots, KL), ``timing/rollout_s``, ``timing/update_s``, ``timing/iteration_s``, and on eval steps
``eval/success_rate``, ``eval/<split>/success_rate`` (+ ``/<task_type>``). Omitted, because a classic-RL
learner has no such quantity: ``actor/*`` (token-level losses and entropy), ``adv/*`` (PPO computes GAE
inside RLlib), ``seal/*``, the monitor's ``entropy/*``, ``logprob/*``, ``repr/*``, ``grad/*``, ``text/*``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np

from agentgym_seal.atomic import write_json_atomic
from agentgym_seal.deps import require
from agentgym_seal.errors import ConfigError, DependencyNotInstalled
from agentgym_seal.logging import JsonlWriter
from agentgym_seal.registration import ENVS

from ..config import TrainConfig
from ..env_options import check_env_options
from .env import ActionChoiceEnv
from .options import RLlibOptions

_EVAL_SEED_OFFSET = 1000  # as the LLM trainer: validation seeds disjoint from training seeds
_ENV_NAME = "agentgym_seal-action-choice"


def _env_config(cfg: TrainConfig, options: RLlibOptions, split: str) -> dict[str, Any]:
    family = cfg.family
    return {
        "env_id": cfg.env,
        "env_kwargs": family.rollout_kwargs(cfg, split),
        "max_actions": options.max_actions,
        "max_turns": cfg.turn_limit,
        "featurizer": options.featurizer,
        "feature_dim": options.feature_dim,
    }


def _make_env(config: Mapping[str, Any]) -> ActionChoiceEnv:
    return ActionChoiceEnv(**{k: config[k] for k in _ENV_KEYS})


_ENV_KEYS = ("env_id", "env_kwargs", "max_actions", "max_turns", "featurizer", "feature_dim")


def _callbacks_class() -> type:
    """An RLlibCallback that sums episode and step statistics per iteration (``agentgym/*``)."""
    from ray.rllib.callbacks.callbacks import RLlibCallback

    class EpisodeStats(RLlibCallback):
        def on_episode_step(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
            info = episode.get_infos(-1)
            metrics_logger.log_value("agentgym/steps", 1, reduce="sum")
            metrics_logger.log_value("agentgym/format_valid", float(info.get("format_valid", True)), reduce="sum")
            metrics_logger.log_value("agentgym/action_valid", float(info.get("action_valid", True)), reduce="sum")

        def on_episode_end(
            self, *, episode: Any, prev_episode_chunks: Any = None, metrics_logger: Any = None, **kwargs: Any
        ) -> None:
            chunks = [*(prev_episode_chunks or []), episode]
            metrics_logger.log_value("agentgym/episodes", 1, reduce="sum")
            metrics_logger.log_value("agentgym/won", float(episode.get_infos(-1).get("won", False)), reduce="sum")
            metrics_logger.log_value("agentgym/return", float(sum(c.get_return() for c in chunks)), reduce="sum")
            metrics_logger.log_value("agentgym/length", float(sum(len(c) for c in chunks)), reduce="sum")

    return EpisodeStats


def ppo_config(cfg: TrainConfig, options: RLlibOptions) -> Any:
    """The ``PPOConfig`` (new API stack) with the DRRN module on the wrapped train split."""
    from ray.rllib.algorithms import ppo
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.tune.registry import register_env

    from .module import DRRNModule

    register_env(_ENV_NAME, _make_env)
    num_envs, turns = cfg.batch_tasks * cfg.group_size, cfg.turn_limit
    return (
        cast(Any, ppo.PPOConfig)()
        .environment(_ENV_NAME, env_config=_env_config(cfg, options, "train"))
        .env_runners(
            num_env_runners=0,  # sample in this process: on 2 cores a remote runner only adds copying
            num_envs_per_env_runner=num_envs,
            rollout_fragment_length=turns,
            gym_env_vectorize_mode="sync",
        )
        .learners(num_learners=0)
        .training(
            train_batch_size_per_learner=num_envs * turns,
            minibatch_size=min(options.minibatch_size, num_envs * turns),
            num_epochs=options.num_epochs,
            lr=options.lr,
            gamma=cfg.gamma,
            lambda_=options.lambda_,
            entropy_coeff=options.entropy_coeff,
        )
        .rl_module(rl_module_spec=RLModuleSpec(module_class=DRRNModule, model_config={"hidden": options.hidden}))
        .callbacks(_callbacks_class())
        .debugging(seed=cfg.seed, log_level="ERROR")
    )


def build_algorithm(cfg: TrainConfig, options: RLlibOptions) -> Any:
    """The PPO ``Algorithm`` of :func:`ppo_config`."""
    return ppo_config(cfg, options).build_algo()


class RLlibRunner:
    """One RLlib training run: the algorithm, the eval envs and the run folder."""

    def __init__(self, cfg: TrainConfig, options: RLlibOptions | None = None) -> None:
        ENVS.get(cfg.env)  # fail early, with the list of ids, on an unknown env
        cfg = cfg.resolved()  # the env family's defaults filled in: what config.json records
        self.cfg, self.options = cfg, options or cfg.rllib  # the --rllib.* flags unless the Python API passes some
        check_env_options(cfg)  # an option the env does not take fails here, before Ray starts
        self.run_dir = Path(cfg.resume or cfg.run_dir or cfg.default_run_dir)
        self.metrics = JsonlWriter(self.run_dir / "metrics.jsonl")
        self.torch = require("torch", "train")

    def run(self) -> dict[str, Any]:
        """Trains (or resumes) for ``cfg.num_steps`` iterations; returns the last metrics row."""
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # Ray 2.60 turns token auth on by default
        ray = require_rllib()
        cfg = self.cfg
        self.torch.set_num_threads(cfg.num_threads)
        started_ray = not ray.is_initialized()
        if started_ray:
            ray.init(num_cpus=self.options.num_cpus, include_dashboard=False, log_to_driver=False)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        checkpoint = self._latest_checkpoint() if cfg.resume else None
        if cfg.resume and checkpoint is None:
            raise ConfigError(
                f"--resume {cfg.resume}: no checkpoint there. Fix: resume a run folder of --backend rllib."
            )
        write_json_atomic(
            self.run_dir / "config.json", {**dataclasses.asdict(cfg), "rllib": dataclasses.asdict(self.options)}
        )
        algo = build_algorithm(cfg, self.options)
        row: dict[str, Any] = {}
        try:
            if checkpoint is not None:
                algo.restore_from_path(str(checkpoint.resolve()))
                start = int(json.loads((checkpoint / "agentgym_state.json").read_text())["step"]) + 1
                self.metrics.keep_until(start - 1)
            else:
                self.metrics.keep_until(0)
                write_json_atomic(self.run_dir / "warmup.json", {"warmup/episodes": 0, **self.evaluate(algo)})
                start = 1
            for step in range(start, cfg.num_steps + 1):
                row = self.train_step(algo, step)
                if step % cfg.eval_every == 0 or step == cfg.num_steps:
                    row.update(self.evaluate(algo))
                self.metrics.write(row)
                if cfg.progress:
                    print(_summary(row), flush=True)
                if step % cfg.checkpoint_every == 0 or step == cfg.num_steps:
                    self._save_checkpoint(algo, step)
            algo.get_module().save_to_path(str((self.run_dir / "final").resolve()))
        finally:
            algo.stop()
            if started_ray:
                ray.shutdown()
        return row

    def train_step(self, algo: Any, step: int) -> dict[str, Any]:
        """One RLlib iteration (sample + PPO update); the metrics row."""
        start = time.perf_counter()
        result = algo.train()
        wall = time.perf_counter() - start
        runner = result.get("env_runners", {})
        episodes = float(runner.get("agentgym/episodes", 0.0))
        steps = float(runner.get("agentgym/steps", 0.0))
        learner = result.get("learners", {}).get("default_policy", {})
        timers = result.get("timers", {})
        per_episode = (lambda key: runner.get(key, 0.0) / episodes) if episodes else (lambda key: None)
        per_step = (lambda key: runner.get(key, 0.0) / steps) if steps else (lambda key: None)
        return {
            "step": step,
            "train/success_rate": per_episode("agentgym/won"),
            "train/episode_reward": per_episode("agentgym/return"),
            "train/episode_length": per_episode("agentgym/length"),
            "train/episodes": episodes,
            "train/valid_action_ratio": per_step("agentgym/format_valid"),
            "train/admissible_action_ratio": per_step("agentgym/action_valid"),
            "train/step_samples": steps,
            "rllib/policy_loss": _float(learner.get("policy_loss")),
            "rllib/vf_loss": _float(learner.get("vf_loss")),
            "rllib/entropy": _float(learner.get("entropy")),
            "rllib/mean_kl": _float(learner.get("mean_kl_loss")),
            "timing/rollout_s": _float(timers.get("env_runner_sampling_timer")),
            "timing/update_s": _float(timers.get("learner_update_timer")),
            "timing/iteration_s": wall,
        }

    def evaluate(self, algo: Any) -> dict[str, float]:
        """Success per eval split (and task type), sampling ``softmax(logits / eval_temperature)`` over slots."""
        from ray.rllib.core.columns import Columns

        cfg, torch = self.cfg, self.torch
        module = algo.get_module()
        family = cfg.family
        rng = np.random.default_rng(cfg.seed + 7)
        metrics: dict[str, float] = {}
        pooled: list[bool] = []
        per_type: dict[str, list[bool]] = defaultdict(list)
        for split in family.eval_splits:
            env = _make_env(_env_config(cfg, self.options, split))
            won: list[bool] = []
            try:
                for i in range(cfg.eval_episodes):
                    obs, info = env.reset(seed=cfg.seed + _EVAL_SEED_OFFSET + i)
                    done = False
                    while not done:
                        batch = {Columns.OBS: {k: torch.from_numpy(v)[None] for k, v in obs.items()}}
                        with torch.no_grad():
                            logits = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS][0].double().numpy()
                        action = _sample(logits, obs["action_mask"], cfg.eval_temperature, rng)
                        obs, _, terminated, truncated, info = env.step(action)
                        done = terminated or truncated
                    won.append(bool(info.get("won", False)))
                    per_type[f"{split}/{info.get('task_type', '')}"].append(won[-1])
            finally:
                env.close()
            metrics[f"eval/{split}/success_rate"] = sum(won) / max(1, len(won))
            pooled += won
        metrics["eval/success_rate"] = sum(pooled) / max(1, len(pooled))
        for key, values in per_type.items():
            split, task_type = key.split("/", 1)
            if task_type:
                metrics[f"eval/{split}/success_rate/{task_type}"] = sum(values) / len(values)
        return metrics

    def _save_checkpoint(self, algo: Any, step: int) -> None:
        folder = (self.run_dir / "checkpoints" / f"step_{step:06d}").resolve()
        algo.save_to_path(str(folder))
        write_json_atomic(folder / "agentgym_state.json", {"step": step})  # written last: marks it complete

    def _latest_checkpoint(self) -> Path | None:
        folder = self.run_dir / "checkpoints"
        done = (
            sorted(p for p in folder.glob("step_*") if (p / "agentgym_state.json").is_file()) if folder.is_dir() else []
        )
        return done[-1] if done else None


def require_rllib() -> Any:
    """Imports Ray with RLlib, or raises :class:`DependencyNotInstalled` saying how to get it."""
    try:
        import ray
        import ray.rllib  # fails without RLlib's own dependencies (dm_tree, ...)
    except ImportError as exc:
        error = DependencyNotInstalled("rllib", "ray[rllib]")
        error.msg = (  # ImportError prints .msg
            f"{error} ({type(exc).__name__}: {exc}). ray[rllib] 2.60 pins gymnasium==1.2.2, so the repository keeps "
            "it in its own env: run `make rllib-env`, then .venv-rllib/bin/python examples/train_seal.py --backend "
            "rllib ..."
        )
        error.args = (error.msg,)
        raise error from exc
    return ray


def _sample(logits: np.ndarray, mask: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """A slot drawn from ``softmax(logits / T)`` over the unmasked slots (T = 0: argmax)."""
    logits = np.where(mask > 0, logits, -np.inf)
    if temperature <= 0:
        return int(np.argmax(logits))
    z = (logits - logits.max()) / temperature
    p = np.exp(z)
    return int(rng.choice(len(p), p=p / p.sum()))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _summary(row: Mapping[str, Any]) -> str:
    keys = ("train/success_rate", "train/episode_reward", "eval/success_rate", "rllib/entropy", "timing/iteration_s")
    shown = " ".join(f"{k}={row[k]:.3g}" for k in keys if row.get(k) is not None)
    return f"step {row.get('step', 0)}: {shown}"


def train(cfg: TrainConfig, options: RLlibOptions | None = None) -> Path:
    """Runs the RLlib baseline and returns its run folder (the ``rllib`` entry of the trainer's backends).

    ``options`` default to ``cfg.rllib`` (the ``--rllib.*`` flags).

    Raises:
        DependencyNotInstalled: Ray/RLlib is missing (``make rllib-env``: its own env, it pins gymnasium 1.2.2).
        AgentGymError: Bad configuration (unknown env, nothing to resume, an env without admissible actions).
    """
    runner = RLlibRunner(cfg, options)
    runner.run()
    return runner.run_dir
