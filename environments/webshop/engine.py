"""The shop itself: where a shopper is, what that page shows, and where each click leads.

:class:`Location` is where a shopper is, :class:`Page` what it shows. The text env, the HTML
renderer, the Flask site and the browser env all use this one engine; nothing else decides a transition.

Pages and transitions follow WebShop's ``SimServer.receive`` and templates:

- ``search``: the instruction and a search box; ``search[q]`` leads to results page 1.
- ``results``: ``Back to Search``, ``< Prev`` (after page 1), ``Next >``, then for each of 10 products
  its ASIN (a link), title and price; ``click[<asin>]`` opens the item with no options chosen.
- ``item``: option groups (each value clickable), title, price, rating, ``Description``,
  ``Features``, ``Reviews`` (and ``Attributes`` when shown), ``Buy Now``; ``< Prev`` returns to the
  results page the item was found on.
- ``sub``: one item sub-page; ``< Prev`` returns to the item with its options.
- ``done``: the purchase and its score.

Clickables are keyed as the original's ``get_available_actions``: button and link texts lowercased,
option values as they are. A search works from every page but ``done`` (as in WebShop's text env).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from .catalog import Catalog, Product
from .goals import Goal
from .reward import ScoreBreakdown, score_breakdown
from .search import PRODUCT_WINDOW, SEARCH_RETURN_N, SearchEngine

PageKind = Literal["search", "results", "item", "sub", "done"]
SUB_PAGES: tuple[str, ...] = ("Description", "Features", "Reviews", "Attributes")
BACK_TO_SEARCH, NEXT_PAGE, PREV_PAGE, BUY_NOW, SEARCH_BUTTON = "Back to Search", "Next >", "< Prev", "Buy Now", "Search"
#: Longest accepted search query (characters); longer ones are invalid actions (and 400 on the site).
MAX_QUERY_CHARS = 500
#: Highest results page number a shopper can reach.
MAX_PAGE = 1000
SEP = " [SEP] "
#: Code points no page, URL or browser can carry: lone surrogates (UTF-8 cannot encode them) and NUL.
_NOT_TEXT = re.compile("[\ud800-\udfff\x00]")


@dataclass(frozen=True)
class Location:
    """Where a shopper is: everything a page URL carries.

    Attributes:
        kind: The page kind.
        keywords: The search keywords (lowercased, ``/`` read as a space).
        page: The results page number (1-based).
        asin: The product shown (item, sub and done pages).
        options: Chosen options as ``(name, value)`` pairs, in the order first chosen.
        sub_page: One of :data:`SUB_PAGES` on a sub page.
    """

    kind: PageKind
    keywords: tuple[str, ...] = ()
    page: int = 1
    asin: str = ""
    options: tuple[tuple[str, str], ...] = ()
    sub_page: str = ""

    @property
    def option_dict(self) -> dict[str, str]:
        """The chosen options as a dict."""
        return dict(self.options)

    def with_option(self, name: str, value: str) -> Location:
        """This item location with option ``name`` set to ``value`` (kept in its first-chosen place)."""
        chosen = self.option_dict
        chosen[name] = value
        return replace(self, options=tuple(chosen.items()))

    def options_json(self) -> str:
        """The chosen options as compact JSON (what URLs and the done page show)."""
        return json.dumps(self.option_dict, separators=(",", ":"), ensure_ascii=False)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for logs and tests)."""
        return {
            "kind": self.kind,
            "keywords": list(self.keywords),
            "page": self.page,
            "asin": self.asin,
            "options": self.option_dict,
            "sub_page": self.sub_page,
        }


def keywords_of(query: str) -> tuple[str, ...]:
    """The keywords of a search query: lowercased words, ``/`` read as a space (the index ignores it)."""
    return tuple(query.lower().replace("/", " ").split())


def shop_text(text: str) -> tuple[str, int]:
    """``text`` with lone surrogates and NUL replaced by U+FFFD, and how many were replaced.

    The one text rule at the shop's boundary: the envs clean every message with it before parsing, and the
    site refuses a URL or form that breaks it.
    """
    return _NOT_TEXT.subn("\ufffd", text)


@dataclass(frozen=True)
class Clickable:
    """One clickable element of a page.

    Attributes:
        key: The name ``click[...]`` takes (lowercased text of buttons and links, option values as is).
        text: The text shown.
        kind: ``button``, ``link`` (a product ASIN) or ``option`` (a radio button).
        target: Where clicking it leads (``None`` for the search button, which only submits the box).
        group: The option group of an ``option``.
    """

    key: str
    text: str
    kind: Literal["button", "link", "option"]
    target: Location | None
    group: str = ""


