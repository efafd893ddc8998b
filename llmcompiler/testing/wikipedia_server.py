"""A small, real MediaWiki Action API server for tests, benchmarks and demos.

`WikipediaServer` listens on an ephemeral port on 127.0.0.1 and answers the ``api.php``
queries that `llmcompiler.tools.wikipedia.WikipediaSearch` sends, from pages given in
memory, in the JSON shapes of Wikipedia's API with ``format=json&formatversion=2``:

    from llmcompiler.testing import WikipediaServer
    from llmcompiler.tools.wikipedia import WikipediaSearch

    pages = {"Mount Everest": "Mount Everest is Earth's highest mountain. It is in Asia."}
    async with WikipediaServer(pages=pages, redirects={"Everest": "Mount Everest"}) as server:
        wiki = WikipediaSearch(api_url=server.api_url)
        print(await wiki.search("Everest"))
        print(server.request_count, server.connection_count)
        await wiki.aclose()

What it answers (``GET /w/api.php``, ``action=query``; a ``POST`` with a form body too):

* ``titles=A|B`` with ``prop=extracts|pageprops`` (``exintro``, ``explaintext``) and
  ``redirects=1``: ``query.normalized[]`` for titles written otherwise (underscores,
  lower-case first letter), ``query.redirects[]`` for aliases, and ``query.pages[]``
  holding ``{"pageid", "ns", "title", "extract", "pageprops"}`` per page,
  ``{"ns", "title", "missing": true}`` for pages that do not exist and
  ``{"title", "invalidreason", "invalid": true}`` for titles with forbidden characters.
  ``pageprops`` is ``{"disambiguation": ""}`` on disambiguation pages (omitted otherwise).
  Intro texts are served as given: a page's paragraphs are separated by ``"\\n"``.
* ``list=search&srsearch=...&srlimit=N``: ``query.searchinfo.totalhits`` and
  ``query.search[]`` of ``{"ns", "title", "pageid", "size", "wordcount", "snippet",
  "timestamp"}``. Pages whose title or text share words with the query come first (title
  words count more; the options of a disambiguation page that the query names come right
  after it); when no word matches, the titles closest in spelling are returned, as
  Wikipedia's fuzzy search would. ``search={query: [titles]}`` fixes the results of a
  query instead.

Anything else gets a MediaWiki-style ``{"error": {"code", "info"}}`` body (HTTP 200, as
the real API does). `fail` makes the next requests answer an HTTP error status instead;
``delay`` (seconds) is waited before every answer.

Every request is recorded in ``requests`` (query parameters, peer address, connection
number). ``connection_count`` counts the distinct TCP connections requests arrived on,
so tests can check that a client reuses its connections.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from llmcompiler.testing._loopback import LoopbackServer

__all__ = ["WikipediaRequest", "WikipediaServer"]

_ILLEGAL_TITLE_CHARS = set("[]{}|<>#")
_WORD = re.compile(r"\w+", re.UNICODE)
_TIMESTAMP = "2024-01-01T00:00:00Z"


@dataclass(frozen=True)
class WikipediaRequest:
    """One request as the server received it.

    ``query`` holds the first value of each parameter (URL query and form body merged);
    ``connection`` numbers the TCP connection it arrived on (1 for the first connection
    the server saw, and so on); ``peer`` is the client's ``(host, port)``.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    connection: int
    peer: tuple[str, int] | None


def normalize_title(title: str) -> str:
    """MediaWiki's title normalisation: underscores to spaces, runs of whitespace
    collapsed, ends stripped, first letter upper-cased."""
    title = " ".join(title.replace("_", " ").split())
    return title[:1].upper() + title[1:]


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


