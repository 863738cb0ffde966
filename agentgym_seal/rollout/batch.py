"""What a rollout produces: step samples (one per active env step, SPEC 0) grouped by task."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepSample:
    """One environment step as a training sample.

    Attributes:
        prompt_ids: The chat prompt's token ids (history window included).
        response_ids: The generated token ids.
        old_logprobs: Per-token log-probs of ``response_ids`` under the sampling policy.
        response_text: ``response_ids`` decoded (what the env received).
        env_reward: The env's reward of the step, penalties excluded (the learner applies them).
        format_valid: The message followed the answer format (SPEC 7.3; the penalty's "invalid" is its negation).
        action_valid: The env accepted the command (admissible).
        uid: Task group id: the G trajectories of one task seed share it.
        traj_uid: Trajectory id, unique in the batch.
        step: Turn index within the trajectory (0-based).
        anchor: The raw observation the action was taken from (GiGPO anchor state).
        prompt_truncated: The prompt had to be shortened to fit ``max_prompt_length``.
        hallucination: The env flagged this step as a hallucination (``info["hallucination"]``).
        entropies: Per response token, the entropy of its sampling distribution (``None`` when the engine
            does not provide them, :attr:`GenerationOutput.entropies`).
        tool_call: The step ran a tool call (``info["tool_call"]``, e.g. a SearchQA search).
    """

    prompt_ids: tuple[int, ...]
    response_ids: tuple[int, ...]
    old_logprobs: tuple[float, ...]
    response_text: str
    env_reward: float
    format_valid: bool
    action_valid: bool
    uid: int
    traj_uid: int
    step: int
    anchor: str
    prompt_truncated: bool = False
    hallucination: bool = False
    entropies: tuple[float, ...] | None = None
    tool_call: bool = False


@dataclass(frozen=True)
class TrajectorySummary:
    """Episode-level facts of one trajectory of a rollout."""

    uid: int
    traj_uid: int
    seed: int
    won: bool
    episode_reward: float
    length: int
    task_type: str
    tool_calls: int = 0
    """Steps of the trajectory that ran a tool call."""


@dataclass(frozen=True)
class RolloutBatch:
    """All active step samples of a rollout, with their trajectories.

    Samples of a trajectory appear in time order (interleaved with other trajectories').
    """

    samples: tuple[StepSample, ...]
    trajectories: tuple[TrajectorySummary, ...]

    def __len__(self) -> int:
        return len(self.samples)

    def trajectory(self, traj_uid: int) -> TrajectorySummary:
        """The summary of trajectory ``traj_uid``."""
        return self._by_traj[traj_uid]

    @property
    def _by_traj(self) -> dict[int, TrajectorySummary]:
        return {t.traj_uid: t for t in self.trajectories}

    def sample_won(self) -> list[bool]:
        """Per sample: did its trajectory win."""
        index = self._by_traj
        return [index[s.traj_uid].won for s in self.samples]

    def sample_episode_rewards(self) -> list[float]:
        """Per sample: its trajectory's total env reward (R_i, SPEC 1.1)."""
        index = self._by_traj
        return [index[s.traj_uid].episode_reward for s in self.samples]

    @property
    def success_rate(self) -> float:
        """Share of trajectories won."""
        return sum(t.won for t in self.trajectories) / max(1, len(self.trajectories))
