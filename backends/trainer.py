"""The training loop: warm-up -> (rollout -> advantages -> update) x steps, evaluation, checkpoints.

Run folder layout::

    config.json      the TrainConfig (family defaults resolved: --max-turns, --steps, --invalid-penalty, ...)
    warmup.json      the warm-up's loss and the evaluation of the warmed-up policy (the RL baseline)
    metrics.jsonl    one row per RL step (1..steps)
    checkpoints/step_<k>/{model/, learner.pt, state.json, manifest.json}   written atomically (checkpoints.py)
    final/           the trained model, loadable with from_pretrained (and its manifest.json)

A resume verifies the whole folder before it writes anything (``resume.check_run_folder``).
"""

from __future__ import annotations

import dataclasses
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from agentgym_seal.atomic import write_json_atomic
from agentgym_seal.engines import ENGINES, SamplingParams
from agentgym_seal.logging import JsonlWriter, build_sinks, read_jsonl
from agentgym_seal.logging.progress import PhaseProgress
from agentgym_seal.models.loading import check_model_folder
from agentgym_seal.models.lora import apply_lora, load_policy_weights, plain_copy, plain_state_dict
from agentgym_seal.monitor import Monitor
from agentgym_seal.registration import ENVS
from agentgym_seal.registry import Registry
from agentgym_seal.rollout import GroupRollout, Rollout, RolloutConfig

