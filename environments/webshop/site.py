"""The WebShop site: a Flask app serving the engine's pages as HTML, sessions in the URL as in WebShop.

Routes (GET and POST, like the original): ``/`` (new session), ``/<session>`` (search page; a POST of
``search_query`` redirects to the results), ``/search_results/<session>/<keywords>/<page>``,
``/item_page/<session>/<asin>/<keywords>/<page>/<options>``,
``/item_sub_page/<session>/<asin>/<keywords>/<page>/<sub_page>/<options>``,
``/done/<session>/<asin>/<options>``, and ``/healthz``. ``<options>`` is compact JSON.

A session is created by visiting ``/<session>``: ``fixed_<i>`` (optionally ``fixed_<i>_<tag>``) gets goal
``i`` (another id starting with ``fixed_``, or one with no goal ``i``, is 404), any other id a goal drawn
from the id; ``healthz`` is no session (a POST there is 405). Every other page needs a known session.
Everything the site echoes is escaped by Jinja; malformed URLs (not ASCII, bad ``%`` escapes, not UTF-8,
NUL), unknown sessions, products or options, POST bodies that are not a urlencoded form of the route's
fields (400, or 415 for another content type), and oversized queries or requests are answered 4xx, never
500. A connection silent mid-request for the read timeout is dropped (408 once its headers arrived).
Sessions live in memory (at most ``max_sessions``, the oldest dropped first) behind a lock, so concurrent
shoppers never see each other's state.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from agentgym_seal.errors import DependencyNotInstalled

try:
    import flask
    from werkzeug import serving
    from werkzeug.exceptions import ClientDisconnected, MethodNotAllowed
except ImportError as exc:  # pragma: no cover - the webshop extra installs both
    raise DependencyNotInstalled("webshop", "flask") from exc

from .engine import MAX_PAGE, MAX_QUERY_CHARS, Location, keywords_of
from .goals import Goal
from .html import STATIC_DIR, location_url, render_error, render_page
from .world import World

_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FIXED = re.compile(r"^fixed_(0|[1-9][0-9]{0,8})(?:_[A-Za-z0-9-]{1,40})?$")
MAX_URL_CHARS = 4096
MAX_BODY_BYTES = 16 * 1024
#: Seconds a connection may stay silent mid-request before it is dropped (a client sending less than it announced).
READ_TIMEOUT_S = 20.0
_FORM_TYPE = "application/x-www-form-urlencoded"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: Form fields each route takes (the search box's); every other POST carries an empty form (a button).
_FORM_FIELDS = {"index": frozenset({"search_query"})}
_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    415: "Unsupported Media Type",
}


@dataclass
class SessionState:
    """One shopper: their goal and, once bought, the purchase."""

    goal_index: int
    done: bool = False
    asin: str = ""
    options: dict[str, str] | None = None
    score: float | None = None


class SessionStore:
    """Thread-safe sessions, oldest dropped beyond ``max_sessions``."""

    def __init__(self, num_goals: int, max_sessions: int = 10_000) -> None:
        self._num_goals = num_goals
        self._max = max_sessions
        self._sessions: OrderedDict[str, SessionState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str) -> SessionState | None:
        """The session, or ``None``."""
        with self._lock:
            return self._sessions.get(session_id)

    def open(self, session_id: str) -> SessionState | None:
        """The session, created on first visit (``None`` for a ``fixed_<i>`` with no goal ``i``)."""
        with self._lock:
            state = self._sessions.get(session_id)
            if state is not None:
                return state
            fixed = _FIXED.match(session_id)
            if fixed:
                index = int(fixed.group(1))
                if index >= self._num_goals:
                    return None
            elif session_id.startswith("fixed_"):  # fixed_-1, fixed_99999999999: not a goal index
                return None
            else:
                index = random.Random(session_id).randrange(self._num_goals)
            state = SessionState(goal_index=index)
            self._sessions[session_id] = state
            while len(self._sessions) > self._max:
                self._sessions.popitem(last=False)
            return state

    def record_purchase(self, session_id: str, asin: str, options: dict[str, str], score: float) -> None:
        """Marks the session done with its purchase."""
        with self._lock:
            state = self._sessions.get(session_id)
            if state is not None:
                state.done, state.asin, state.options, state.score = True, asin, dict(options), score


class BadRequest(Exception):
    """A request the site answers with a 4xx code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _parse_options(raw: str) -> tuple[tuple[str, str], ...]:
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise BadRequest(400, "the options part of the URL is not JSON") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadRequest(400, "options must be a JSON object of strings")
    return tuple(value.items())


