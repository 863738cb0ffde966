"""WebShop's hallucination checker called directly: true positives of each rule and true negatives."""

import pytest

from agentgym_seal.environments.webshop.hallucination import contradiction, fabricated_facts, structured_facts

PAGE = "Instruction: [SEP] i need a navy shirt [SEP] B0A1 [SEP] Color: Navy [SEP] Size: Large [SEP] Price: $12.99"


@pytest.mark.parametrize(
    "message",
    [
        "Here are the product details:\n- color: purple",  # an intro and one fabricated fact
        "- color: navy\n- material: silk",  # two facts, one not on the page
        "Following are the details of this shirt:\n  Size: XXL\n  Color: navy",
        "I think this is it.\n* Material: cotton\n* Fit type: slim",  # two facts, no intro, none on the page
    ],
)
def test_fabricated_facts_are_flagged(message: str) -> None:
    assert fabricated_facts(message, PAGE)


@pytest.mark.parametrize(
    "message",
    [
        "Here are the product details:\n- color: navy\n- size: large",  # every fact is on the page
        "- color: purple",  # one fact and no details intro: a guess, not a listing
        "Product details: color not given",  # no structured fact at all
        "The product details:\n- price: $12.99",  # an intro and one real fact
        "Details of the item:\n- color: not specified\n- size: unknown",  # vague values are no claim
        "color:\n\n\npurple\nsize:\nxxl",  # a field and a value on different lines are no fact
        "\n" * 10_000,
    ],
)
def test_real_or_unstructured_facts_are_not_flagged(message: str) -> None:
    assert not fabricated_facts(message, PAGE)


@pytest.mark.parametrize(
    ("message", "observation", "action"),
    [
        ("The size does not match, but I will proceed.", "", ""),
        ("Color is not specified; click on buy now anyway.", "", ""),
        ("It does not match exactly.", "", "click[buy now]"),
        ("This is the only result.", "Total results: 7", ""),
        ("It does not match the color but matches the required size.", "", ""),
        ("The size does not match my needs, but it matches all the criteria.", "", ""),
        ("It doesn't match, so I'm going to proceed anyway.", "", ""),
        ("The size is not listed; I confirm the purchase.", "", ""),
        ("This is the only result, so I will buy it.", "Page 1 (Total results: 50)", "click[b0a1]"),
    ],
)
def test_contradictions_are_flagged(message: str, observation: str, action: str) -> None:
    assert contradiction(message, observation, action)


@pytest.mark.parametrize(
    ("message", "observation", "action"),
    [
        ("This does not match; I will not confirm.", "", ""),
        ("The color does not match, so I won't proceed and will not click buy now.", "", "click[back to search]"),
        ("It does not match. Do not buy now.", "", "click[< prev]"),
        ("This is the only result.", "Total results: 1", ""),
        ("It matches the required size, so I proceed.", "", "click[buy now]"),
        ("It does not match; I cannot proceed.", "", "click[< prev]"),
        ("The color doesn’t match, so I won’t confirm.", "", "click[< prev]"),  # typographic apostrophes
        ("The size is not specified, so I will check the features to confirm.", "", "click[features]"),
        ("Color not given. Before I proceed I read the description.", "", "click[description]"),
        ("It does not match the criteria, so I go back.", "", "click[< prev]"),
        ("It does not match.", "", "search[buy now shoes]"),  # the words "buy now" in a query are no purchase
        ("No result here is a match, so I search again instead of buy now.", "", "search[shoes]"),
    ],
)
def test_negated_or_consistent_messages_are_not_contradictions(message: str, observation: str, action: str) -> None:
    assert not contradiction(message, observation, action)


def test_facts_are_read_line_by_line() -> None:
    text = "- color: navy\n  size: large\r\nmaterial - cotton\nthe color: is on\n\n\nnot a fact"
    assert structured_facts(text) == [("color", "navy"), ("size", "large"), ("material", "cotton")]