from .checkpoints import checkpoint_dir, load_checkpoint, save_checkpoint, save_final
from .config import TrainConfig
from .distributed.scale import ScaleOut
from .env_options import check_env_options
from .evaluation import evaluate, mean, summary, train_metrics
from .learner import LearnerConfig
from .resume import check_run_folder, resume_changes
from .reward_shaping import build_shaper
from .warmup import Warmup


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Trainer:
    """Owns the model, the learner, the rollouts and the run folder of one training run."""

    def __init__(self, cfg: TrainConfig) -> None:
        ENVS.get(cfg.env)  # fail early, with the list of ids, on an unknown env
        cfg = cfg.resolved()  # the env family's defaults filled in: what config.json records
        self.cfg = cfg
        self.device = cfg.torch_device  # --device cuda without a CUDA device fails here, before any work
        self.console = Console(quiet=not cfg.progress)
        torch.set_num_threads(cfg.num_threads)
        _seed_everything(cfg.seed)
        self.run_dir = Path(cfg.resume or cfg.run_dir or cfg.default_run_dir)
        self.resume_point = check_run_folder(cfg) if cfg.resume else None  # refuses a bad folder, writing nothing
        if self.resume_point is None and cfg.model != "tiny":
            check_model_folder(cfg.model)  # a bad --model leaves no run folder behind
        self.family = cfg.family  # env kwargs, demos, eval splits, stop tags
        check_env_options(cfg)  # an --env-options key the env does not take fails here, before any work
        self.shaper = build_shaper(  # fails here, before any work, if the engine or the env cannot feed it
            cfg.reward_shaper, cfg.shaping, engine=ENGINES.get(cfg.engine), tool_calls=self.family.tool_calls,
            env_id=cfg.env,
        )  # fmt: skip
        self.warmup = Warmup(cfg, self.run_dir.parent / ".models", self._progress_bar)
        resumed = self.resume_point.checkpoint if self.resume_point is not None else None
        self.model, self.tokenizer = self.warmup.load_policy(resumed)
        if cfg.lora is not None:  # --lora-rank: adapters train, base weights freeze (the SEAL head trains in full)
            self.model = apply_lora(self.model, cfg.lora)
        self.model.to(self.device)  # --device: the learner, the warm-up and the hf engine follow the weights
        self.run_dir.mkdir(parents=True, exist_ok=True)  # every check passed and the model loaded
        self.metrics = JsonlWriter(self.run_dir / "metrics.jsonl")
        self.scale = ScaleOut(cfg)  # --num-workers / --num-learners: Ray starts in run()
        self.stop_ids = tuple(
            i for i in (*map(self.tokenizer.convert_tokens_to_ids, self.family.stop_tags), self.tokenizer.eos_token_id)
            if isinstance(i, int) and i != self.tokenizer.unk_token_id
        )  # fmt: skip
        # --engine hf|vllm. With Ray workers the workers own the engines (vLLM included); this process only
        # needs the in-process hf engine, so it does not start a second vLLM on the learner's device.
        engine = "hf" if cfg.num_workers > 0 else cfg.engine
        self.engine = ENGINES.get(engine)(self.model, self.tokenizer.pad_token_id)
        self.learner = self.scale.learner_class()(
            self.model,
            self.tokenizer.pad_token_id,
            cfg=LearnerConfig(
                lr=cfg.lr, mini_batch_size=cfg.mini_batch_size, micro_batch_size=cfg.micro_batch_size,
                ppo_epochs=cfg.ppo_epochs, temperature=cfg.temperature, entropy_coeff=cfg.entropy_coeff,
                kl_coef=cfg.kl_coef, shuffle_seed=cfg.seed, drop_zero_advantage=cfg.drop_zero_advantage,
                penalise_inadmissible=cfg.penalises_inadmissible, negative_advantage_scale=cfg.negative_advantage_scale,
                credit_inadmissible=cfg.credit_inadmissible,
            ),
            advantage=cfg.advantage,
            seal=cfg.seal,
            ref_model=self._reference_model() if cfg.kl_coef > 0 else None,
        )  # fmt: skip
        self.start_step = 0
        self.monitor = Monitor(cfg.monitor_config, self.run_dir / "monitor", self.model) if cfg.monitor else None
        self.learner.observer = self.monitor
        self.sinks = build_sinks([s for s in cfg.log_sinks if s != "jsonl"], self.run_dir)  # metrics.jsonl: always

    # -- setup ---------------------------------------------------------------------------------------
    def _reference_model(self) -> Any:
        return plain_copy(self.model).to(self.device).requires_grad_(False)  # KL reference beside the policy

    def _reset_reference(self, start: Path | None = None) -> None:
        """The KL reference becomes the policy RL starts from: the warmed-up one.

        On a resume it is read from ``start`` (checkpoint 0) into the policy; the caller then loads the policy's own.
        """
        if self.learner.ref_model is None:
            return
        if start is not None:  # check_run_folder verified it before anything was written
            load_policy_weights(self.model, start / "model")
        self.learner.ref_model.load_state_dict(plain_state_dict(self.model))  # LoRA: adapters merged

    def _rollout(self, split: str, num_envs: int, group_size: int) -> Rollout:
        cfg = RolloutConfig(
            env_id=self.cfg.env,
            env_kwargs=self.family.rollout_kwargs(self.cfg, split),  # --env-options on top of the family's
            group_size=group_size,
            max_turns=self.cfg.turn_limit,
            history_length=self.cfg.history_length,
            max_prompt_length=self.cfg.max_prompt_length,
            sampling=SamplingParams(
                temperature=self.cfg.temperature,
                top_p=self.cfg.top_p,
                max_new_tokens=self.cfg.max_response_length,
                stop_token_ids=self.stop_ids,
            ),
        )
        return self.scale.rollout(split, cfg, num_envs) or GroupRollout(cfg, self.engine, self.tokenizer, num_envs)

    def evaluate(self, rollouts: dict[str, Rollout]) -> dict[str, float]:
        """Success per eval split and per task type (:func:`~.evaluation.evaluate`)."""
        return evaluate(self.cfg, rollouts, self.stop_ids)

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> dict[str, float]:
        """Runs (or resumes) the whole training; returns the last metrics row."""
        cfg, point = self.cfg, self.resume_point
        if point is None:
            write_json_atomic(self.run_dir / "config.json", dataclasses.asdict(cfg))
        else:
            for note in (*point.notes, *resume_changes(point.saved, cfg)):
                print(f"resume: {note}", file=sys.stderr)  # shown with --no-progress too
        self.scale.start(self.model, self.tokenizer, self.learner)
        train = self._rollout("train", cfg.batch_tasks * cfg.group_size, cfg.group_size)
        evals = {s: self._rollout(s, cfg.eval_episodes, 1) for s in self.family.eval_splits}
        row: dict[str, float] = {}
        try:
            if point is not None:
                self._reset_reference(checkpoint_dir(self.run_dir, 0))  # before the policy takes the resumed weights
                self.start_step = load_checkpoint(point.checkpoint, self.model, self.learner) + 1
                write_json_atomic(self.run_dir / "config.json", dataclasses.asdict(cfg))  # the checkpoint loaded
                self.scale.weights_changed(self.model, self.learner)
                self.engine.sync_weights(self.model)  # vllm: serve the restored weights (hf: no-op)
                self.metrics.keep_until(self.start_step - 1)
                self.console.print(f"resumed from {point.checkpoint}")
            else:
                self.metrics.keep_until(0)
                warmup = self.warmup.copy_metrics | self.warmup.run(self.model, self.tokenizer)
                self._reset_reference()  # KL to the warmed-up policy, not to the one the warm-up started from
                self.scale.weights_changed(self.model, self.learner)
                self.engine.sync_weights(self.model)  # vllm: serve the warmed-up weights (hf: no-op)
                with self._progress_bar("evaluation of the warmed-up policy", bar=False):
                    warmup.update(self.evaluate(evals))
                write_json_atomic(self.run_dir / "warmup.json", warmup)
                _seed_everything(cfg.seed + 1)  # RL starts from a known RNG state, saved with checkpoint 0
                self.console.print(summary(warmup))
                self._save_checkpoint(0)
                self.start_step = 1
            if self.monitor is not None:  # phase detector state and monitor artifacts up to the resumed step
                self.monitor.restore(read_jsonl(self.metrics.path), self.start_step - 1)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                disable=not (cfg.progress and self.console.is_terminal),
            ) as progress:  # in a log the phases print plain lines instead
                bar = progress.add_task("RL", total=cfg.num_steps, completed=self.start_step - 1)
                for step in range(self.start_step, cfg.num_steps + 1):
                    progress.update(bar, description=f"step {step}: rollout + update")
                    with self._progress_bar(f"step {step}: rollout + update", bar=False):
                        row = self.train_step(train, step)
                    if step % cfg.eval_every == 0 or step == cfg.num_steps:
                        progress.update(bar, description=f"step {step}: evaluation")
                        with self._progress_bar(f"step {step}: evaluation", bar=False):
                            row.update(self.evaluate(evals))
                    self.metrics.write(row)
                    self.sinks.write(row)
                    progress.console.print(summary(row))
                    if step % cfg.checkpoint_every == 0 or step == cfg.num_steps:
                        self._save_checkpoint(step)
                    progress.advance(bar)
        finally:
            train.close()
            for rollout in evals.values():
                rollout.close()
            self.scale.close()
            self.sinks.close()
        save_final(self.run_dir / "final", self.model, self.tokenizer, self.learner.head)
        return row

    def _save_checkpoint(self, step: int) -> None:
        """Writes the checkpoint of ``step`` (:func:`~.checkpoints.save_checkpoint`)."""
        save_checkpoint(checkpoint_dir(self.run_dir, step), self.model, self.tokenizer, self.learner, step)

    def _progress_bar(self, label: str, *, bar: bool = True) -> PhaseProgress:
        """Progress of a phase as ``on_step(done, total, loss)``: a rich bar on a terminal, plain lines in a log.

        ``bar=False`` prints in a log only (the RL bar already shows the phase on a terminal); ``--no-progress`` or a
        phase that does no work print nothing.
        """
        enabled = self.cfg.progress and (bar or not self.console.is_terminal)
        return PhaseProgress(self.console, label, enabled=enabled)

    def train_step(self, rollout: Rollout, step: int) -> dict[str, float]:
        """One RL step: rollout of B x G, advantages, update; returns the metrics row."""
        cfg = self.cfg
        seeds = [cfg.seed * 1_000_003 + (step - 1) * cfg.batch_tasks + b for b in range(cfg.batch_tasks)]
        t0 = time.perf_counter()
        phases_before = dict(rollout.timing)
        params = dataclasses.replace(rollout.cfg.sampling, seed=cfg.seed * 7919 + step)
        batch = rollout.collect(seeds, sampling=params)
        t1 = time.perf_counter()
        phases = {f"timing/rollout_{k}_s": rollout.timing[k] - phases_before[k] for k in rollout.timing}
        batch, shaping = self.shaper(batch)  # --reward-shaper, before the advantages
        if self.family.tool_calls:
            shaping["train/tool_calls"] = mean([t.tool_calls for t in batch.trajectories])
        advantages = self.learner.advantages(batch)
        if self.monitor is not None:
            self.monitor.begin_step(step, batch, advantages)
        actor = self.learner.update(batch, advantages)
        rollout.sync_weights(self.model)  # engines sample from the updated policy (a no-op in one process)
        monitor = self.monitor.end_step() if self.monitor is not None else {}
        t2 = time.perf_counter()
        return {
            "step": step,
            **train_metrics(batch, advantages),
            **shaping,
            **actor,
            **monitor,
            **phases,
            **rollout.metrics(),
            "timing/rollout_s": t1 - t0,
            "timing/update_s": t2 - t1,
        }


def train(cfg: TrainConfig) -> Path:
    """Runs a training with the loop of ``cfg.backend`` (:data:`TRAINING_LOOPS`) and returns its run folder."""
    return TRAINING_LOOPS.get(cfg.backend)(cfg)


def _train_llm(cfg: TrainConfig) -> Path:
    trainer = Trainer(cfg)
    trainer.run()
    return trainer.run_dir


#: Training loop by ``--backend`` (lazy): the LLM learners share :class:`Trainer`; ``rllib`` is the classic-RL
#: baseline (RLlib PPO over admissible actions, ``backends/rllib``; Ray with RLlib lives in .venv-rllib).
TRAINING_LOOPS: Registry[Callable[[TrainConfig], Path]] = Registry("training backend")
TRAINING_LOOPS.register("grpo", _train_llm)
TRAINING_LOOPS.register("gigpo", _train_llm)
TRAINING_LOOPS.register("rllib", "agentgym_seal.backends.rllib.runner:train")