def _percent_encoded(text: str) -> bool:
    """Whether ``text`` is ASCII whose every ``%`` starts an escape of two hex digits."""
    return text.isascii() and _BAD_ESCAPE.search(text) is None


def _check_target(environ: dict[str, Any]) -> None:
    """A 400 unless the request's URL is ASCII whose percent-decoding is UTF-8 text (no surrogate, no NUL)."""
    raw = environ.get("RAW_URI")
    if raw is None:  # a WSGI server that does not pass the raw URL: werkzeug's decoded path is all there is
        return
    if not _percent_encoded(raw):
        raise BadRequest(400, "a URL must be ASCII with '%' escapes of two hex digits (UTF-8 bytes)")
    try:
        decoded = urllib.parse.unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(400, "the URL's percent-encoded bytes are not UTF-8") from None
    if "\x00" in decoded:
        raise BadRequest(400, "the URL has a NUL character")


def _posted_form(fields: frozenset[str]) -> dict[str, str]:
    """The POSTed form, urlencoded UTF-8 with at most ``fields`` (each once); a 4xx otherwise."""
    try:
        body = flask.request.get_data(cache=True)
    except ClientDisconnected:  # the body stopped short of its Content-Length until the read timeout
        raise BadRequest(408, "the request body ended before its Content-Length") from None
    if not body:
        return {}
    if flask.request.mimetype != _FORM_TYPE:
        raise BadRequest(415, f"a POST body must be {_FORM_TYPE}")
    malformed = BadRequest(400, "the form body is not urlencoded UTF-8 (name=value pairs joined by '&')")
    text = body.decode("latin-1")
    if not _percent_encoded(text):
        raise malformed
    try:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError:  # UnicodeDecodeError (not UTF-8) included
        raise malformed from None
    form = dict(pairs)
    if len(form) < len(pairs) or not form.keys() <= fields:
        raise BadRequest(400, f"this form takes only {sorted(fields)}, each at most once")
    if any("\x00" in value for value in form.values()):
        raise BadRequest(400, "a form value has a NUL character")
    return form


def _parse_keywords(raw: str) -> tuple[str, ...]:
    if len(raw) > MAX_QUERY_CHARS:
        raise BadRequest(400, f"the search query is longer than {MAX_QUERY_CHARS} characters")
    keywords = keywords_of(raw)
    if not keywords:
        raise BadRequest(400, "the search query is empty")
    return keywords


