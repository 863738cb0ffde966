"""Prompt text for ALFWorld agents (SPEC 7.1, in our own words).

The rollout's prompt builder fills these templates; they live beside the env because they describe
its task and action format.
"""

from __future__ import annotations

from agentgym_seal.prompting import PromptTemplate

ALFWORLD_PROMPTS = PromptTemplate(
    first_step=(
        "You are an agent solving household tasks in the ALFRED text world.\n"
        "Observation: {observation}\n"
        "Admissible actions: [{admissible_actions}].\n"
        "{answer_format}"
    ),
    later_step=(
        "You are an agent solving household tasks in the ALFRED text world.\n"
        "Your task is to: {task}\n"
        "You have taken {step} step(s). Your last {history_length} observation(s) and action(s):\n"
        "{history}\n"
        "Step {next_step} observation: {observation}\n"
        "Admissible actions: [{admissible_actions}].\n"
        "{answer_format}"
    ),
    answer_format=(
        "Think briefly inside <think> </think>, then give exactly one admissible action inside <action> </action>."
    ),
    history_entry="[Observation {index}: '{observation}', Action {index}: '{action}']",
    admissible_entry="'{action}'",
    admissible_separator=", ",
)
