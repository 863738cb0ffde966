"""The training configuration: small frozen dataclasses composed into :class:`TrainConfig` (tyro CLI)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any, Literal

import tyro

from agentgym_seal.errors import ConfigError

from .advantages import AdvantageConfig, GiGPOConfig, GRPOConfig
from .reward_shaping import REWARD_SHAPERS, ShapingConfig
from .rllib.options import RLlibOptions
from .seal import SEALConfig

if TYPE_CHECKING:
    from agentgym_seal.family import FamilySpec

Backend = Literal["grpo", "gigpo", "rllib"]


@dataclass(frozen=True)
class WarmupConfig:
    """SFT warm-up on expert demonstrations (the paper's mid-training)."""

    episodes: int = 480
    """Expert episodes of the train split to learn from (0 disables the warm-up)."""
    epochs: int = 3
    """Passes over the demonstrations."""
    seconds: float | None = None
    """Optional wall-clock cap (makes the warm-up depend on machine speed, so runs stop being reproducible)."""
    lr: float = 3e-3
    """Warm-up learning rate."""
    batch_size: int = 32
    """Sequences per warm-up step."""
    expert: Literal["planner", "explorer"] = "explorer"
    """Demonstrator: the explorer (searches unvisited receptacles until it finds the object, then plans) or the
    planner (walks straight to the hidden object, which the policy cannot see)."""
    games_per_type: int = 400
    """Train games per task type the demonstrations are drawn from (the first of the RL pool's games)."""
    noise: float = 0.0
    """DART mistakes: per step, the probability of playing a random other admissible command (not learned from),
    so the demonstrations show the expert recovering from states it would never reach itself."""
    processes: int = 0
    """Data-parallel warm-up processes on a CPU, sharing --num-threads (gradients summed with gloo; ignored on a
    GPU). 0 = auto: one per thread for a warm-up of >= 200 optimizer steps, else 1."""
    invalid_noise: float = 0.25
    """Inadmissible mistakes: per step, the probability of playing a command admissible only elsewhere (not learned
    from), so the demonstrations show the way out of the env's "Nothing happens."."""

    epsilon: float = 0.0
    """Epsilon-greedy demonstrator: per step, the probability that the demonstration's command is a uniformly random
    admissible one (played and learned from)."""

    def __post_init__(self) -> None:
        if self.processes < 0:
            raise ConfigError(f"--warmup.processes must be >= 0 (0 = auto); got {self.processes}.")
        for flag, value in (("noise", self.noise), ("invalid-noise", self.invalid_noise), ("epsilon", self.epsilon)):
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"--warmup.{flag} must be in [0, 1); got {value}.")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; every field is a ``--flag`` of ``examples/train_seal.py``."""

    backend: Backend = "grpo"
    """Advantage estimator: GRPO (SPEC 1) or GiGPO (SPEC 2); or rllib, the classic-RL baseline (RLlib PPO, no LLM)."""
    seal_alpha: float = 0.02
    """Weight of the SEAL loss (SPEC 3; 0 turns SEAL off)."""
    steps: int | None = None
    """RL steps, one rollout + one update each (default: the env family's ``steps``)."""
    seed: int = 0
    """Seed of everything (env seeds, sampling, init, shuffling)."""
    run_dir: str | None = None
    """Run folder (default: runs/<backend>-seal<alpha>-seed<seed>)."""
    resume: str | None = None
    """Continue the run in this folder from its last checkpoint."""
    resume_fallback: bool = False
    """With --resume: when the last checkpoint fails verification, continue from the newest earlier one that passes."""
    env: str = "ALFWorldText-v0"
    """Environment id."""
    env_options: Annotated[tuple[str, ...], tyro.conf.UseAppendAction] = ()
    """KEY=VALUE, repeatable: a keyword option of every env the run builds (train, eval, warm-up demonstrations),
    on top of the family's, e.g. --env-options retriever=dense --env-options topk=5. VALUE is JSON when it parses
    (numbers, true/false, null, lists, objects), else a string; a key the env does not take fails at start."""
    model: str = "tiny"
    """``tiny`` (built locally) or the path of a local Hugging Face causal-LM folder."""
    engine: Literal["hf", "vllm"] = "hf"
    """Generation engine: hf (transformers, in the learner's process) or vllm (vllm.LLM; on a CPU in .venv-vllm)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where this process keeps the policy for the warm-up, updates and in-process rollouts: auto (the GPU when
    torch sees one, else the CPU), cpu, or cuda (fails at start without a CUDA device)."""
    num_workers: int = 0
    """Rollout workers as Ray actors, each with its own engine and whole task groups (0: roll out in this
    process). Any count gives the same samples as 0 for the same seed."""
    num_learners: int = 1
    """Data-parallel learner ranks (this process is rank 0, the others are Ray actors; gloo on CPUs)."""
    learner_sharding: Literal["ddp", "fsdp2"] = "ddp"
    """How --num-learners ranks share the model: ddp (a full copy each, gradients all-reduced) or fsdp2
    (torch fully_shard: parameters, gradients and optimizer state split over the ranks; needs --no-monitor)."""
    weight_sync: Literal["object-store", "collective"] = "object-store"
    """How updated weights reach the rollout workers: the Ray object store, or a torch.distributed broadcast
    from this process (NCCL when the workers hold GPUs, gloo otherwise)."""
    num_gpus: float = 0.0
    """GPUs reserved for the rollout workers, split evenly (checked against the Ray cluster)."""
    ray_address: str | None = None
    """Join the Ray cluster at host:port (started with `ray start --head`) or ``auto``; default: a local one."""
    ray_timeout_s: float = 600.0
    """Deadline of every remote call (a rollout, a weight sync, an update); a late call is an error."""
    lora_rank: int = 0
    """LoRA rank (peft) on every linear layer but the output head; 0 trains all weights. The SEAL head
    always trains in full."""
    lora_alpha: float | None = None
    """LoRA scaling numerator (default: 2 x rank)."""
    tiny_hidden_size: int = 128
    """Width of the tiny model (used when ``--model tiny``)."""
    tiny_layers: int = 4
    """Decoder layers of the tiny model (used when ``--model tiny``)."""
    tiny_copy_sequences: int = 80000
    """Synthetic copy-task sequences the tiny model pretrains on before the warm-up (0 = none); part of the cached
    model's key."""
    task_types: tuple[str, ...] = ("pick_and_place_simple",)
    """Task types to train and evaluate on (families with generated games)."""
    difficulty: str = "tiny"
    """Room size preset of generated games (tiny, small, medium, full)."""
    train_games_per_type: int = 400
    """Generated train games per task type in the RL pool."""
    train_first_game: int = 0
    """Index of the RL pool's first generated game (the warm-up demonstrates the first --warmup.games-per-type
    games, so 0 makes RL replay demonstrated games)."""
    batch_tasks: int = 4
    """B: task seeds per RL step."""
    group_size: int = 8
    """G: environments per task seed."""
    max_turns: int | None = None
    """Turn limit of an episode (default: the env family's training turn limit)."""
    history_length: int = 2
    """K: (observation, action) pairs in each prompt."""
    max_prompt_length: int = 1024
    """Prompt tokens kept."""
    max_response_length: int = 24
    """Generated tokens per turn."""
    temperature: float = 0.4
    """Rollout temperature (verl and the paper preset: 1.0; the CPU default samples at the eval temperature)."""
    eval_temperature: float = 0.4
    """Evaluation temperature (SPEC 1.4)."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    lr: float = 2e-4
    """AdamW learning rate of RL."""
    mini_batch_size: int = 256
    """Most step samples per optimizer step: a rollout's samples are split into the fewest mini-batches of at most
    this many, of near-equal size (268 samples at 256: two steps of 134, not 256 + a noisy step of 12)."""
    micro_batch_size: int = 32
    """Step samples per forward/backward."""
    ppo_epochs: int = 1
    """Passes over each rollout batch."""
    entropy_coeff: float = 0.001
    """Entropy bonus weight."""
    kl_coef: float = 0.0
    """KL-to-reference weight (k3); 0 disables the reference model."""
    drop_zero_advantage: bool = True
    """Skip the forward/backward of zero-advantage samples (all-tied groups; their PG term is 0, so only their
    KL, entropy and SEAL terms go)."""
    invalid_penalty: float | None = None
    """λ: penalty of a format-invalid step (SPEC 1.1; default: the env family's)."""
    penalise_inadmissible: bool | None = None
    """Also penalise (λ) well-formed actions the env cannot execute ("Nothing happens."): True or False; default the
    env family's (the reference penalises format errors only)."""
    negative_advantage_scale: float = 1.0
    """Scale of negative advantages in the update: 1 = GRPO/GiGPO as specified, 0 = reinforce winners only."""
    credit_inadmissible: bool = True
    """Let positive advantages reach inadmissible ("Nothing happens.") actions; off clips those at 0."""
    gamma: float = 0.95
    """GiGPO discount."""
    gigpo_omega: float = 1.0
    """GiGPO step-advantage weight ω."""
    gigpo_mode: Literal["mean_norm", "mean_std_norm"] = "mean_norm"
    """GiGPO normalisation."""
    seal_layers: int = 3
    """Layers of the SEAL head (the paper's scripts: 3 or 6 by env)."""
    seal_label_source: Literal["success", "advantage_sign"] = "success"
    """SEAL labels: trajectory success (paper) or advantage sign (authors' code)."""
    reward_shaper: str = "none"
    """Reward shaping before the advantages: none, entropy-dense or entropy-sparse (the entropy-based tool-use
    rewards of arXiv 2602.02050 in our reading, SPEC 5, UNVERIFIED; for envs with tool calls)."""
    shaping: ShapingConfig = field(default_factory=ShapingConfig)
    """Options of the entropy reward shapers."""
    warmup: WarmupConfig = field(default_factory=WarmupConfig)
    """SFT warm-up."""
    rllib: RLlibOptions = field(default_factory=RLlibOptions)
    """PPO and wrapper options of --backend rllib (the classic-RL baseline; Ray with RLlib lives in .venv-rllib)."""
    eval_every: int = 12
    """Evaluate every N RL steps (and after the warm-up and the last step)."""
    eval_episodes: int = 128
    """Episodes per eval split."""
    checkpoint_every: int = 5
    """Checkpoint every N RL steps (and after the last)."""
    num_threads: int = 2
    """torch CPU threads."""
    progress: bool = True
    """Show rich progress bars."""
    monitor: bool = True
    """Training-dynamics monitor (entropy, phases, log-probs, text, representations, interference); --no-monitor."""
    monitor_interference_every: int = 5
    """Measure gradient interference (grad/*) of one task group every N steps (0: never)."""
    monitor_interference_layers: tuple[str, ...] = ("lm_head",)
    """Parameter subset of grad/*: lm_head and/or dotted linear module names (e.g. model.layers.3.mlp.down_proj)."""
    monitor_post_update_every: int = 5
    """Forward the updated policy every N steps for logprob/delta_*, entropy/delta, Lemma 3.3/3.4 (0: never)."""
    monitor_projection_every: int = 5
    """Save the 2-D projection of pooled hidden states (run_dir/monitor/projection.jsonl) every N steps."""
    log_sinks: tuple[str, ...] = ()
    """Metric sinks besides run_dir/metrics.jsonl (always written): tensorboard, wandb, console."""

    def __post_init__(self) -> None:
        checks = {
            "steps": self.steps is None or self.steps >= 0,
            "batch_tasks": self.batch_tasks >= 1,
            "group_size": self.group_size >= 1,
            "max_turns": self.max_turns is None or self.max_turns >= 1,
            "history_length": self.history_length >= 0,
            "eval_every": self.eval_every >= 1,
            "checkpoint_every": self.checkpoint_every >= 1,
            "seal_alpha": self.seal_alpha >= 0,
            "eval_episodes": self.eval_episodes >= 1,
            "monitor_interference_every": self.monitor_interference_every >= 0,
            "monitor_post_update_every": self.monitor_post_update_every >= 0,
            "monitor_projection_every": self.monitor_projection_every >= 0,
        }
        checks |= {
            "num_workers": self.num_workers >= 0, "num_learners": self.num_learners >= 1,
            "num_gpus": self.num_gpus >= 0, "ray_timeout_s": self.ray_timeout_s > 0, "lora_rank": self.lora_rank >= 0,
            "tiny_copy_sequences": self.tiny_copy_sequences >= 0, "train_first_game": self.train_first_game >= 0,
        }  # fmt: skip
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"--{name.replace('_', '-')} has an impossible value {getattr(self, name)!r}.")
        from agentgym_seal.logging.sinks import SINKS

        for name in self.log_sinks:
            if name not in SINKS:
                raise ConfigError.bad_option("--log-sinks", name, SINKS.names())
        if self.backend == "gigpo" and self.group_size < 2:
            raise ConfigError("GiGPO compares G >= 2 trajectories of a task. Fix: --group-size 2 or more.")
        if self.num_gpus > 0 and self.num_workers == 0:
            raise ConfigError("--num-gpus reserves GPUs for Ray rollout workers. Fix: add --num-workers N (N >= 1).")
        if self.learner_sharding == "fsdp2" and self.num_learners > 1 and self.monitor:
            raise ConfigError(
                "--learner-sharding fsdp2 cannot run the training monitor (it runs the policy on rank 0 alone). "
                "Fix: add --no-monitor, or use --learner-sharding ddp."
            )
        if self.reward_shaper not in REWARD_SHAPERS:
            raise ConfigError.bad_option("--reward-shaper", self.reward_shaper, REWARD_SHAPERS.names())
        if self.seal_alpha > 0 and self.seal_label_source == "success" and self.group_size < 2:
            raise ConfigError("SEAL needs correct and wrong trajectories of a task. Fix: --group-size 2 or more.")
        if self.train_first_game and not self.family.game_pool:
            raise ConfigError(
                f"--train-first-game selects generated games; {self.env} has none. Fix: drop --train-first-game."
            )
        if self.invalid_penalty is not None and self.invalid_penalty < 0:
            raise ConfigError(f"--invalid-penalty must be >= 0; got {self.invalid_penalty}.")
        reserved = sorted(self.extra_env_kwargs.keys() & _TRAINER_ENV_KEYS.keys())
        if reserved:
            raise ConfigError(f"--env-options {reserved[0]}=...: {_TRAINER_ENV_KEYS[reserved[0]]}")

    @property
    def extra_env_kwargs(self) -> dict[str, Any]:
        """``--env-options`` as env kwargs (a repeated key: the last wins)."""
        from agentgym_seal.arguments import parse_option

        kwargs: dict[str, Any] = {}
        for text in self.env_options:
            try:
                key, value = parse_option(text)
            except argparse.ArgumentTypeError:
                raise ConfigError(
                    f"--env-options expects KEY=VALUE; got {text!r}. Fix: e.g. --env-options topk=5"
                ) from None
            kwargs[key] = value
        return kwargs

    @property
    def family(self) -> FamilySpec:
        """The :class:`~agentgym_seal.family.FamilySpec` of ``--env`` (its defaults for the flags left unset)."""
        from agentgym_seal.registration import family_of

        return family_of(self.env)

    @property
    def turn_limit(self) -> int:
        """``--max-turns``, or the env family's training turn limit when it is not given."""
        return self.family.default_train_turns if self.max_turns is None else self.max_turns

    @property
    def num_steps(self) -> int:
        """``--steps``, or the env family's ``steps`` when it is not given."""
        return self.family.steps if self.steps is None else self.steps

    @property
    def penalises_inadmissible(self) -> bool:
        """``--penalise-inadmissible``, or the env family's default when it is not given."""
        return self.family.penalise_inadmissible if self.penalise_inadmissible is None else self.penalise_inadmissible

    @property
    def penalty(self) -> float:
        """λ: ``--invalid-penalty``, or the env family's ``invalid_penalty`` when it is not given."""
        return self.family.invalid_penalty if self.invalid_penalty is None else self.invalid_penalty

    def resolved(self) -> TrainConfig:
        """This config with the env family's defaults filled in: what config.json records."""
        return replace(
            self, max_turns=self.turn_limit, steps=self.num_steps, penalise_inadmissible=self.penalises_inadmissible,
            invalid_penalty=self.penalty,
        )  # fmt: skip

    @property
    def torch_device(self) -> str:
        """``--device`` resolved: ``cuda`` or ``cpu``; :class:`ConfigError` for ``cuda`` without a CUDA device."""
        import torch

        available = torch.cuda.is_available()
        if self.device == "cuda" and not available:
            raise ConfigError("--device cuda, but torch sees no CUDA device. Fix: --device cpu (or auto).")
        return "cuda" if self.device == "cuda" or (self.device == "auto" and available) else "cpu"

    @property
    def lora(self) -> Any:
        """The :class:`~agentgym_seal.models.lora.LoRASettings` of ``--lora-rank`` (``None`` when 0)."""
        from agentgym_seal.models.lora import LoRASettings

        return LoRASettings(rank=self.lora_rank, alpha=self.lora_alpha) if self.lora_rank > 0 else None

    @property
    def advantage(self) -> AdvantageConfig:
        """The estimator config the backend names."""
        if self.backend == "gigpo":
            return GiGPOConfig(
                gamma=self.gamma, omega=self.gigpo_omega, mode=self.gigpo_mode, invalid_penalty=self.penalty
            )
        return GRPOConfig(invalid_penalty=self.penalty)

    @property
    def seal(self) -> SEALConfig:
        """The SEAL config (alpha 0 = off)."""
        return SEALConfig(alpha=self.seal_alpha, num_layers=self.seal_layers, label_source=self.seal_label_source)

    @property
    def monitor_config(self) -> Any:
        """The :class:`~agentgym_seal.monitor.MonitorConfig` of these flags (imports torch)."""
        from agentgym_seal.monitor import MonitorConfig

        return MonitorConfig(
            temperature=self.temperature, projection_every=self.monitor_projection_every,
            post_update_every=self.monitor_post_update_every, interference_every=self.monitor_interference_every,
            interference_layers=self.monitor_interference_layers, env_id=self.env,
        )  # fmt: skip

    @property
    def default_run_dir(self) -> str:
        """``runs/<backend>-seal<alpha>-seed<seed>``."""
        return f"runs/{self.backend}-seal{self.seal_alpha:g}-seed{self.seed}"


#: Env kwargs the trainers set themselves (a ``--env-options`` of one would be overridden): what to use instead.
_TRAINER_ENV_KEYS = {
    "split": "the trainers set it per rollout (train, then the family's eval splits). Fix: drop it.",
    "max_episode_steps": "the turn limit is --max-turns. Fix: use --max-turns N.",
    "first_game": "it would also shift the eval splits and the warm-up's games. Fix: use --train-first-game N.",
}

#: Settings of the reference scripts (SPEC 1.4) for GPU users; override any field with its flag.
PRESETS: dict[str, TrainConfig] = {
    "cpu": TrainConfig(),
    "paper-alfworld": TrainConfig(
        task_types=(
            "pick_and_place_simple", "look_at_obj_in_light", "pick_clean_then_place_in_recep",
            "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep", "pick_two_obj_and_place",
        ),
        difficulty="full", batch_tasks=16, group_size=8, max_turns=50, history_length=2, max_prompt_length=2048,
        max_response_length=512, temperature=1.0, lr=1e-6, mini_batch_size=256, micro_batch_size=8, kl_coef=0.01,
        steps=150, seal_layers=6, warmup=WarmupConfig(episodes=0), drop_zero_advantage=False, eval_every=5,
        eval_episodes=128, train_games_per_type=600, penalise_inadmissible=False,
    ),
}  # fmt: skip


def parse_train_args(argv: list[str], description: str | None = None) -> TrainConfig:
    """Parses training flags with tyro; ``--preset NAME`` picks the defaults that other flags override."""
    preset = "cpu"
    if "--preset" in argv:
        i = argv.index("--preset")
        if i + 1 >= len(argv) or argv[i + 1] not in PRESETS:
            raise ConfigError.bad_option("--preset", argv[i + 1] if i + 1 < len(argv) else None, sorted(PRESETS))
        preset = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    return tyro.cli(TrainConfig, default=PRESETS[preset], args=argv, description=description)
