"""Parse raw model messages into :class:`~agentgym_seal.types.ParsedAction` (SPEC 7.3).

The grammar and the message format of each environment live in ``tool_schemas/<name>.json``; this
module only interprets them. Parsing is pure: it never raises on any string, and runs in linear time
(plain ``str.find``, no backtracking regex over the whole message), so a 1 MB message is cheap.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from agentgym_seal.errors import ConfigError
from agentgym_seal.types import ParsedAction

#: How a message is read: ``"tagged"`` = a model message with ``<think>``/``<action>`` tags,
#: ``"plain"`` = the bare command.
ActionFormat = Literal["tagged", "plain"]
ACTION_FORMATS: tuple[ActionFormat, ...] = ("tagged", "plain")

#: Longest message (characters) an env reads: a longer one is a format-invalid step that is read no further, so
#: no step costs more than a bounded scan. A 4,096-token response is ~16k characters; the env option
#: ``max_message_chars`` raises it.
MAX_MESSAGE_CHARS = 32_768

_CJK = re.compile("[\u4e00-\u9fff]")
#: Commands longer than this cannot match any grammar rule; checked before any regex runs.
_MAX_COMMAND_CHARS = 512


def oversized(message: str, limit: int = MAX_MESSAGE_CHARS) -> str | None:
    """The error of a message longer than ``limit`` characters (what the step reports), else ``None``."""
    if len(message) <= limit:
        return None
    return f"the message has {len(message):,} characters; at most {limit:,} are read"


def check_message_limit(limit: object, where: str) -> None:
    """Raises :class:`ConfigError` unless ``limit`` (an env's ``max_message_chars``) is an int >= 1."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError.bad_option("max_message_chars", limit, ["an int >= 1"], where=where)


def contains_cjk(text: str) -> bool:
    """True if ``text`` has a CJK unified ideograph (U+4E00..U+9FFF), which SPEC 7.3 rejects."""
    return _CJK.search(text) is not None


@dataclass(frozen=True)
class CommandRule:
    """One command of an env's grammar: a name and a full-match regex."""

    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class AliasRule:
    """A legacy spelling of a command and the canonical template it rewrites to."""

    pattern: re.Pattern[str]
    template: str


@dataclass(frozen=True)
class ToolSchema:
    """An environment's action grammar and message format, loaded from ``tool_schemas/<name>.json``.

    Attributes:
        name: The schema file's stem (``"alfworld"``).
        commands: The grammar's command rules.
        aliases: Rewrites of legacy spellings to canonical commands.
        required_tags: Tags that must appear as ``<t>`` and ``</t>`` for a tagged message to be valid.
        action_tag: The tag holding the command.
        reject_cjk: Whether CJK characters make the format invalid.
        no_op_feedback: The observation for a command the simulator does not accept.
    """

    name: str
    commands: tuple[CommandRule, ...]
    aliases: tuple[AliasRule, ...]
    required_tags: tuple[str, ...]
    action_tag: str
    reject_cjk: bool
    no_op_feedback: str

    def match_command(self, command: str) -> str | None:
        """Returns the name of the grammar rule ``command`` matches, or ``None``."""
        if len(command) > _MAX_COMMAND_CHARS:
            return None
        for rule in self.commands:
            if rule.pattern.fullmatch(command):
                return rule.name
        return None

    def canonicalize(self, command: str) -> str:
        """Rewrites a legacy spelling (e.g. ``put apple 1 in fridge 1``) to the canonical command."""
        if len(command) > _MAX_COMMAND_CHARS:
            return command
        for alias in self.aliases:
            m = alias.pattern.fullmatch(command)
            if m:
                return alias.template.format(**m.groupdict())
        return command


@cache
def load_tool_schema(name: str) -> ToolSchema:
    """Loads ``tool_schemas/<name>.json`` from the installed package (cached).

    Raises:
        ConfigError: If no such schema is shipped.
    """
    root = resources.files("agentgym_seal.tool_schemas")
    available = sorted(p.name.removesuffix(".json") for p in root.iterdir() if p.name.endswith(".json"))
    if name not in available:
        raise ConfigError.bad_option("tool schema", name, available)
    raw = json.loads((root / f"{name}.json").read_text(encoding="utf-8"))
    fmt = raw["x-message-format"]
    return ToolSchema(
        name=name,
        commands=tuple(CommandRule(r["title"], re.compile(r["pattern"])) for r in raw["anyOf"]),
        aliases=tuple(AliasRule(re.compile(a["pattern"]), a["to"]) for a in raw.get("x-aliases", [])),
        required_tags=tuple(fmt["required_tags"]),
        action_tag=fmt["action_tag"],
        reject_cjk=bool(fmt["reject_cjk"]),
        no_op_feedback=raw.get("x-no-op-feedback", ""),
    )


def _normalize(command: str) -> str:
    return " ".join(command.lower().split())


def parse_tagged(text: str, schema: ToolSchema) -> ParsedAction:
    """Parses a model message ``<think>...</think><action>...</action>`` (SPEC 7.3).

    The command is the lower-cased text between the first ``<action>`` and the first ``</action>``
    after it, whitespace-collapsed. The format is valid iff that pair exists, every other required tag
    appears as an opening and a closing tag, and (if the schema says so) the message has no CJK.
    Admissibility is not judged here: the env reports it as ``action_valid``.
    """
    lowered = text.lower()
    open_tag, close_tag = f"<{schema.action_tag}>", f"</{schema.action_tag}>"
    start = lowered.find(open_tag)
    end = lowered.find(close_tag, start + len(open_tag)) if start >= 0 else -1
    if start < 0 or end < 0:
        return ParsedAction(text, "", False, f"missing {open_tag}...{close_tag}")
    action = _normalize(lowered[start + len(open_tag) : end])
    for tag in schema.required_tags:
        if tag != schema.action_tag and (f"<{tag}>" not in lowered or f"</{tag}>" not in lowered):
            return ParsedAction(text, action, False, f"missing <{tag}>...</{tag}>")
    if schema.reject_cjk and contains_cjk(text):
        return ParsedAction(text, action, False, "contains CJK characters")
    return ParsedAction(text, action, True, None)


def parse_plain(text: str, schema: ToolSchema) -> ParsedAction:
    """Parses a bare command (``"go to shelf 1"``): valid iff it matches the schema's grammar."""
    action = schema.canonicalize(_normalize(text))
    if schema.reject_cjk and contains_cjk(text):
        return ParsedAction(text, action, False, "contains CJK characters")
    if schema.match_command(action) is None:
        return ParsedAction(text, action, False, f"not a {schema.name} command")
    return ParsedAction(text, action, True, None)


def parse_message(text: str, schema: ToolSchema, action_format: ActionFormat) -> ParsedAction:
    """Parses ``text`` as ``action_format`` and returns the canonical command."""
    if action_format == "plain":
        return parse_plain(text, schema)
    parsed = parse_tagged(text, schema)
    canonical = schema.canonicalize(parsed.action)
    if canonical == parsed.action:
        return parsed
    return ParsedAction(parsed.text, canonical, parsed.format_valid, parsed.error)