class WikipediaServer(LoopbackServer):
    """A MediaWiki ``api.php`` on 127.0.0.1 answering from in-memory pages.

    Args:
        pages: ``{title: intro_text}``; paragraphs of the intro separated by ``"\\n"``.
        redirects: ``{alias: title}``; followed when a request says ``redirects=1``.
        disambiguation: ``{title: [option titles]}``: disambiguation pages. Their
            extract is "<title> may refer to:" followed by the options, one per line,
            unless `pages` gives a text for the title.
        search: ``{query: [titles]}``: fixed search results for these queries (matched
            case-insensitively, whitespace collapsed).
        delay: seconds to wait before answering each request (settable later).
    """

    def __init__(
        self,
        pages: Mapping[str, str] | None = None,
        *,
        redirects: Mapping[str, str] | None = None,
        disambiguation: Mapping[str, Sequence[str]] | None = None,
        search: Mapping[str, Sequence[str]] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.pages: dict[str, str] = {normalize_title(t): text for t, text in (pages or {}).items()}
        self.disambiguation: dict[str, list[str]] = {
            normalize_title(t): list(options) for t, options in (disambiguation or {}).items()
        }
        for title, options in self.disambiguation.items():
            self.pages.setdefault(title, f"{title} may refer to:\n" + "\n".join(options))
        self.redirects: dict[str, str] = {
            normalize_title(a): normalize_title(t) for a, t in (redirects or {}).items()
        }
        self.search_results: dict[str, list[str]] = {
            " ".join(q.casefold().split()): list(titles) for q, titles in (search or {}).items()
        }
        self.delay = delay
        self.requests: list[WikipediaRequest] = []
        self._page_ids = {title: 1000 + i for i, title in enumerate(self.pages)}
        self._connections: dict[int, Any] = {}  # id(protocol) -> protocol (kept alive: ids stay unique)
        self._failures: list[tuple[int, str, str | None]] = []
        super().__init__()

    # -- control -----------------------------------------------------------------------

    def fail(
        self,
        status: int = 500,
        *,
        times: int = 1,
        message: str = "Internal Server Error",
        entity: str | None = None,
    ) -> None:
        """Answer the next `times` requests with HTTP `status` (a plain-text body); with
        `entity`, only requests whose ``titles`` or ``srsearch`` is that entity (compared
        after title normalisation) fail."""
        key = normalize_title(entity) if entity is not None else None
        self._failures.extend([(status, message, key)] * times)

    @property
    def request_count(self) -> int:
        return len(self.requests)

    @property
    def connection_count(self) -> int:
        """Distinct TCP connections that requests arrived on since the server started."""
        return len(self._connections)

    def queries(self, key: str) -> list[str]:
        """The values of parameter `key` over all requests that had it, in order
        (e.g. ``queries("titles")``, ``queries("srsearch")``)."""
        return [r.query[key] for r in self.requests if key in r.query]

    # -- lifecycle -----------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/w/api.php", self._handle)
        app.router.add_route("POST", "/w/api.php", self._handle)
        return app

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:<port>/w/api.php``."""
        return f"http://127.0.0.1:{self.port}/w/api.php"

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        query = {k: v for k, v in request.query.items()}
        if request.method == "POST":
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    query.setdefault(key, value)
        protocol = request.protocol
        self._connections.setdefault(id(protocol), protocol)
        number = list(self._connections).index(id(protocol)) + 1
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        self.requests.append(
            WikipediaRequest(
                request.method,
                request.path,
                query,
                {k.lower(): v for k, v in request.headers.items()},
                number,
                tuple(peer[:2]) if peer else None,
            )
        )
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        failure = self._take_failure(query)
        if failure is not None:
            status, message = failure
            return web.Response(status=status, text=message)
        try:
            body = self._answer(query)
        except _APIError as exc:
            body = {"error": {"code": exc.code, "info": exc.info}, "servedby": "llmcompiler-test"}
        return web.json_response(body)

    def _take_failure(self, query: Mapping[str, str]) -> tuple[int, str] | None:
        asked = {normalize_title(query[k]) for k in ("titles", "srsearch") if k in query}
        for i, (status, message, key) in enumerate(self._failures):
            if key is None or key in asked:
                del self._failures[i]
                return status, message
        return None

    # -- the API -----------------------------------------------------------------------------

    def _answer(self, q: Mapping[str, str]) -> dict[str, Any]:
        if q.get("format") != "json":
            raise _APIError("badvalue", 'This test server only answers "format=json".')
        if q.get("formatversion") != "2":
            raise _APIError("badvalue", 'This test server only answers "formatversion=2".')
        action = q.get("action")
        if action != "query":
            raise _APIError("badvalue", f'Unrecognized value for parameter "action": {action}.')
        result: dict[str, Any] = {"batchcomplete": True, "query": {}}
        handled = False
        if "titles" in q:
            props = set(filter(None, q.get("prop", "").split("|")))
            unknown = props - {"extracts", "pageprops", "info"}
            if unknown:
                raise _APIError("badvalue", f'Unrecognized value for parameter "prop": {sorted(unknown)[0]}.')
            result["query"].update(self._pages(q["titles"], props, q.get("redirects") in ("1", "true", "")))
            handled = True
        lists = set(filter(None, q.get("list", "").split("|")))
        if lists:
            if lists != {"search"}:
                raise _APIError("badvalue", f'Unrecognized value for parameter "list": {sorted(lists)[0]}.')
            if not q.get("srsearch", "").strip():
                raise _APIError("nosrsearch", 'The "srsearch" parameter must be set.')
            try:
                limit = int(q.get("srlimit", "10"))
            except ValueError:
                raise _APIError("badinteger", 'Invalid value for "srlimit".') from None
            limit = max(1, min(limit, 500))
            hits, total = self._search(q["srsearch"], limit)
            result["query"]["searchinfo"] = {"totalhits": total}
            result["query"]["search"] = hits
            if total > len(hits):
                result["continue"] = {"sroffset": len(hits), "continue": "-||"}
            handled = True
        if not handled:
            raise _APIError("missingparam", 'One of the parameters "titles" or "list" is required.')
        return result

    def _pages(self, titles_param: str, props: set[str], follow: bool) -> dict[str, Any]:
        if titles_param.startswith("\x1f"):  # MediaWiki's alternative multi-value separator
            titles = titles_param[1:].split("\x1f")
        else:
            titles = titles_param.split("|")
        normalized, redirects, pages = [], [], []
        seen: set[str] = set()
        for raw in titles:
            if not raw.strip() or _ILLEGAL_TITLE_CHARS & set(raw):
                bad = next((c for c in raw if c in _ILLEGAL_TITLE_CHARS), None)
                reason = (
                    "The requested page title is empty or contains only the name of a namespace."
                    if bad is None
                    else f'The requested page title contains invalid characters: "{bad}".'
                )
                pages.append({"title": raw, "invalidreason": reason, "invalid": True})
                continue
            title = normalize_title(raw)
            if title != raw:
                normalized.append({"fromencoded": False, "from": raw, "to": title})
            if follow and title in self.redirects:
                target = self.redirects[title]
                redirects.append({"from": title, "to": target})
                title = target
            if title in seen:
                continue
            seen.add(title)
            if title not in self.pages:
                pages.append({"ns": 0, "title": title, "missing": True})
                continue
            page: dict[str, Any] = {"pageid": self._page_ids[title], "ns": 0, "title": title}
            if "extracts" in props:
                page["extract"] = self.pages[title]
            if "pageprops" in props and title in self.disambiguation:
                page["pageprops"] = {"disambiguation": ""}
            pages.append(page)
        out: dict[str, Any] = {"pages": pages}
        if normalized:
            out["normalized"] = normalized
        if redirects:
            out["redirects"] = redirects
        return out

    def _search(self, text: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        key = " ".join(text.casefold().split())
        if key in self.search_results:
            titles = [normalize_title(t) for t in self.search_results[key]]
        else:
            titles = self._rank(text)
        hits = [self._hit(t, text) for t in titles[:limit]]
        return hits, len(titles)

    def _rank(self, text: str) -> list[str]:
        query = set(_words(text))
        scored: list[tuple[float, str]] = []
        for title, body in self.pages.items():
            title_words = set(_words(title))
            body_words = set(_words(body))
            score = 3.0 * len(query & title_words) + len(query & body_words)
            if query and query == title_words:
                score += 10.0
            if score > 0:
                scored.append((score, title))
        scored.sort(key=lambda st: (-st[0], st[1]))
        ranked = [t for _, t in scored]
        # A disambiguation page the query names: its options right after it.
        for title, options in self.disambiguation.items():
            if set(_words(title)) == query and title in ranked:
                at = ranked.index(title) + 1
                extra = [normalize_title(o) for o in options]
                ranked = ranked[:at] + extra + [t for t in ranked[at:] if t not in extra]
        if ranked:
            return list(dict.fromkeys(ranked))
        # Nothing shares a word: the closest spellings, as a fuzzy search would.
        lowered = {t.casefold(): t for t in self.pages}
        close = difflib.get_close_matches(text.casefold(), list(lowered), n=10, cutoff=0.55)
        return [lowered[c] for c in close]

    def _hit(self, title: str, query: str) -> dict[str, Any]:
        body = self.pages.get(title, "")
        words = set(_words(query))
        snippet_words = body.split()[:20]
        snippet = " ".join(
            f'<span class="searchmatch">{w}</span>' if w.strip(".,;:").casefold() in words else w
            for w in snippet_words
        )
        return {
            "ns": 0,
            "title": title,
            "pageid": self._page_ids.get(title, 0),
            "size": len(body.encode()),
            "wordcount": len(body.split()),
            "snippet": snippet,
            "timestamp": _TIMESTAMP,
        }


class _APIError(Exception):
    def __init__(self, code: str, info: str) -> None:
        super().__init__(info)
        self.code = code
        self.info = info

