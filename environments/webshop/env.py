"""``WebShopText-v0``: WebShop's shopping tasks in text mode, on our catalog or the real data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, SupportsFloat

import gymnasium

from agentgym_seal.checkers import load_tool_schema, oversized, parse_message
from agentgym_seal.checkers.format import ACTION_FORMATS, MAX_MESSAGE_CHARS, ActionFormat, check_message_limit
from agentgym_seal.errors import AgentGymError, ConfigError
from agentgym_seal.pickling import picklable_state, restore_state
from agentgym_seal.reset_options import read_reset_options
from agentgym_seal.spaces import TextSpace

from .engine import Location, Page, Shop, shop_text
from .expert import expert_plan
from .goals import SPLITS, Goal, Split, split_indices
from .hallucination import contradiction, fabricated_facts
from .info import WebShopInfo
from .training import FAMILY
from .world import World, WorldSpec, build_world

#: The hallucination flags of a step that makes no claim (a reset).
NO_FLAGS = {"hallucination": False, "hallucination_fabricated": False, "hallucination_contradiction": False,
            "click_not_on_page": False}  # fmt: skip

ObservationMode = Literal["text", "text_rich", "html", "url"]
OBSERVATION_MODES: tuple[ObservationMode, ...] = ("text", "text_rich", "html", "url")
REWARD_MODES = ("won", "score")
FORMAT_HINT = "Answer as <think>your reasoning</think><action>one action</action>."


@dataclass(frozen=True)
class WebShopConfig:
    """Keyword options of ``WebShopText-v0`` (``gymnasium.make("WebShopText-v0", **options)``).

    Attributes:
        num_products: Products to generate (or real items to keep, with ``data_dir``; ``None`` = all).
        catalog_seed: Seed of the generated catalog, prices and goals.
        data_dir: Folder with WebShop's ``items_shuffle*.json`` (+ ``items_ins_v2*.json``,
            ``items_human_ins.json``); ``None`` generates the catalog.
        human_goals: With ``data_dir``: use the human-written instructions.
        goals_per_product: Synthetic goals (option combinations) per product; ``None`` = all.
        split: ``train`` (goals 500..end), ``eval`` (goals 0..499) or ``all``.
        search_backend: ``bm25s`` (default) or ``lucene`` (needs the ``webshop-lucene`` extra).
        observation_mode: ``text`` (`` [SEP] ``-joined), ``text_rich``, ``html`` or ``url``.
        action_format: ``tagged`` reads ``<think>..</think><action>..</action>``; ``plain`` bare actions.
        reward_mode: ``won`` gives ``won_reward`` for a score of 1.0 (the paper's); ``score`` the raw score.
        max_message_chars: A longer message is a format-invalid step, read no further.
        won_reward: Reward of a won purchase in ``won`` mode.
        invalid_format_penalty: Subtracted on a step whose message format is invalid (SPEC 7.3).
        show_attrs: Item pages offer the ``Attributes`` sub-page.
        cache_dir: Where search indexes are cached (``""`` = never).
    """

    num_products: int | None = 1000
    catalog_seed: int = 0
    data_dir: str | None = None
    human_goals: bool = False
    goals_per_product: int | None = 1
    split: Split = "train"
    search_backend: str = "bm25s"
    observation_mode: ObservationMode = "text"
    action_format: ActionFormat = "tagged"
    reward_mode: Literal["won", "score"] = "won"
    max_message_chars: int = MAX_MESSAGE_CHARS
    won_reward: float = 10.0
    invalid_format_penalty: float = FAMILY.invalid_penalty
    show_attrs: bool = False
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        where = "WebShopText-v0"
        checks: list[tuple[str, object, tuple[object, ...]]] = [
            ("split", self.split, SPLITS),
            ("observation_mode", self.observation_mode, OBSERVATION_MODES),
            ("action_format", self.action_format, ACTION_FORMATS),
            ("reward_mode", self.reward_mode, REWARD_MODES),
        ]
        for name, value, allowed in checks:
            if value not in allowed:
                raise ConfigError.bad_option(name, value, allowed, where=where)
        check_message_limit(self.max_message_chars, where)
        if self.num_products is not None and (not isinstance(self.num_products, int) or self.num_products < 1):
            raise ConfigError.bad_option("num_products", self.num_products, ["an int >= 1"], where=where)

    def world_spec(self) -> WorldSpec:
        """The data part of these options."""
        names = {f.name for f in fields(WorldSpec)}
        return WorldSpec(**{k: v for k, v in asdict(self).items() if k in names})


class WebShopTextEnv(gymnasium.Env[str, str]):
    """WebShop (Yao et al., arXiv 2207.01206) in text mode: find and buy what an instruction asks for.

    ## Description
    A shopper gets an instruction ("i need gluten free snack bars with flavor name: chocolate, and
    price lower than 40.00 dollars") and uses WebShop's pages: search, results (10 per page, top 50),
    item (options), item sub-pages (description, features, reviews) and the purchase. The catalog is
    generated (five categories, deterministic per seed) or loaded from WebShop's data files.

    ## Action Space
    ``TextSpace``: ``search[query]`` or ``click[x]`` (x = ``back to search``, ``next >``, ``< prev``, a
    product ASIN, an option value, ``description``, ``features``, ``reviews``, ``buy now``). With
    ``action_format="tagged"`` the action is read from ``<action>...</action>`` (``<think>`` required).
    A click on something not on the page, or an empty search, does nothing (``action_valid=False``).
    Lone surrogates and NUL in a message become U+FFFD before it is read; the step runs, with an invalid format.

    ## Observation Space
    ``TextSpace``: the page as WebShop's ``text`` mode shows it, e.g. ``"WebShop [SEP] Instruction: [SEP]
    i need ... [SEP] Search"`` (or ``text_rich``, ``html``, ``url``).

    ## Rewards
    On ``buy now``: ``won_reward * [score == 1]`` (``reward_mode="won"``) or the score (``"score"``), the
    SPEC 7.5 task score. ``-invalid_format_penalty`` on a step with an invalid message format.

    ## Episode End
    Terminates on ``buy now``; truncation comes from ``TimeLimit`` (default 15 steps).

    ## Info
    ``available_actions`` (``has_search_bar``, ``clickables``), ``admissible_actions`` (the same as
    ``search[<your query>]`` / ``click[...]`` strings), ``task_score``, ``won``, ``format_valid``,
    ``action_valid``, ``anchor`` (raw page text), ``action``, ``goal`` (instruction), ``task_type``
    (category), ``goal_index``, ``url``, ``hallucination`` (SPEC 6.2 rule a or b), ``hallucination_fabricated``,
    ``hallucination_contradiction`` and ``click_not_on_page``.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012 - Gymnasium declares it so

    def __init__(self, render_mode: str | None = None, **options: Any) -> None:
        known = {f.name for f in fields(WebShopConfig)}
        for name in options:
            if name not in known:
                raise ConfigError.bad_option("keyword", name, sorted(known), where="WebShopText-v0")
        if render_mode not in (None, "ansi"):
            raise ConfigError.bad_option("render_mode", render_mode, [None, "ansi"], where="WebShopText-v0")
        self.config = WebShopConfig(**options)
        self.render_mode = render_mode
        self.observation_space = TextSpace()
        self.action_space = TextSpace()
        self._schema = load_tool_schema("webshop")
        self._world: World = build_world(self.config.world_spec())
        self._indices = split_indices(len(self._world.goals), self.config.split)
        self._goal_index = -1
        self._location = Location("search")
        self._page: Page | None = None
        self._actions: list[str] = []
        self._visited: set[str] = set()
        self._session = "fixed_0"

    # -- Gymnasium API -------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Starts a goal drawn from the split with ``self.np_random`` (``options={"goal_index": i}`` picks one)."""
        picked = read_reset_options(options, where="WebShopText-v0", indices={"goal_index": len(self._world.goals)})
        super().reset(seed=seed)
        if "goal_index" in picked:
            self._goal_index = picked["goal_index"]
        else:
            self._goal_index = int(self._indices[int(self.np_random.integers(len(self._indices)))])
        self._actions, self._visited = [], set()
        self._start_episode()
        info = self._info("", True, True, 0.0, False, NO_FLAGS)
        return self._observe(), info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Plays one message; never raises on any input (bad input is an invalid step)."""
        if self._page is None:
            raise AgentGymError("WebShopText-v0: step() before reset(). Fix: call env.reset(seed=...) first.")
        message, format_valid, command, error = self._read_message(action)
        observation = self._anchor_text()
        executed, click_off_page, score = self._execute(command)
        flags = self._hallucination(message, observation, command, click_off_page)
        won = score is not None and score == 1.0
        score = 0.0 if score is None else score
        self._actions.append(command)
        terminated = self._location.kind == "done"
        reward = (self.config.won_reward * float(won)) if self.config.reward_mode == "won" else score
        if not format_valid:
            reward -= self.config.invalid_format_penalty
        obs = self._observe()
        if not format_valid:
            hint = FORMAT_HINT if self.config.action_format == "tagged" else "Send one search[...] or click[...]."
            obs = f"{obs} (Invalid format: {error}. {hint})"
        info = self._info(command, format_valid, executed, score, won, flags)
        return obs, reward, terminated, False, info

    def render(self) -> str | None:
        """Returns the current page text in ``ansi`` mode."""
        return self._observe() if self.render_mode == "ansi" and self._page is not None else None

    def close(self) -> None:
        """Nothing to release (the world is shared and cached); safe to call twice."""
        self._page = None

    # -- WebShop extras ------------------------------------------------------------------------------
    @property
    def shop(self) -> Shop:
        """The shop (catalog, index, pages)."""
        return self._world.shop

    @property
    def goals(self) -> tuple[Goal, ...]:
        """All goals, in split order."""
        return self._world.goals

    @property
    def goal(self) -> Goal:
        """The current goal."""
        return self._world.goals[max(self._goal_index, 0)]

    @property
    def location(self) -> Location:
        """Where the shopper is."""
        return self._location

    def get_available_actions(self) -> dict[str, Any]:
        """WebShop's ``get_available_actions()`` of the current page."""
        return {} if self._page is None else self._page.available_actions()

    def expert_plan(self) -> list[str]:
        """The rule-based expert's remaining actions (``[]`` once bought)."""
        if self._page is None:
            raise AgentGymError("WebShopText-v0: expert_plan() before reset(). Fix: call env.reset() first.")
        return expert_plan(self.shop, self.goal, self._location)

    def expert_action(self) -> str | None:
        """The expert's next action, or ``None`` once bought."""
        plan = self.expert_plan()
        return plan[0] if plan else None

    # -- internals -----------------------------------------------------------------------------------
    def _read_message(self, action: object) -> tuple[str, bool, str, str | None]:
        """``(message, format valid, command, error)`` of a step's input, cleaned by :func:`~.engine.shop_text`.

        A message that needed cleaning still runs, but its format is invalid and the error says why.
        """
        if not isinstance(action, str):
            return "", False, "", "the action must be a str"
        too_long = oversized(action, self.config.max_message_chars)
        if too_long is not None:
            return "", False, "", too_long
        message, replaced = shop_text(action)
        parsed = parse_message(message, self._schema, self.config.action_format)
        if not replaced:
            return message, parsed.format_valid, parsed.action, parsed.error
        error = f"the message had {replaced} lone surrogate or NUL character(s), replaced by U+FFFD"
        return message, False, parsed.action, error if parsed.error is None else f"{error}; {parsed.error}"

    def _parse_command(self, command: str) -> tuple[str, str] | None:
        """``(rule, argument)`` of a grammatical command, else ``None``."""
        if len(command) > 1024:
            return None
        for rule in self._schema.commands:
            m = rule.pattern.fullmatch(command)
            if m is not None:
                return rule.name, m.group("arg")
        return None

    def _execute(self, command: str) -> tuple[bool, bool, float | None]:
        """Runs ``command``: ``(executed, click on something not on the page, purchase score or None)``.

        The rules are the shop's, for the text and the browser env alike: a search works from every page but
        ``done`` and needs a query; a click needs a clickable of the page. How an action is carried out is
        :meth:`_run_search` / :meth:`_run_click` (the browser env types and clicks in Chromium).
        """
        parsed = self._parse_command(command)
        if parsed is None:
            return False, False, None
        name, arg = parsed
        if name == "search":
            target = None if self._location.kind == "done" else self.shop.after_search(arg)
            if target is None:
                return False, False, None
            self._run_search(arg, target)
            return True, False, None
        if not self._clickable(arg):
            return False, True, None
        return True, False, self._run_click(arg)

    def _clickable(self, key: str) -> bool:
        """Whether ``click[key]`` names something the page lets one click."""
        assert self._page is not None
        clickable = self._page.clickables.get(key)
        return clickable is not None and clickable.target is not None

    def _run_search(self, query: str, target: Location) -> None:
        """Carries out a search that :meth:`_execute` allowed (``target``: the results page it opens)."""
        self._go(target)

    def _run_click(self, key: str) -> float | None:
        """Carries out ``click[key]``; returns the purchase's score when it bought the item."""
        assert self._page is not None
        target = self._page.clickables[key].target
        assert target is not None
        self._go(target)
        return None if self._page.score is None else self._page.score.score

    def _start_episode(self) -> None:
        """Opens the search page of the chosen goal."""
        self._session = f"fixed_{self._goal_index}"
        self._go(Location("search"))

    def _go(self, target: Location) -> None:
        self._location = target
        self._page = self.shop.page(target, self.goal)
        if target.kind == "item":
            self._visited.add(target.asin)

    def _anchor_text(self) -> str:
        """The raw page text the next action is taken from."""
        assert self._page is not None
        return self._page.text

    def _available(self) -> dict[str, Any]:
        assert self._page is not None
        return self._page.available_actions()

    def _hallucination(self, message: str, observation: str, command: str, click_off_page: bool) -> dict[str, bool]:
        evidence = observation + " " + " ".join(self._actions)
        fabricated = fabricated_facts(message, evidence)
        contradictory = contradiction(message, observation, command)
        return {
            "hallucination": fabricated or contradictory,
            "hallucination_fabricated": fabricated,
            "hallucination_contradiction": contradictory,
            "click_not_on_page": click_off_page,
        }

    def _observe(self) -> str:
        assert self._page is not None
        mode = self.config.observation_mode
        if mode == "text":
            return self._page.text
        if mode == "text_rich":
            return _rich_text(self._page, self._visited)
        from .html import location_url, render_page

        if mode == "url":
            return location_url(self._session, self._location)
        return render_page(self._page, self._session)

    def _info(
        self, command: str, format_valid: bool, action_valid: bool, score: float, won: bool, flags: dict[str, bool]
    ) -> dict[str, Any]:
        available = self._available()
        admissible = ["search[<your query>]"] if available["has_search_bar"] else []
        admissible += [f"click[{key}]" for key in available["clickables"] if key != "search"]
        from .html import location_url

        info: WebShopInfo = {
            "available_actions": available,
            "admissible_actions": admissible,
            "task_score": score,
            "won": won,
            "format_valid": format_valid,
            "action_valid": action_valid,
            "anchor": self._anchor_text(),
            "action": command,
            "goal": self.goal["instruction_text"],
            "task_type": self.goal["category"],
            "goal_index": self._goal_index,
            "url": location_url(self._session, self._location),
            "hallucination": flags["hallucination"],
            "hallucination_fabricated": flags["hallucination_fabricated"],
            "hallucination_contradiction": flags["hallucination_contradiction"],
            "click_not_on_page": flags["click_not_on_page"],
        }
        return dict(info)

    def __getstate__(self) -> dict[str, Any]:
        return picklable_state(self, live=("_world", "_page"))

    def __setstate__(self, state: dict[str, Any]) -> None:
        restore_state(self, state)
        self._world = build_world(self.config.world_spec())
        self._page = None if self._goal_index < 0 else self.shop.page(self._location, self.goal)


def _rich_text(page: Page, visited: set[str]) -> str:
    """WebShop's ``text_rich`` mode: buttons and options marked, chosen/visited ones as clicked."""
    by_text = {c.text: c for c in page.clickables.values()}
    chosen = set(page.location.option_dict.values())
    lines: list[str] = []
    for segment in page.segments:
        c = by_text.get(segment)
        if c is None:
            lines.append(segment)
        elif c.kind == "option":
            clicked = segment in chosen
            mark = "clicked button" if clicked else "button"
            lines.append(f"  [{mark}] {segment} [{mark}_]")
            if clicked:
                lines.insert(0, f"You have clicked {segment}.")
        elif c.kind == "link":
            mark = "clicked button" if segment in visited else "button"
            lines.append(f"\n[{mark}] {segment} [{mark}_]")
        else:
            lines.append(f"[button] {segment} [button_]")
    return "\n".join(lines) + "\n"
