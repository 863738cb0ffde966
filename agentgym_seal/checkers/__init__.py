"""Checks shared by every environment: message format against ``tool_schemas`` (SPEC 7.3)."""

from agentgym_seal.checkers.format import (
    MAX_MESSAGE_CHARS,
    ToolSchema,
    contains_cjk,
    load_tool_schema,
    oversized,
    parse_message,
    parse_plain,
    parse_tagged,
)

__all__ = [
    "MAX_MESSAGE_CHARS", "ToolSchema", "contains_cjk", "load_tool_schema", "oversized", "parse_message", "parse_plain",
    "parse_tagged",
]  # fmt: skip
