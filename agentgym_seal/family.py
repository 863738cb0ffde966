"""Env families: what each family of envs tells the code that rolls out and trains on it.

A family (ALFWorld, WebShop, SearchQA, or one of yours) is one folder ``environments/<family>/`` whose
``training.py`` declares a :class:`FamilySpec` and the env ids it serves
(:class:`EnvEntry`).
The spec is the one place its training knowledge lives:

- the turn limit of its envs (Gymnasium's ``TimeLimit``) and the one a training run uses by default,
- the invalid-format penalty λ (SPEC 1.1) that its envs report and the learner subtracts,
- its prompt template, the tags that end a turn, whether its envs make tool calls,
- its evaluation splits and the env kwargs of each split and of the warm-up's expert demonstrations.

The trainers read it through :data:`FAMILIES` (keyed by ``EnvEntry.family``; ``registration.family_of(env_id)``)
and name no family themselves.
A new family is one folder plus one line in :data:`agentgym_seal.registration.BUILTIN_FAMILIES` (or a call
of :func:`~agentgym_seal.registration.register_family` from your own code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentgym_seal.errors import ConfigError
from agentgym_seal.registry import Registry, load_entry_point

if TYPE_CHECKING:
    from agentgym_seal.prompting import PromptTemplate


@dataclass(frozen=True)
class EnvEntry:
    """What agentgym_seal knows about one env id.

    Attributes:
        env_id: The Gymnasium id users type, e.g. ``"ALFWorldText-v0"``.
        entry_point: ``"module:Class"`` of the env, imported lazily by ``gymnasium.make``.
        max_episode_steps: Default turn limit, applied by Gymnasium's ``TimeLimit`` (the family's ``max_turns``).
        extra: The pip extra that installs the env's dependencies.
        has_expert: Whether ``env.unwrapped.expert_plan()`` exists (used by ``validate``).
        family: The env family (:data:`FAMILIES`): prompts, λ, splits, training defaults.
        kwargs: Default keyword options.
    """

    env_id: str
    entry_point: str
    max_episode_steps: int
    extra: str
    has_expert: bool = False
    family: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FamilySpec:
    """One env family's training knowledge (the defaults suit an env with a ``split`` option and no more).

    The ``cfg`` the kwargs methods take is the run's ``TrainConfig`` (its ``extra_env_kwargs`` are the user's
    ``--env-options``); a family reads the run flags it needs from it.

    Attributes:
        name: The family's name (``EnvEntry.family``).
        prompts: ``"module:attr"`` of its :class:`~agentgym_seal.prompting.PromptTemplate`.
        max_turns: The turn limit of its envs (``max_episode_steps`` of each env id it registers).
        invalid_penalty: λ, the penalty of a format-invalid step: the envs' default ``invalid_format_penalty``
            and the learner's ``--invalid-penalty`` when that is not given.
        train_max_turns: The turn limit of a training run when ``--max-turns`` is not given (``None``: ``max_turns``).
        steps: RL steps of a training run when ``--steps`` is not given.
        penalise_inadmissible: Whether the learner also penalises well-formed actions the env cannot execute
            when ``--penalise-inadmissible`` is not given.
        eval_splits: The splits evaluated, by the names used in metric keys (``eval/<split>/success_rate``).
        split_names: Metric split name -> the env's ``split`` option, where they differ.
        stop_tags: Closing tags that end a turn (each must be one token of the tokenizer to take effect).
        tool_calls: Its envs report ``info["tool_call"]`` (the entropy reward shapers need them).
        game_pool: Its train split is a pool of generated games that ``--train-first-game`` can offset.
    """

    name: str
    prompts: str
    max_turns: int
    invalid_penalty: float
    train_max_turns: int | None = None
    steps: int = 12
    penalise_inadmissible: bool = False  # the reference's rule: format errors only
    eval_splits: tuple[str, ...] = ("test",)
    split_names: Mapping[str, str] = field(default_factory=dict)
    stop_tags: tuple[str, ...] = ("</action>",)
    tool_calls: bool = False
    game_pool: bool = False

    def __post_init__(self) -> None:
        if self.max_turns < 1 or (self.train_max_turns is not None and self.train_max_turns < 1):
            raise ConfigError(f"family {self.name!r}: turn limits must be >= 1.")
        if not self.invalid_penalty >= 0.0:
            raise ConfigError(f"family {self.name!r}: invalid_penalty must be >= 0; got {self.invalid_penalty}.")

    def env(self, env_id: str, entry_point: str, extra: str, *, has_expert: bool = True) -> EnvEntry:
        """The :class:`~agentgym_seal.family.EnvEntry` of one of the family's env ids (its turn limit)."""
        return EnvEntry(env_id=env_id, entry_point=entry_point, max_episode_steps=self.max_turns, extra=extra,
                        has_expert=has_expert, family=self.name)  # fmt: skip

    @property
    def default_train_turns(self) -> int:
        """The turn limit of a training run when ``--max-turns`` is not given."""
        return self.max_turns if self.train_max_turns is None else self.train_max_turns

    @property
    def prompt_template(self) -> PromptTemplate:
        """The family's prompt template (its module is imported on first use)."""
        template: PromptTemplate = load_entry_point(self.prompts)  # type: ignore[assignment]
        return template

    def shared_kwargs(self, cfg: Any) -> dict[str, Any]:
        """Env kwargs common to every split and to the demonstrations (part of the demo cache key)."""
        return {}

    def env_kwargs(self, cfg: Any, split: str) -> dict[str, Any]:
        """Env kwargs of the rollouts on ``split`` (``train`` or one of :attr:`eval_splits`)."""
        return {**self.shared_kwargs(cfg), "split": self.split_names.get(split, split)}

    def demo_kwargs(self, cfg: Any) -> dict[str, Any]:
        """Env kwargs of the warm-up's expert episodes (train split)."""
        return self.shared_kwargs(cfg)

    def rollout_kwargs(self, cfg: Any, split: str) -> dict[str, Any]:
        """What the trainers pass to the envs of ``split``: :meth:`env_kwargs`, then ``--env-options`` on top."""
        return {**self.env_kwargs(cfg, split), **cfg.extra_env_kwargs}

    def warmup_kwargs(self, cfg: Any) -> dict[str, Any]:
        """What the warm-up passes to its expert's env: :meth:`demo_kwargs`, then ``--env-options`` on top."""
        return {**self.demo_kwargs(cfg), **cfg.extra_env_kwargs}


#: Env families by name (``EnvEntry.family``); filled by :func:`~agentgym_seal.registration.register_family`.
FAMILIES: Registry[FamilySpec] = Registry("env family")
