from agentgym_seal.family import FAMILIES
from agentgym_seal.prompting import PromptTemplate, build_prompt

TEMPLATE = PromptTemplate(
    first_step="T0 {task} | {observation} | [{admissible_actions}] | {answer_format}",
    later_step="T1 {task} | {step} {next_step} {history_length} | {history} | {observation} | [{admissible_actions}]",
    answer_format="FMT",
    history_entry="({index}:{observation}->{action})",
    admissible_entry="'{action}'",
    max_history_chars=60,
)


def test_first_step_has_no_history() -> None:
    text = build_prompt(TEMPLATE, task="t", observation="o", admissible_actions=["a", "b"])
    assert text == "T0 t | o | ['a', 'b'] | FMT"


def test_history_window_shows_last_k_pairs_with_their_step_numbers() -> None:
    history = [("o1", "a1"), ("o2", "a2"), ("o3", "a3")]
    text = build_prompt(
        TEMPLATE, task="t", observation="o4", admissible_actions=["x"], history=history, history_length=2
    )
    assert text == "T1 t | 3 4 2 | (2:o2->a2)\n(3:o3->a3) | o4 | ['x']"
    assert build_prompt(
        TEMPLATE, task="t", observation="o", admissible_actions=[], history=history, history_length=0
    ).startswith("T0")


def test_too_long_history_falls_back_to_the_first_step_template() -> None:
    history = [("x" * 80, "a")]
    assert build_prompt(TEMPLATE, task="t", observation="o", admissible_actions=[], history=history).startswith("T0")


def test_alfworld_template_is_registered_lazily() -> None:
    template = FAMILIES.get("alfworld").prompt_template
    text = build_prompt(template, task="put a mug in shelf", observation="obs", admissible_actions=["look"])
    assert "<think>" in text and "<action>" in text and "'look'" in text
