"""Multi-turn group rollout: B task seeds x G envs, one batched generation per turn (SPEC 0, 7.1)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium

from agentgym_seal.engines.base import GenerationEngine, SamplingParams
from agentgym_seal.errors import ConfigError
from agentgym_seal.prompting import PromptTemplate, build_prompt
from agentgym_seal.registration import family_of
from agentgym_seal.rollout.batch import RolloutBatch, StepSample, TrajectorySummary
from agentgym_seal.step_info import StepInfo, read_step_info


@dataclass(frozen=True)
class RolloutConfig:
    """How to roll out.

    Attributes:
        env_id: Registered env id.
        env_kwargs: Options for ``gymnasium.make`` (the invalid-format penalty is forced to 0: the learner
            applies it from ``format_valid``, SPEC 1.1).
        group_size: G, environments per task seed.
        max_turns: Turn limit (the env's ``TimeLimit``; ``None``: the limit the env id is registered with).
        history_length: K, (observation, action) pairs in each prompt (SPEC 7.2).
        max_prompt_length: Prompt tokens kept; longer prompts drop history, then their oldest tokens.
        sampling: Sampling parameters for the policy's turns.
    """

    env_id: str = "ALFWorldText-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    group_size: int = 8
    max_turns: int | None = None
    history_length: int = 2
    max_prompt_length: int = 2048
    sampling: SamplingParams = field(default_factory=SamplingParams)

    def __post_init__(self) -> None:
        if self.group_size < 1:
            raise ConfigError(f"group_size must be >= 1; got {self.group_size}.")
        if self.max_turns is not None and self.max_turns < 1:
            raise ConfigError(f"max_turns must be >= 1; got {self.max_turns}.")
        if self.history_length < 0:
            raise ConfigError(f"history_length must be >= 0; got {self.history_length}.")


@dataclass
class _Slot:
    """Bookkeeping of one env during a rollout (mutable, private to this module)."""

    env: Any
    uid: int = 0
    traj_uid: int = 0
    seed: int = 0
    observation: str = ""
    info: StepInfo | None = None
    history: list[tuple[str, str]] = field(default_factory=list)
    active: bool = False
    reward: float = 0.0
    won: bool = False
    tool_calls: int = 0

    @property
    def step_info(self) -> StepInfo:
        """The info of the env's last reset or step."""
        assert self.info is not None, "the slot was never reset"
        return self.info


class GroupRollout:
    """Rolls out a policy on groups of envs; the envs are created once and reused.

    Args:
        cfg: The rollout configuration.
        engine: Generates the responses.
        tokenizer: The policy's tokenizer (with a chat template).
        num_envs: How many envs to keep (B x G of the largest call).
    """

    def __init__(self, cfg: RolloutConfig, engine: GenerationEngine, tokenizer: Any, num_envs: int) -> None:
        self.cfg = cfg
        self.engine = engine
        self.tokenizer = tokenizer
        self.template: PromptTemplate = family_of(cfg.env_id).prompt_template
        kwargs = {**cfg.env_kwargs, "invalid_format_penalty": 0.0}
        if cfg.max_turns is not None:
            kwargs["max_episode_steps"] = cfg.max_turns
        self._slots = [_Slot(gymnasium.make(cfg.env_id, **kwargs)) for _ in range(num_envs)]
        self.truncated_prompts = 0
        #: Seconds spent per phase, summed over calls: reset, prompt (templating + tokenising), generate, env_step.
        self.timing: dict[str, float] = {"reset": 0.0, "prompt": 0.0, "generate": 0.0, "env_step": 0.0}
        #: Tokens generated, summed over calls.
        self.generated_tokens = 0

    def close(self) -> None:
        """Closes every env."""
        for slot in self._slots:
            slot.env.close()

    def sync_weights(self, model: Any) -> None:
        """Makes the engine sample from ``model``'s current weights (after an update, a warm-up, a resume)."""
        self.engine.sync_weights(model)

    def metrics(self) -> dict[str, float]:
        """Runner metrics for the step's row (none for the in-process rollout; the Ray runner's ``ray/*``)."""
        return {}

    def encode_prompt(
        self, slot_task: str, observation: str, admissible: Sequence[str], history: Sequence[tuple[str, str]]
    ) -> tuple[list[int], bool]:
        """Chat-templated prompt ids; drops history, then oldest tokens, to fit ``max_prompt_length``."""
        for keep_history in (True, False):
            text = build_prompt(
                self.template,
                task=slot_task,
                observation=observation,
                admissible_actions=admissible,
                history=history if keep_history else (),
                history_length=self.cfg.history_length,
                step=len(history),
            )
            chat = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
            )
            ids: list[int] = self.tokenizer(chat, add_special_tokens=False)["input_ids"]
            if len(ids) <= self.cfg.max_prompt_length:
                return ids, not keep_history and bool(history)
        return ids[-self.cfg.max_prompt_length :], True

    def collect(
        self,
        seeds: Sequence[int],
        *,
        group_size: int | None = None,
        sampling: SamplingParams | None = None,
        first_uid: int = 0,
    ) -> RolloutBatch:
        """Rolls out ``group_size`` (default G) envs per seed until every episode ends.

        With a sampler seed, each trajectory samples from its own generator, seeded from (sampler seed,
        ``traj_uid``, turn): a group's samples do not depend on the other groups of the call, so a slice of
        the seeds rolled out elsewhere (``first_uid`` = index of its first seed) gives the same samples.

        Returns:
            Every active step as a :class:`StepSample`, and one :class:`TrajectorySummary` per env.
        """
        g = self.cfg.group_size if group_size is None else group_size
        params = self.cfg.sampling if sampling is None else sampling
        needed = len(seeds) * g
        if needed > len(self._slots):
            raise ConfigError(f"{needed} envs needed ({len(seeds)} seeds x {g}), only {len(self._slots)} were made.")
        slots = self._slots[:needed]
        clock = time.perf_counter()
        for i, slot in enumerate(slots):
            slot.uid, slot.traj_uid, slot.seed = first_uid + i // g, first_uid * g + i, int(seeds[i // g])
            slot.observation, info = slot.env.reset(seed=slot.seed)
            slot.info = read_step_info(info, self.cfg.env_id)
            slot.history, slot.active, slot.reward, slot.won, slot.tool_calls = [], True, 0.0, False, 0
        clock = self._tick("reset", clock)

        samples: list[StepSample] = []
        turn = 0
        while any(s.active for s in slots):
            active = [s for s in slots if s.active]
            encoded = [
                self.encode_prompt(s.step_info["goal"], s.observation, s.step_info["admissible_actions"], s.history)
                for s in active
            ]
            self.truncated_prompts += sum(t for _, t in encoded)
            row_seeds = None if params.seed is None else [_row_seed(params.seed, s.traj_uid, turn) for s in active]
            clock = self._tick("prompt", clock)
            out = self.engine.generate([ids for ids, _ in encoded], params, seeds=row_seeds)
            self.generated_tokens += sum(len(t) for t in out.token_ids)
            clock = self._tick("generate", clock)
            entropies = out.entropies if out.entropies is not None else [None] * len(active)
            for slot, (prompt_ids, truncated), response_ids, logprobs, token_entropies in zip(
                active, encoded, out.token_ids, out.logprobs, entropies, strict=True
            ):
                text = self.tokenizer.decode(response_ids, skip_special_tokens=True)
                anchor = slot.step_info["anchor"]
                obs, reward, terminated, truncated_episode, raw_info = slot.env.step(text)
                info = read_step_info(raw_info, self.cfg.env_id)
                tool_call = info.get("tool_call", False)  # NotRequired: families without tools leave it out
                samples.append(
                    StepSample(
                        prompt_ids=tuple(prompt_ids),
                        response_ids=tuple(response_ids),
                        old_logprobs=tuple(logprobs),
                        response_text=text,
                        env_reward=float(reward),
                        format_valid=info["format_valid"],
                        action_valid=info["action_valid"],
                        uid=slot.uid,
                        traj_uid=slot.traj_uid,
                        step=len(slot.history),
                        anchor=anchor,
                        prompt_truncated=truncated,
                        hallucination=info["hallucination"],
                        entropies=None if token_entropies is None else tuple(token_entropies),
                        tool_call=tool_call,
                    )
                )
                slot.history.append((slot.observation, info["action"] or text[:200]))
                slot.observation, slot.info = obs, info
                slot.reward += float(reward)
                slot.won = info["won"]
                slot.tool_calls += tool_call
                slot.active = not (terminated or truncated_episode)
            clock = self._tick("env_step", clock)
            turn += 1
        trajectories = tuple(
            TrajectorySummary(
                uid=s.uid,
                traj_uid=s.traj_uid,
                seed=s.seed,
                won=s.won,
                episode_reward=s.reward,
                length=len(s.history),
                task_type=s.step_info["task_type"],
                tool_calls=s.tool_calls,
            )
            for s in slots
        )
        return RolloutBatch(tuple(samples), trajectories)

    def _tick(self, phase: str, since: float) -> float:
        now = time.perf_counter()
        self.timing[phase] += now - since
        return now


def _row_seed(seed: int, traj_uid: int, turn: int) -> int:
    """A reproducible sampler seed per (sampler seed, trajectory, turn), in [0, 2**63)."""
    digest = hashlib.blake2b(f"{seed}:{traj_uid}:{turn}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1