def create_app(world: World, *, max_sessions: int = 10_000) -> Any:
    """The Flask app of ``world``'s shop.

    Args:
        world: The shop and goals to serve.
        max_sessions: Sessions kept in memory.
    """
    app = flask.Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    store = SessionStore(len(world.goals), max_sessions)
    app.extensions["webshop_sessions"] = store
    shop = world.shop

    def goal_of(session_id: str) -> Goal:
        state = store.get(session_id) if _SESSION.match(session_id) else None
        if state is None:
            raise BadRequest(404, "unknown session; start one at /<session id>")
        return world.goals[state.goal_index]

    def show(session_id: str, location: Location) -> Any:
        goal = goal_of(session_id)
        if not shop.is_valid(location):
            raise BadRequest(404, "no such page: unknown product, option or page number")
        page = shop.page(location, goal)
        if page.score is not None:
            store.record_purchase(session_id, location.asin, location.option_dict, page.score.score)
        return render_page(page, session_id)

    @app.before_request
    def check_request() -> Any:
        if len(flask.request.full_path) > MAX_URL_CHARS:
            return _error(414, "URI Too Long", f"URLs are limited to {MAX_URL_CHARS} characters")
        _check_target(flask.request.environ)
        if flask.request.endpoint == "index" and (flask.request.view_args or {}).get("session_id") == "healthz":
            # GET /healthz is its own route; any other method lands on /<session_id>, which it is not
            raise MethodNotAllowed(["GET", "HEAD"], "/healthz answers GET only and is not a session id")
        if flask.request.method == "POST":
            flask.g.form = _posted_form(_FORM_FIELDS.get(flask.request.endpoint or "", frozenset()))
        return None

    @app.errorhandler(BadRequest)
    def bad_request(exc: BadRequest) -> Any:
        return _error(exc.code, _TITLES.get(exc.code, "Bad Request"), str(exc))

    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def http_error(exc: Any) -> Any:
        response = _error(exc.code, exc.name, exc.description)
        if getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    def _error(code: int, title: str, message: str) -> Any:
        return flask.Response(render_error(code, title, message), status=code, mimetype="text/html")

    @app.route("/healthz")
    def healthz() -> Any:
        return flask.Response("ok", mimetype="text/plain")

    @app.route("/")
    def home() -> Any:
        return flask.redirect(f"/{secrets.token_hex(6)}", code=302)

    @app.route("/<session_id>", methods=["GET", "POST"])
    def index(session_id: str) -> Any:
        if not _SESSION.match(session_id) or store.open(session_id) is None:
            rule = f"letters, digits, '_', '-'; fixed_<i>[_<tag>] with i in 0..{len(world.goals) - 1}"
            raise BadRequest(404, f"invalid session id ({rule})")
        form = flask.g.get("form", {})
        if flask.request.method == "POST" and "search_query" in form:
            keywords = _parse_keywords(form["search_query"])
            target = Location("results", keywords=keywords, page=1)
            return flask.redirect(location_url(session_id, target), code=303)
        return show(session_id, Location("search"))

    @app.route("/search_results/<session_id>/<keywords>/<int:page>", methods=["GET", "POST"])
    def search_results(session_id: str, keywords: str, page: int) -> Any:
        return show(session_id, Location("results", keywords=_parse_keywords(keywords), page=_page(page)))

    @app.route("/item_page/<session_id>/<asin>/<keywords>/<int:page>/<options>", methods=["GET", "POST"])
    def item_page(session_id: str, asin: str, keywords: str, page: int, options: str) -> Any:
        location = Location("item", _parse_keywords(keywords), _page(page), asin, _parse_options(options))
        return show(session_id, location)

    @app.route("/item_sub_page/<session_id>/<asin>/<keywords>/<int:page>/<sub_page>/<options>", methods=["GET", "POST"])
    def item_sub_page(session_id: str, asin: str, keywords: str, page: int, sub_page: str, options: str) -> Any:
        location = Location("sub", _parse_keywords(keywords), _page(page), asin, _parse_options(options), sub_page)
        return show(session_id, location)

    @app.route("/done/<session_id>/<asin>/<options>", methods=["GET", "POST"])
    def done(session_id: str, asin: str, options: str) -> Any:
        return show(session_id, Location("done", asin=asin, options=_parse_options(options)))

    return app


def _page(page: int) -> int:
    if not 1 <= page <= MAX_PAGE:
        raise BadRequest(404, f"page numbers run from 1 to {MAX_PAGE}")
    return page


class _QuietHandler(serving.WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are not logged (envs make many)."""

    def log_error(self, format: str, *args: Any) -> None:
        """Connections dropped by the read timeout are not logged either (browsers leave idle ones open)."""
        if not format.startswith("Request timed out"):
            super().log_error(format, *args)


class ServerThread:
    """The site served on ``host:port`` (``port=0``: a free port) by a threaded WSGI server in a daemon thread.

    A connection silent for ``read_timeout_s`` in the middle of a request is dropped, so a client that sends
    less body than its ``Content-Length`` cannot hold a thread.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_requests: bool = False,
        read_timeout_s: float = READ_TIMEOUT_S,
    ) -> None:
        base = serving.WSGIRequestHandler if log_requests else _QuietHandler
        handler = type("TimedHandler", (base,), {"timeout": read_timeout_s})
        self._server = serving.make_server(host, port, app, threaded=True, request_handler=handler)
        self.host, self.port = host, int(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webshop-site", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self.host}:{self.port}"

    def wait(self) -> None:
        """Blocks until the server stops."""
        self._thread.join()

    def stop(self) -> None:
        """Stops the server (safe to call twice)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._server.server_close()
