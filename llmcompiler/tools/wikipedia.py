"""Wikipedia search through the MediaWiki Action API: the `search` tool of the benchmarks.

    wiki = WikipediaSearch(cache_path="~/.cache/llmcompiler/wikipedia.sqlite")
    print(await wiki.search("Mount Everest"))   # the first paragraph of its article
    tools = [wiki.as_tool()]                    # search(entity: str) -> str
    ...
    await wiki.aclose()

How an entity is looked up (JSON from ``api.php`` with ``format=json&formatversion=2``):

1. the entity as a title: ``action=query&prop=extracts|pageprops&exintro=1&explaintext=1
   &redirects=1&titles=<entity>`` (MediaWiki normalises the title and follows redirects);
2. if there is no such page: ``list=search&srsearch=<entity>&srlimit=5``; the first hit
   whose title shares a word with the entity is fetched as in 1. When no hit does, the
   observation is ``Could not find <entity>. Similar: ['t1', 't2', ...].`` (or ``Could
   not find <entity>. No similar titles.`` when the search found nothing);
3. a disambiguation page (``pageprops.disambiguation``) gives ``Could not find <entity>:
   "<title>" is a disambiguation page. Similar: [...]`` with the closest titles from a
   search, so the planner can pick one and search again.

The observation is the article's first paragraph, or with ``sentences=N`` its first N
sentences (across the paragraphs of the introduction). The original LLMCompiler tool
(``src/docstore/wikipedia.py``) scraped the HTML search page and returned the first five
sentences of the article; pass ``sentences=ORIGINAL_SENTENCES`` to reproduce that.

Network and HTTP failures raise `WikipediaError` (the runtime turns it into a failed task:
``ERROR: WikipediaError: ...``) and are never cached. Results (pages, ambiguous names, not
found) are cached in memory and, with ``cache_path``, in a SQLite file shared by later
instances and processes. Concurrent searches for the same entity share one lookup.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import aiohttp

from llmcompiler._text import shorten
from llmcompiler.exceptions import ConfigurationError, ToolError
from llmcompiler.tools.base import Tool

__all__ = [
    "DEFAULT_API_URL",
    "ENV_API_URL",
    "ORIGINAL_SENTENCES",
    "WikipediaError",
    "WikipediaResult",
    "WikipediaSearch",
    "WikipediaStats",
    "connections_for",
    "first_paragraph",
    "sized_for",
    "split_sentences",
]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://en.wikipedia.org/w/api.php"
ENV_API_URL = "LLMCOMPILER_WIKIPEDIA_URL"
#: How many sentences the original LLMCompiler search tool returned.
ORIGINAL_SENTENCES = 5
#: Put in the default User-Agent; Wikimedia asks clients to name themselves and a contact.
PROJECT_URL = "https://github.com/llmcompiler/llmcompiler"
SEARCH_LIMIT = 5
#: The pool of a session made outside a run, and the least any run gets.
DEFAULT_CONNECTIONS = 16
#: A question's plan can look several entities up at once; below this the pool, not the server, binds.
CONNECTIONS_PER_QUESTION = 4

_run_concurrency: ContextVar[int] = ContextVar("llmcompiler_wikipedia_run_concurrency", default=1)


def connections_for(concurrency: int) -> int:
    """The pool size of a session made while `concurrency` questions are in flight."""
    return max(DEFAULT_CONNECTIONS, CONNECTIONS_PER_QUESTION * max(1, int(concurrency)))


@contextmanager
def sized_for(concurrency: int) -> Iterator[None]:
    """Sessions made inside the block (by a search with no `max_connections`) get a pool
    for `concurrency` questions: a benchmark run says how many it keeps in flight."""
    token = _run_concurrency.set(int(concurrency))
    try:
        yield
    finally:
        _run_concurrency.reset(token)


_ILLEGAL_TITLE_CHARS = frozenset("[]{}|<>#")
_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset("a an and at by for from in into of on or the to with de la le el der die das".split())
_TABLE = "wikipedia_cache_v1"


class WikipediaError(ToolError):
    """A Wikipedia lookup failed: no answer, an HTTP error, or an API error."""


@dataclass(frozen=True)
class WikipediaResult:
    """What one lookup found.

    ``kind`` is ``"page"`` (``title`` and its introduction in ``extract``),
    ``"ambiguous"`` (``title`` is a disambiguation page; ``similar`` lists candidates) or
    ``"not_found"`` (``similar`` lists the closest titles, possibly none).
    """

    kind: Literal["page", "ambiguous", "not_found"]
    title: str | None = None
    extract: str = ""
    similar: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> WikipediaResult:
        data = json.loads(text)
        return cls(data["kind"], data.get("title"), data.get("extract", ""), tuple(data.get("similar", ())))


@dataclass
class WikipediaStats:
    """Counters of one `WikipediaSearch`.

    ``requests``: HTTP requests sent; ``cache_hits``: lookups answered from a cache
    (memory or disk), of which ``disk_hits`` from SQLite; ``coalesced``: lookups that
    joined another one for the same entity already in flight; ``errors``: lookups that
    raised.
    """

    lookups: int = 0
    requests: int = 0
    cache_hits: int = 0
    disk_hits: int = 0
    coalesced: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------


def normalize_entity(entity: str) -> str:
    """The cache key and the title sent: MediaWiki's own normalisation (underscores to
    spaces, whitespace collapsed, first letter upper-cased). Titles stay case-sensitive
    after the first letter, as on Wikipedia ("Red Dwarf" is not "Red dwarf")."""
    text = " ".join(str(entity).replace("_", " ").split())
    return text[:1].upper() + text[1:]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()]


def first_paragraph(text: str) -> str:
    """The first non-empty paragraph (paragraphs of plain-text extracts are separated by
    newlines)."""
    paragraphs = _paragraphs(text)
    return paragraphs[0] if paragraphs else ""


_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr mt ft vs etc ca c approx no nos vol inc ltd co corp gen col lt sgt "
    "rev hon fr jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e a.k.a u.s u.k u.n".split()
)
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+")


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences: at ``.``, ``!`` or ``?`` followed by whitespace and
    a capital letter, digit or quote, but not after initials ("J. R. R. Tolkien") or
    common abbreviations ("St. Louis", "U.S. Army"). Paragraph breaks always end one."""
    sentences: list[str] = []
    for paragraph in _paragraphs(text):
        start = 0
        for match in _BOUNDARY.finditer(paragraph):
            nxt = paragraph[match.end() : match.end() + 1]
            if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘(["):
                continue
            if paragraph[match.start()] == ".":
                before = paragraph[start : match.start()].rsplit(None, 1)
                word = before[-1].lstrip("\"'“‘([").casefold() if before else ""
                if len(word) == 1 and word.isalpha() or word in _ABBREVIATIONS:
                    continue
            sentences.append(paragraph[start : match.end()].strip())
            start = match.end()
        tail = paragraph[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def _significant_words(text: str) -> set[str]:
    words = {w.casefold() for w in _WORD.findall(text)}
    return (words - _STOPWORDS) or words


def _default_user_agent() -> str:
    import llmcompiler  # the package is fully imported by the time an instance is made

    version = getattr(llmcompiler, "__version__", "0")
    return f"llmcompiler/{version} (+{PROJECT_URL}; research benchmark runner) aiohttp/{aiohttp.__version__}"


# --------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------


@dataclass
class _InFlight:
    task: asyncio.Task
    waiters: int = 0


@dataclass
class _Loop:
    """What belongs to one event loop: the HTTP session and the lookups in flight."""

    loop: asyncio.AbstractEventLoop
    session: aiohttp.ClientSession
    inflight: dict[tuple[str, str], _InFlight] = field(default_factory=dict)  # (api_url, entity)


class WikipediaSearch:
    """Entity lookups on Wikipedia (or any MediaWiki) through its Action API.

    Args:
        api_url: the ``api.php`` URL; default: ``$LLMCOMPILER_WIKIPEDIA_URL`` or
            English Wikipedia.
        cache_path: a SQLite file that keeps results across instances and processes.
        user_agent: the User-Agent header (Wikimedia asks for one that names the client
            and a contact); default ``llmcompiler/<version> (+<project URL>; ...)``.
        timeout: seconds for one HTTP request, connecting included.
        max_connections: connections the shared session keeps open at most; default
            `connections_for` the run's concurrency (see `sized_for`), at least 16.
        sentences: return the first N sentences of the introduction instead of its
            first paragraph (`ORIGINAL_SENTENCES` reproduces the original tool).
    """

    def __init__(
        self,
        *,
        api_url: str | None = None,
        cache_path: str | os.PathLike[str] | None = None,
        user_agent: str | None = None,
        timeout: float = 15.0,
        max_connections: int | None = None,
        sentences: int | None = None,
    ) -> None:
        if timeout is None or timeout <= 0:
            raise ConfigurationError(f"WikipediaSearch timeout must be > 0 seconds, got {timeout!r}")
        if max_connections is not None and max_connections < 1:
            raise ConfigurationError(f"WikipediaSearch max_connections must be >= 1, got {max_connections!r}")
        if sentences is not None and sentences < 1:
            raise ConfigurationError(f"WikipediaSearch sentences must be None or >= 1, got {sentences!r}")
        url = api_url or os.environ.get(ENV_API_URL, "").strip() or DEFAULT_API_URL
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"WikipediaSearch api_url must be an http(s) URL of api.php, got {url!r}")
        self.api_url = url
        self.cache_path = os.path.expanduser(os.fspath(cache_path)) if cache_path is not None else None
        self.user_agent = user_agent or _default_user_agent()
        self.timeout = float(timeout)
        self.max_connections = None if max_connections is None else int(max_connections)
        self.sentences = sentences
        self.stats = WikipediaStats()
        self._memory: dict[tuple[str, str], WikipediaResult] = {}  # (api_url, entity)
        self._current: _Loop | None = None
        self._schema_ready = False

    # -- public API ------------------------------------------------------------------------

    async def search(self, entity: str) -> str:
        """The observation for `entity`: the start of its article, or a "Could not find"
        line naming similar titles. Raises `WikipediaError` when Wikipedia can't be
        reached or answers with an error."""
        result = await self.lookup(entity)
        return self.observation(result, " ".join(str(entity).split()))

    async def lookup(self, entity: str) -> WikipediaResult:
        """What `search` finds, as data."""
        key = normalize_entity(entity)
        if not key:
            raise ValueError('search() needs a non-empty entity, e.g. search("Mount Everest")')
        self.stats.lookups += 1
        slot = (self.api_url, key)
        cached = self._memory.get(slot)
        if cached is not None:
            self.stats.cache_hits += 1
            return cached
        state = self._state()
        entry = state.inflight.get(slot)
        if entry is None:
            entry = _InFlight(state.loop.create_task(self._resolve(state, key)))
            state.inflight[slot] = entry
            entry.task.add_done_callback(lambda task: self._finished(state, slot, entry))
        else:
            self.stats.coalesced += 1
        entry.waiters += 1
        try:
            return await asyncio.shield(entry.task)
        finally:
            entry.waiters -= 1
            if entry.waiters == 0 and not entry.task.done():
                # Everyone who wanted it was cancelled: stop the lookup, and let the next
                # caller start a fresh one rather than join one being cancelled.
                entry.task.cancel()
                if state.inflight.get(slot) is entry:
                    del state.inflight[slot]

    def observation(self, result: WikipediaResult, entity: str) -> str:
        """Render a lookup's result the way `search` returns it."""
        if result.kind == "page":
            text = self._limit(result.extract)
            return text or f"{result.title}: the article has no introduction."
        if result.kind == "ambiguous":
            if result.similar:
                return (
                    f'Could not find {entity}: "{result.title}" is a disambiguation page. '
                    f"Similar: {list(result.similar)}."
                )
            return f'Could not find {entity}: "{result.title}" is a disambiguation page. No similar titles.'
        if result.similar:
            return f"Could not find {entity}. Similar: {list(result.similar)}."
        return f"Could not find {entity}. No similar titles."

    def as_tool(self, name: str = "search", description: str | None = None, **options: Any) -> Tool:
        """A `Tool` ``name(entity: str) -> str`` that calls `search`. `options` are `Tool`'s
        keyword options (timeout, retries, max_concurrency)."""
        searcher = self

        async def search(entity: str) -> str:
            return await searcher.search(entity)

        search.__name__ = search.__qualname__ = name
        what = f"the first {self.sentences} sentences" if self.sentences else "the first paragraph"
        if description is None:
            description = (
                f"{name}(entity: str) -> str:\n"
                f" - Looks up one entity on Wikipedia (its exact title first, then the closest search hit) "
                f"and returns {what} of its article.\n"
                f' - `entity` is a single name, e.g. "Mount Everest", "cheetah", "San Francisco"; '
                f"not a question or a sentence.\n"
                f' - If there is no such article, or the name is ambiguous, it returns "Could not find ..." '
                f"with a list of similar titles: call it again with one of them.\n"
                f" - To look up several entities, make one call per entity; the calls run in parallel.\n"
            )
        return Tool(name, search, description, **options)

    async def aclose(self) -> None:
        """Cancel lookups in flight and close the HTTP session."""
        state, self._current = self._current, None
        if state is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - called outside a loop
            loop = None
        if state.loop is not loop:
            _abandon(state)
            return
        tasks = [e.task for e in state.inflight.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await state.session.close()

    async def __aenter__(self) -> WikipediaSearch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def clear_memory_cache(self) -> None:
        self._memory.clear()

    def __repr__(self) -> str:
        return f"WikipediaSearch(api_url={self.api_url!r}, cache_path={self.cache_path!r}, sentences={self.sentences})"

    # -- lookups --------------------------------------------------------------------------

    def _state(self) -> _Loop:
        """The session and in-flight table of the running loop, made on first use (and
        again when the loop changed: a session cannot move between loops)."""
        loop = asyncio.get_running_loop()
        state = self._current
        if state is not None and state.loop is loop and not state.session.closed:
            return state
        if state is not None:
            _abandon(state)
        limit = self.max_connections or connections_for(_run_concurrency.get())
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit)
        session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.user_agent, "Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )
        self._current = _Loop(loop, session)
        return self._current

    def _finished(self, state: _Loop, slot: tuple[str, str], entry: _InFlight) -> None:
        if state.inflight.get(slot) is entry:
            del state.inflight[slot]
        task = entry.task
        if not task.cancelled() and task.exception() is not None:  # retrieved: no warning
            self.stats.errors += 1

    async def _resolve(self, state: _Loop, key: str) -> WikipediaResult:
        slot = (self.api_url, key)
        if self.cache_path is not None:
            stored = await asyncio.to_thread(self._disk_get, key)
            if stored is not None:
                self.stats.cache_hits += 1
                self.stats.disk_hits += 1
                self._memory[slot] = stored
                return stored
        result = await self._fetch(state.session, key)
        self._memory[slot] = result
        if self.cache_path is not None:
            await asyncio.to_thread(self._disk_put, key, result)
        return result

    async def _fetch(self, session: aiohttp.ClientSession, entity: str) -> WikipediaResult:
        if not (_ILLEGAL_TITLE_CHARS & set(entity)):  # a title MediaWiki could accept
            page = await self._page(session, entity, entity)
            if page is not None:
                return await self._classify(session, entity, page, ())
        hits = await self._search(session, entity)
        if not hits:
            return WikipediaResult("not_found")
        wanted = _significant_words(entity)
        best = next((h for h in hits if wanted & _significant_words(h)), None)
        if best is None:
            return WikipediaResult("not_found", similar=tuple(hits))
        page = await self._page(session, best, entity)
        if page is None:  # deleted between the search and the fetch
            return WikipediaResult("not_found", similar=tuple(hits))
        return await self._classify(session, entity, page, hits)

    async def _classify(
        self, session: aiohttp.ClientSession, entity: str, page: dict[str, Any], hits: tuple[str, ...] | list[str]
    ) -> WikipediaResult:
        title = str(page.get("title") or entity)
        props = page.get("pageprops")
        if isinstance(props, dict) and "disambiguation" in props:
            if not hits:
                hits = await self._search(session, entity)
            similar = tuple(h for h in hits if h != title and not h.endswith("(disambiguation)"))
            return WikipediaResult("ambiguous", title=title, similar=similar)
        extract = page.get("extract")
        return WikipediaResult("page", title=title, extract=extract if isinstance(extract, str) else "")

    async def _page(self, session: aiohttp.ClientSession, title: str, entity: str) -> dict[str, Any] | None:
        """The page object for `title` (redirects followed), None if it does not exist."""
        data = await self._api(
            session,
            {
                "action": "query",
                "prop": "extracts|pageprops",
                "exintro": "1",
                "explaintext": "1",
                "redirects": "1",
                "titles": title,
            },
            entity,
        )
        pages = (data.get("query") or {}).get("pages") or []
        if not isinstance(pages, list):
            raise WikipediaError(
                f"Wikipedia API at {self.api_url} answered without a formatversion=2 page list for {entity!r}"
            )
        for page in pages:
            if isinstance(page, dict) and not page.get("missing") and not page.get("invalid"):
                return page
        return None

    async def _search(self, session: aiohttp.ClientSession, entity: str) -> list[str]:
        data = await self._api(
            session,
            {"action": "query", "list": "search", "srsearch": entity, "srlimit": str(SEARCH_LIMIT)},
            entity,
        )
        hits = (data.get("query") or {}).get("search") or []
        titles = [h["title"] for h in hits if isinstance(h, dict) and isinstance(h.get("title"), str)]
        return list(dict.fromkeys(titles))[:SEARCH_LIMIT]

    async def _api(self, session: aiohttp.ClientSession, params: dict[str, str], entity: str) -> dict[str, Any]:
        params = {**params, "format": "json", "formatversion": "2"}
        what = f"Wikipedia API request for {entity!r} to {self.api_url}"
        self.stats.requests += 1
        try:
            async with session.get(self.api_url, params=params) as response:
                if response.status != 200:
                    body = shorten(await response.text(errors="replace"), 200, marker="...")
                    raise WikipediaError(
                        f"{what} failed: HTTP {response.status} {response.reason or ''}".rstrip()
                        + (f": {body}" if body else "")
                    )
                raw = await response.read()
        except WikipediaError:
            raise
        except (asyncio.TimeoutError, TimeoutError):
            raise WikipediaError(f"{what} timed out after {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise WikipediaError(f"{what} failed: {type(exc).__name__}: {exc}") from exc
        try:
            data = json.loads(raw)
        except ValueError:
            raise WikipediaError(
                f"{what} answered with a body that is not JSON: "
                f"{shorten(raw.decode('utf-8', 'replace'), 200, marker='...')}"
            ) from None
        if not isinstance(data, dict):
            raise WikipediaError(f"{what} answered with JSON that is not an object")
        error = data.get("error")
        if error:
            code = error.get("code", "?") if isinstance(error, dict) else "?"
            info = error.get("info", "") if isinstance(error, dict) else str(error)
            raise WikipediaError(f"{what} failed: API error {code}: {info}")
        return data

    def _limit(self, extract: str) -> str:
        if self.sentences is None:
            return first_paragraph(extract)
        return " ".join(split_sentences(extract)[: self.sentences])

    # -- the SQLite cache (runs in worker threads) -------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        assert self.cache_path is not None
        if not self._schema_ready:
            folder = os.path.dirname(os.path.abspath(self.cache_path))
            os.makedirs(folder, exist_ok=True)
        db = sqlite3.connect(self.cache_path, timeout=30)
        if not self._schema_ready:
            with db:
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS {_TABLE} ("
                    "api_url TEXT NOT NULL, entity TEXT NOT NULL, result TEXT NOT NULL, "
                    "fetched_at REAL NOT NULL, PRIMARY KEY (api_url, entity))"
                )
            self._schema_ready = True
        return db

    def _disk_get(self, key: str) -> WikipediaResult | None:
        try:
            with closing(self._connect()) as db:
                row = db.execute(
                    f"SELECT result FROM {_TABLE} WHERE api_url = ? AND entity = ?", (self.api_url, key)
                ).fetchone()
            return WikipediaResult.from_json(row[0]) if row else None
        except (sqlite3.Error, ValueError, KeyError, OSError) as exc:
            log.warning("Wikipedia cache %s unreadable (%s); looking %r up online", self.cache_path, exc, key)
            return None

    def _disk_put(self, key: str, result: WikipediaResult) -> None:
        try:
            with closing(self._connect()) as db, db:
                db.execute(
                    f"INSERT OR REPLACE INTO {_TABLE} (api_url, entity, result, fetched_at) VALUES (?, ?, ?, ?)",
                    (self.api_url, key, result.to_json(), time.time()),
                )
        except (sqlite3.Error, OSError) as exc:
            log.warning("Wikipedia cache %s not written (%s)", self.cache_path, exc)


def _abandon(state: _Loop) -> None:
    """Drop a session that belongs to another event loop without awaiting it there."""
    for entry in state.inflight.values():
        if not state.loop.is_closed():
            state.loop.call_soon_threadsafe(entry.task.cancel)
    connector = state.session.connector
    state.session.detach()  # the session counts as closed: no "unclosed session" warning
    if connector is None:
        return
    if state.loop.is_running():  # another thread's loop: close it there

        async def close_there() -> None:
            await connector.close()

        asyncio.run_coroutine_threadsafe(close_there(), state.loop)
    else:  # a stopped or closed loop: close the transports now
        close = getattr(connector, "_close", None)
        if callable(close):
            try:
                close()
            except Exception:  # pragma: no cover - best effort on a dead loop
                pass
