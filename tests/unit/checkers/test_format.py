"""Message parsing against tool_schemas/alfworld.json (SPEC 7.3)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym_seal.checkers import contains_cjk, load_tool_schema, parse_message, parse_plain, parse_tagged
from agentgym_seal.errors import ConfigError

SCHEMA = load_tool_schema("alfworld")


def test_valid_tagged_message_is_lowercased_and_stripped() -> None:
    parsed = parse_tagged("<think>apple is there</think><action>  Go To CounterTop 1 </action>", SCHEMA)
    assert parsed.format_valid and parsed.error is None
    assert parsed.action == "go to countertop 1"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("go to countertop 1", "missing <action>...</action>"),
        ("<action>go to countertop 1", "missing <action>...</action>"),
        ("<think>x</think>go to countertop 1</action>", "missing <action>...</action>"),
        ("<action>go to countertop 1</action>", "missing <think>...</think>"),
        ("<think>x<action>look</action>", "missing <think>...</think>"),
        ("<think>去厨房</think><action>look</action>", "contains CJK characters"),
    ],
)
def test_invalid_formats(message: str, error: str) -> None:
    parsed = parse_tagged(message, SCHEMA)
    assert not parsed.format_valid
    assert parsed.error == error


def test_first_action_pair_wins_and_command_still_extracted_when_think_missing() -> None:
    parsed = parse_tagged("<think>a</think><action>look</action><action>inventory</action>", SCHEMA)
    assert parsed.action == "look"
    assert parse_tagged("<action>look</action>", SCHEMA).action == "look"


def test_legacy_put_is_canonicalised_to_move() -> None:
    parsed = parse_message("<think>t</think><action>put apple 1 in/on countertop 1</action>", SCHEMA, "tagged")
    assert parsed.action == "move apple 1 to countertop 1" and parsed.format_valid
    assert parse_plain("put mug 2 on shelf 1", SCHEMA).action == "move mug 2 to shelf 1"
    assert parse_plain("toggle desklamp 1", SCHEMA).action == "use desklamp 1"


@pytest.mark.parametrize(
    "command",
    [
        "go to shelf 1",
        "take apple 1 from countertop 1",
        "move apple 1 to fridge 1",
        "open drawer 3",
        "close drawer 3",
        "use desklamp 1",
        "heat egg 1 with microwave 1",
        "cool egg 1 with fridge 1",
        "clean egg 1 with sinkbasin 1",
        "examine mug 1",
        "look",
        "inventory",
    ],
)
def test_plain_grammar_accepts_every_alfworld_command(command: str) -> None:
    parsed = parse_plain(command, SCHEMA)
    assert parsed.format_valid, parsed.error
    assert SCHEMA.match_command(parsed.action) is not None


@pytest.mark.parametrize("command", ["", "fly to the moon", "search[red shoes]", "go to", "take apple from"])
def test_plain_rejects_non_commands(command: str) -> None:
    parsed = parse_plain(command, SCHEMA)
    assert not parsed.format_valid and parsed.error == "not a alfworld command"


def test_huge_message_is_cheap_and_safe() -> None:
    parsed = parse_tagged("<think>" + "x" * 1_000_000 + "</think><action>look</action>", SCHEMA)
    assert parsed.format_valid and parsed.action == "look"
    assert not parse_plain("go to " + "a" * 1_000_000, SCHEMA).format_valid


def test_contains_cjk_range() -> None:
    assert contains_cjk("一") and contains_cjk("abc鿿") and not contains_cjk("ÆØÅ → ok")


def test_unknown_schema_name() -> None:
    with pytest.raises(ConfigError, match="'alfworld'"):
        load_tool_schema("alfwrld")


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["tagged", "plain"]))
def test_parser_never_raises_and_returns_its_input(text: str, action_format: str) -> None:
    parsed = parse_message(text, SCHEMA, action_format)  # type: ignore[arg-type]
    assert parsed.text == text
    assert parsed.format_valid == (parsed.error is None)
    assert parsed.action == parsed.action.strip()