@dataclass(frozen=True)
class Page:
    """A rendered page, independent of HTML.

    Attributes:
        location: Where it is.
        instruction: The goal's instruction text.
        segments: Visible text pieces in document order (text mode joins them with `` [SEP] ``).
        clickables: Clickables by key, in document order (buttons, then links, then options).
        has_search_bar: Whether the page has the search box.
        products: The products listed (results page).
        product: The product shown (item, sub and done pages).
        total: Results of the search (results page).
        score: The purchase's score (done page).
    """

    location: Location
    instruction: str
    segments: tuple[str, ...]
    clickables: Mapping[str, Clickable]
    has_search_bar: bool
    products: tuple[Product, ...] = ()
    product: Product | None = None
    total: int = 0
    score: ScoreBreakdown | None = field(default=None)

    @property
    def text(self) -> str:
        """WebShop's ``text`` observation: the segments joined with `` [SEP] ``."""
        return SEP.join(self.segments)

    def available_actions(self) -> dict[str, Any]:
        """WebShop's ``get_available_actions()``: ``has_search_bar`` and the clickable keys."""
        return {"has_search_bar": self.has_search_bar, "clickables": list(self.clickables)}


def _clean(text: object) -> str:
    return " ".join(str(text).split())


class Shop:
    """The shop over one catalog and search index.

    Args:
        catalog: The products.
        engine: The search index of ``catalog``.
        show_attrs: Show the ``Attributes`` sub-page button on item pages (WebShop's ``--attrs``).
    """

    def __init__(self, catalog: Catalog, engine: SearchEngine, *, show_attrs: bool = False) -> None:
        self.catalog = catalog
        self.engine = engine
        self.show_attrs = show_attrs
        self._search = lru_cache(maxsize=4096)(self._search_uncached)

    # -- search -----------------------------------------------------------------------------------
    def _search_uncached(self, keywords: tuple[str, ...]) -> tuple[str, ...]:
        hits = self.engine.search(" ".join(keywords), k=SEARCH_RETURN_N)
        return tuple(self.catalog.products[i]["asin"] for i in hits)

    def search(self, keywords: tuple[str, ...]) -> tuple[str, ...]:
        """ASINs of the top results for ``keywords`` (memoised)."""
        return self._search(tuple(keywords))

    # -- locations --------------------------------------------------------------------------------
    def is_valid(self, location: Location) -> bool:
        """Whether ``location`` can be shown (known product, options it offers, page in range)."""
        if location.kind == "search":
            return True
        if not location.keywords and location.kind in ("results", "item", "sub"):
            return False
        if not 1 <= location.page <= MAX_PAGE:
            return False
        if location.kind == "results":
            return True
        product = self.catalog.by_asin.get(location.asin)
        if product is None:
            return False
        offered = product["options"]
        if any(value not in offered.get(name, ()) for name, value in location.options):
            return False
        return location.kind != "sub" or location.sub_page in self.sub_pages()

    def sub_pages(self) -> tuple[str, ...]:
        """The sub-page buttons item pages show."""
        return SUB_PAGES if self.show_attrs else SUB_PAGES[:3]

    def after_search(self, query: str) -> Location | None:
        """Where ``search[query]`` leads (``None`` if the query is empty or too long)."""
        keywords = keywords_of(query)
        if not keywords or len(query) > MAX_QUERY_CHARS:
            return None
        return Location("results", keywords=keywords, page=1)

    # -- pages ------------------------------------------------------------------------------------
    def page(self, location: Location, goal: Goal) -> Page:
        """Renders ``location`` for a shopper with ``goal`` (``location`` must be :meth:`is_valid`)."""
        build: Callable[[Location, Goal], Page] = getattr(self, f"_page_{location.kind}")
        return build(location, goal)

    @staticmethod
    def _header(goal: Goal) -> list[str]:
        return ["Instruction:", _clean(goal["instruction_text"])]

    @staticmethod
    def _button(key_text: str, target: Location | None) -> Clickable:
        return Clickable(key=key_text.lower(), text=key_text, kind="button", target=target)

    def _page_search(self, location: Location, goal: Goal) -> Page:
        segments = ["WebShop", *self._header(goal), SEARCH_BUTTON]
        clickables = {"search": self._button(SEARCH_BUTTON, None)}
        return Page(location, goal["instruction_text"], tuple(segments), clickables, has_search_bar=True)

    def _page_results(self, location: Location, goal: Goal) -> Page:
        results = self.search(location.keywords)
        start = (location.page - 1) * PRODUCT_WINDOW
        products = tuple(self.catalog.by_asin[a] for a in results[start : start + PRODUCT_WINDOW])
        segments = [*self._header(goal), BACK_TO_SEARCH, f"Page {location.page} (Total results: {len(results)})"]
        buttons = [self._button(BACK_TO_SEARCH, Location("search"))]
        if location.page > 1:
            segments.append(PREV_PAGE)
            buttons.append(self._button(PREV_PAGE, replace(location, page=location.page - 1)))
        segments.append(NEXT_PAGE)
        buttons.append(self._button(NEXT_PAGE, replace(location, page=min(location.page + 1, MAX_PAGE))))
        links = []
        for p in products:
            segments += [p["asin"], _clean(p["Title"]), _clean(p["Price"])]
            target = Location("item", keywords=location.keywords, page=location.page, asin=p["asin"])
            links.append(Clickable(key=p["asin"].lower(), text=p["asin"], kind="link", target=target))
        clickables = {c.key: c for c in (*buttons, *links)}
        return Page(
            location,
            goal["instruction_text"],
            tuple(s for s in segments if s),
            clickables,
            has_search_bar=False,
            products=products,
            total=len(results),
        )

    def _page_item(self, location: Location, goal: Goal) -> Page:
        product = self.catalog.by_asin[location.asin]
        back = Location("results", keywords=location.keywords, page=location.page)
        segments = [*self._header(goal), BACK_TO_SEARCH, PREV_PAGE]
        buttons = [self._button(BACK_TO_SEARCH, Location("search")), self._button(PREV_PAGE, back)]
        options: list[Clickable] = []
        for name, values in product["options"].items():
            segments.append(_clean(name))
            for value in values:
                segments.append(_clean(value))
                options.append(Clickable(value, value, "option", location.with_option(name, value), group=name))
        segments += [_clean(product["Title"]), f"Price: {_clean(product['Price'])}", f"Rating: {product['Rating']}"]
        for sub in self.sub_pages():
            segments.append(sub)
            buttons.append(self._button(sub, replace(location, kind="sub", sub_page=sub)))
        segments.append(BUY_NOW)
        buttons.append(self._button(BUY_NOW, replace(location, kind="done", keywords=(), page=1)))
        clickables = {c.key: c for c in (*buttons, *options)}  # a later key replaces an earlier one, as there
        return Page(
            location,
            goal["instruction_text"],
            tuple(s for s in segments if s),
            clickables,
            has_search_bar=False,
            product=product,
        )

    def _page_sub(self, location: Location, goal: Goal) -> Page:
        product = self.catalog.by_asin[location.asin]
        item = replace(location, kind="item", sub_page="")
        segments = [*self._header(goal), BACK_TO_SEARCH, PREV_PAGE, *sub_page_segments(product, location.sub_page)]
        clickables = {
            c.key: c for c in (self._button(BACK_TO_SEARCH, Location("search")), self._button(PREV_PAGE, item))
        }
        return Page(
            location,
            goal["instruction_text"],
            tuple(s for s in segments if s),
            clickables,
            has_search_bar=False,
            product=product,
        )

    def _page_done(self, location: Location, goal: Goal) -> Page:
        product = self.catalog.by_asin[location.asin]
        score = self.score(location, goal)
        segments = [
            "Thank you for shopping with us!",
            "Purchased:",
            location.asin,
            location.options_json(),
            "Your score (min 0.0, max 1.0)",
            f"{score.score}",
        ]
        return Page(location, goal["instruction_text"], tuple(segments), {}, False, product=product, score=score)

    def score(self, location: Location, goal: Goal) -> ScoreBreakdown:
        """The task score of buying ``location.asin`` with ``location.options`` for ``goal``."""
        product = self.catalog.by_asin[location.asin]
        return score_breakdown(product, goal, self.catalog.prices[location.asin], location.option_dict)


def sub_page_segments(product: Product, sub_page: str) -> list[str]:
    """The text of an item sub-page (description, features, reviews or attributes)."""
    if sub_page == "Description":
        return [_clean(product["Description"])]
    if sub_page == "Features":
        return [_clean(b) for b in product["BulletPoints"]]
    if sub_page == "Reviews":
        return [s for r in product["Reviews"] for s in (f'"{_clean(r["title"])}"', str(r["score"]), _clean(r["body"]))]
    return [
        *(_clean(a) for a in product["Attributes"]),
        _clean(product["category"]),
        _clean(product["query"]),
        _clean(product["product_category"]),
    ]
