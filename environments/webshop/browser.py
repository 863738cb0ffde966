"""``WebShopHTML-v0``: the WebShop site played in a real headless Chromium through Selenium.

The env serves the shop (:mod:`.site`, the same engine as ``WebShopText-v0``) on 127.0.0.1 and drives
Debian's ``chromium`` with ``chromedriver`` at fixed paths, so Selenium Manager never downloads
anything. ``search[q]`` types ``q`` into the search box and presses Search (from another page it
first clicks ``Back to Search``); ``click[x]`` clicks the button, product link or option radio button
whose text (or value) is ``x``. The observation is the page's visible text nodes joined with
`` [SEP] `` (the same string as text mode, which a parity test checks) or its HTML; the purchase
score is read from the done page.

Chromium: ``apt-get install chromium chromium-driver`` (``make browser``); :func:`find_browser` says
whether it is there.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentgym_seal.deps import require
from agentgym_seal.errors import AgentGymError, ConfigError

from .engine import SEP, Location
from .env import WebShopTextEnv
from .html import location_from_path
from .site import ServerThread, create_app

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1024",
)
_BROWSER_OPTIONS = ("chromium_path", "chromedriver_path", "timeout_s")
#: What chromedriver cannot type as itself: control characters (dropped), its key codes U+E000..U+F8FF (Enter,
#: Backspace, ...) and characters beyond the BMP (refused).
_UNTYPABLE = re.compile("[\x00-\x1f\x7f-\x9f\ue000-\uf8ff\U00010000-\U0010ffff]")

# One round trip: visible text nodes, clickables (buttons, product links, then radio buttons) and the URL.
_SNAPSHOT_JS = """
const hidden = new Set(['SCRIPT', 'STYLE', 'HEAD', 'TITLE', 'NOSCRIPT', 'TEMPLATE']);
const texts = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const p = n.parentElement;
  if (!p || hidden.has(p.tagName) || !p.getClientRects().length) continue;
  const t = n.textContent.replace(/\\s+/g, ' ').trim();
  if (t) texts.push(t);
}
const clean = (s) => s.replace(/\\s+/g, ' ').trim();
return {
  texts: texts,
  buttons: Array.from(document.querySelectorAll('.btn')).map((e) => clean(e.textContent).toLowerCase()),
  links: Array.from(document.querySelectorAll('a.product-link')).map((e) => clean(e.textContent).toLowerCase()),
  radios: Array.from(document.querySelectorAll('input[type=radio]')).map((e) => e.value),
  search: document.getElementById('search_input') !== null,
  path: window.location.pathname,
  score: (document.getElementById('score') || {}).textContent || null,
};
"""


def find_browser(chromium_path: str | None = None, chromedriver_path: str | None = None) -> tuple[str, str] | None:
    """``(chromium, chromedriver)`` paths if both are installed, else ``None``."""

    def first(explicit: str | None, candidates: tuple[str, ...], name: str) -> str | None:
        for path in (explicit, *candidates, shutil.which(name)):
            if path and os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        return None

    chromium = first(chromium_path, CHROMIUM_CANDIDATES, "chromium")
    driver = first(chromedriver_path, CHROMEDRIVER_CANDIDATES, "chromedriver")
    return (chromium, driver) if chromium and driver else None


@dataclass
class _View:
    """What the browser shows now."""

    texts: list[str]
    clickables: dict[str, tuple[str, int]]  # key -> (css selector, index)
    has_search_bar: bool
    path: str
    score: float | None

    @property
    def text(self) -> str:
        return SEP.join(self.texts)


class WebShopHTMLEnv(WebShopTextEnv):
    """WebShop in a real browser: the site of ``WebShopText-v0`` driven by Selenium and headless Chromium.

    Same options as ``WebShopText-v0`` (``observation_mode`` ``text`` or ``html``; ``url``), plus
    ``chromium_path``, ``chromedriver_path`` and ``timeout_s`` (page-load wait, default 20 s). Same
    actions, rewards and info keys; ``info["url"]`` is the browser's path.
    """

    def __init__(self, render_mode: str | None = None, **options: Any) -> None:
        browser = {k: options.pop(k) for k in _BROWSER_OPTIONS if k in options}
        super().__init__(render_mode, **options)
        if self.config.observation_mode == "text_rich":
            raise ConfigError.bad_option(
                "observation_mode", "text_rich", ["text", "html", "url"], where="WebShopHTML-v0"
            )
        self._browser_options = browser
        self._timeout = float(browser.get("timeout_s", 20.0))
        self._driver: Any = None
        self._server: ServerThread | None = None
        self._profile: str | None = None
        self._view: _View | None = None
        self._episodes = 0

    # -- browser plumbing ----------------------------------------------------------------------------
    def _ensure_browser(self) -> None:
        if self._server is None:
            self._server = ServerThread(create_app(self._world))
        if self._driver is not None:
            return
        found = find_browser(self._browser_options.get("chromium_path"), self._browser_options.get("chromedriver_path"))
        if found is None:
            raise AgentGymError(
                "WebShopHTML-v0 needs Chromium and chromedriver, which were not found. "
                "Fix: apt-get install chromium chromium-driver (or `make browser`), or pass chromium_path= "
                "and chromedriver_path=."
            )
        webdriver = require("selenium.webdriver", "webshop")
        service_module = require("selenium.webdriver.chrome.service", "webshop")
        chrome_options = webdriver.ChromeOptions()
        chrome_options.binary_location = found[0]
        self._profile = tempfile.mkdtemp(prefix="agentgym-webshop-chrome-")
        for flag in (*CHROME_FLAGS, f"--user-data-dir={self._profile}"):
            chrome_options.add_argument(flag)
        self._driver = webdriver.Chrome(
            service=service_module.Service(executable_path=found[1]), options=chrome_options
        )
        self._driver.set_page_load_timeout(self._timeout)

    def _visit(self, path: str) -> None:
        assert self._server is not None
        url = self._server.url + path
        self._navigate(lambda: self._driver.get(url))

    def _navigate(self, act: Any) -> None:
        """Runs ``act`` (a click or a page load) and waits for the next document to finish loading."""
        wait_module = require("selenium.webdriver.support.ui", "webshop")
        token = os.urandom(8).hex()
        self._driver.execute_script("window.__agentgymMarker = arguments[0];", token)
        act()
        wait_module.WebDriverWait(self._driver, self._timeout).until(
            lambda d: d.execute_script(
                "return window.__agentgymMarker !== arguments[0] && document.readyState === 'complete';", token
            )
        )
        self._snapshot()

    def _snapshot(self) -> None:
        raw = self._driver.execute_script(_SNAPSHOT_JS)
        clickables: dict[str, tuple[str, int]] = {}
        for selector, keys in (("button.btn", raw["buttons"]), ("a.product-link", raw["links"])):
            for i, key in enumerate(keys):
                clickables[key] = (selector, i)
        for i, value in enumerate(raw["radios"]):
            clickables[value] = ("input[type=radio]", i)
        score: float | None = None
        if raw["score"] is not None:
            try:
                score = float(raw["score"])
            except ValueError:
                score = None
        self._view = _View(raw["texts"], clickables, bool(raw["search"]), str(raw["path"]), score)
        parsed = location_from_path(self._view.path)
        if parsed is not None:
            self._location = parsed[1]
            self._page = self.shop.page(self._location, self.goal) if self.shop.is_valid(self._location) else self._page
            if self._location.kind == "item":
                self._visited.add(self._location.asin)

    def _click(self, selector: str, index: int) -> None:
        by = require("selenium.webdriver.common.by", "webshop").By
        element = self._driver.find_elements(by.CSS_SELECTOR, selector)[index]
        self._driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)

        def act() -> None:
            try:
                element.click()
            except Exception:  # intercepted or not interactable: a DOM click does the same thing
                self._driver.execute_script("arguments[0].click();", element)

        self._navigate(act)

    # -- env hooks -----------------------------------------------------------------------------------
    def _start_episode(self) -> None:
        self._ensure_browser()
        self._episodes += 1
        self._session = f"fixed_{self._goal_index}_{self._episodes}{int(self.np_random.integers(1 << 30)):x}"
        self._location = Location("search")
        self._page = self.shop.page(self._location, self.goal)
        self._visit(f"/{self._session}")

    def _clickable(self, key: str) -> bool:
        return self._view is not None and key in self._view.clickables and key != "search"

    def _run_search(self, query: str, target: Location) -> None:
        assert self._view is not None
        if not self._view.has_search_bar:
            self._click(*self._view.clickables["back to search"])
        self._type_search(query)

    def _run_click(self, key: str) -> float | None:
        assert self._view is not None
        self._click(*self._view.clickables[key])
        return self._view.score

    def _type_search(self, query: str) -> None:
        by = require("selenium.webdriver.common.by", "webshop").By
        box = self._driver.find_element(by.ID, "search_input")
        box.clear()
        if _UNTYPABLE.search(query) is None:
            box.send_keys(query)
        else:  # chromedriver would drop, misread as keys, or refuse some characters: set the value as a paste would
            self._driver.execute_script("arguments[0].value = arguments[1];", box, query)
        submit = self._driver.find_element(by.CSS_SELECTOR, "#search-form button[type=submit]")
        self._navigate(submit.click)

    def _anchor_text(self) -> str:
        return "" if self._view is None else self._view.text

    def _available(self) -> dict[str, Any]:
        if self._view is None:
            return {"has_search_bar": False, "clickables": []}
        return {"has_search_bar": self._view.has_search_bar, "clickables": list(self._view.clickables)}

    def _observe(self) -> str:
        mode = self.config.observation_mode
        if mode == "html":
            return str(self._driver.page_source)
        if mode == "url":
            return urlsplit(str(self._driver.current_url)).path
        return self._anchor_text()

    def close(self) -> None:
        """Quits Chromium, stops the site and removes the browser profile (safe to call twice)."""
        if self._driver is not None:
            try:
                self._driver.quit()
            finally:
                self._driver = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None
        super().close()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        for key in ("_driver", "_server", "_profile", "_view"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._driver, self._server, self._profile, self._view = None, None, None, None
        if self._goal_index >= 0:  # reopen the episode's page in a fresh browser and site
            path = self._current_location_path()
            self._ensure_browser()
            self._visit(f"/{self._session}")
            if path != f"/{self._session}":
                self._visit(path)

    def _current_location_path(self) -> str:
        from .html import location_url

        return location_url(self._session, self._location)
