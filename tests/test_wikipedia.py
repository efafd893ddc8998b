"""WikipediaSearch against a real MediaWiki-style API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections import Counter

import pytest

from llmcompiler import LLMCompiler, TaskStatus
from llmcompiler.llm import ScriptedModel
from llmcompiler.testing import WikipediaServer
from llmcompiler.tools import Tool
from llmcompiler.tools.wikipedia import (
    DEFAULT_API_URL,
    ENV_API_URL,
    ORIGINAL_SENTENCES,
    WikipediaError,
    WikipediaSearch,
    split_sentences,
)

EVEREST_1 = (
    "Mount Everest is Earth's highest mountain above sea level. It lies in the Mahalangur Himal "
    "sub-range of the Himalayas. The China–Nepal border runs across its summit point."
)
EVEREST_2 = "Its elevation of 8,848.86 m was most recently established in 2020. It attracts many climbers."
PAGES = {
    "Mount Everest": f"{EVEREST_1}\n{EVEREST_2}",
    "K2": "K2 is the second-highest mountain on Earth. It is 8,611 m high.",
    "Mercury (planet)": "Mercury is the first planet from the Sun.",
    "Mercury (element)": "Mercury is a chemical element with the symbol Hg.",
    "Freddie Mercury": "Freddie Mercury was a British singer.",
    "Cheetah": "The cheetah is a large cat native to Africa and central Iran.",
}
REDIRECTS = {"Everest": "Mount Everest", "Chomolungma": "Mount Everest"}
DISAMBIGUATION = {"Mercury": ["Mercury (planet)", "Mercury (element)", "Freddie Mercury"]}


@pytest.fixture
async def server():
    async with WikipediaServer(pages=PAGES, redirects=REDIRECTS, disambiguation=DISAMBIGUATION) as s:
        yield s


@pytest.fixture
async def wiki(server):
    w = WikipediaSearch(api_url=server.api_url)
    yield w
    await w.aclose()


# -- what a lookup finds ----------------------------------------------------------------


async def test_direct_title_returns_first_paragraph_in_one_request(server, wiki):
    assert await wiki.search("Mount Everest") == EVEREST_1
    assert server.request_count == 1
    query = server.requests[0].query
    assert query["action"] == "query" and query["titles"] == "Mount Everest"
    assert query["prop"] == "extracts|pageprops" and query["exintro"] == "1" and query["explaintext"] == "1"
    assert query["redirects"] == "1" and query["format"] == "json" and query["formatversion"] == "2"
    assert server.requests[0].headers["user-agent"].startswith("llmcompiler/")
    assert "research benchmark runner" in server.requests[0].headers["user-agent"]


async def test_redirect_and_title_normalisation(server, wiki):
    assert await wiki.search("Everest") == EVEREST_1
    assert await wiki.search("chomolungma") == EVEREST_1  # first letter is case-insensitive
    assert server.request_count == 2
    result = await wiki.lookup("Everest")
    assert result.kind == "page" and result.title == "Mount Everest"


async def test_search_fallback_when_no_page_has_the_name(server, wiki):
    assert await wiki.search("Everest mountain") == EVEREST_1
    assert server.queries("titles") == ["Everest mountain", "Mount Everest"]
    assert server.queries("srsearch") == ["Everest mountain"]
    assert server.requests[1].query["srlimit"] == "5"
    assert wiki.stats.requests == 3


async def test_disambiguation_lists_the_closest_titles(server, wiki):
    text = await wiki.search("Mercury")
    assert text == (
        'Could not find Mercury: "Mercury" is a disambiguation page. '
        "Similar: ['Mercury (planet)', 'Mercury (element)', 'Freddie Mercury']."
    )
    result = await wiki.lookup("Mercury")
    assert result.kind == "ambiguous" and result.title == "Mercury"
    # The planner can pick one and search again.
    assert await wiki.search("Mercury (planet)") == "Mercury is the first planet from the Sun."


async def test_not_found_names_similar_titles(server, wiki):
    # Search finds only a near spelling that shares no word with the entity: not a match.
    assert await wiki.search("Evrest") == "Could not find Evrest. Similar: ['Mount Everest']."
    assert await wiki.search("Zqxwvkj") == "Could not find Zqxwvkj. No similar titles."
    # Characters no title may have skip the title query and go straight to search.
    server.requests.clear()
    assert (await wiki.lookup("[[K2]]")).title == "K2"
    assert server.queries("titles") == ["K2"]


async def test_paragraph_and_sentence_limits(server):
    async with WikipediaSearch(api_url=server.api_url, sentences=2) as two:
        assert await two.search("Mount Everest") == (
            "Mount Everest is Earth's highest mountain above sea level. "
            "It lies in the Mahalangur Himal sub-range of the Himalayas."
        )
    async with WikipediaSearch(api_url=server.api_url, sentences=4) as four:  # across paragraphs
        assert await four.search("Mount Everest") == (
            EVEREST_1 + " Its elevation of 8,848.86 m was most recently established in 2020."
        )
    async with WikipediaSearch(api_url=server.api_url, sentences=ORIGINAL_SENTENCES) as five:
        assert await five.search("Mount Everest") == f"{EVEREST_1} {EVEREST_2}"
    assert split_sentences("J. R. R. Tolkien was born in 1892. He wrote books. St. Louis is in the U.S. It is big.") == [
        "J. R. R. Tolkien was born in 1892.",
        "He wrote books.",
        "St. Louis is in the U.S. It is big.",
    ]


# -- caches and sharing -------------------------------------------------------------------


async def test_in_process_cache_and_normalised_keys(server, wiki):
    first = await wiki.search("Cheetah")
    assert await wiki.search("  cheetah ") == first
    assert await wiki.search("Cheetah") == first
    assert server.request_count == 1
    assert wiki.stats.requests == 1 and wiki.stats.cache_hits == 2 and wiki.stats.lookups == 3


async def test_sqlite_cache_survives_a_new_instance(server, tmp_path):
    path = tmp_path / "cache" / "wiki.sqlite"
    async with WikipediaSearch(api_url=server.api_url, cache_path=path) as a:
        answers = [await a.search(e) for e in ("Everest", "Mercury", "Evrest")]
    sent = server.request_count
    async with WikipediaSearch(api_url=server.api_url, cache_path=path, sentences=1) as b:
        again = [await b.search(e) for e in ("Everest", "Mercury", "Evrest")]
        assert b.stats.requests == 0 and b.stats.disk_hits == 3
    assert server.request_count == sent
    assert again[1:] == answers[1:]
    assert again[0] == "Mount Everest is Earth's highest mountain above sea level."  # full intro cached
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT api_url, entity FROM wikipedia_cache_v1 ORDER BY entity").fetchall()
    assert rows == [(server.api_url, "Everest"), (server.api_url, "Evrest"), (server.api_url, "Mercury")]
    # The key includes the API: another wiki is asked, not answered from this one's cache.
    async with WikipediaServer(pages={"Everest": "A different wiki."}) as other:
        async with WikipediaSearch(api_url=other.api_url, cache_path=path) as c:
            assert await c.search("Everest") == "A different wiki."
            assert other.request_count == 1


async def test_failures_are_not_cached(server, tmp_path):
    path = tmp_path / "wiki.sqlite"
    async with WikipediaSearch(api_url=server.api_url, cache_path=path) as wiki:
        server.fail(500, message="database is locked")
        with pytest.raises(WikipediaError) as info:
            await wiki.search("K2")
        message = str(info.value)
        assert "HTTP 500" in message and "'K2'" in message and server.api_url in message
        assert "database is locked" in message
        assert wiki.stats.errors == 1
        assert await wiki.search("K2") == PAGES["K2"]
    assert server.request_count == 2


async def test_concurrent_searches_share_connections_and_in_flight_lookups(server):
    server.delay = 0.02  # every answer takes a while, so the searches really overlap
    entities = ["Everest", "K2", "Mercury", "Cheetah", "Freddie Mercury", "Everest mountain", "Evrest",
                "Mercury (planet)", "Mercury (element)", "Chomolungma"]
    calls = [entities[i % len(entities)] for i in range(20)]  # each entity twice
    async with WikipediaSearch(api_url=server.api_url, max_connections=4) as wiki:
        results = await asyncio.gather(*(wiki.search(e) for e in calls))
        assert results[:10] == results[10:]
        assert results[0] == results[5] == EVEREST_1 == results[9]
        # Each distinct entity was looked up once; the repeats joined the lookup in flight.
        assert wiki.stats.coalesced == 10
        assert Counter(server.queries("srsearch")) == Counter(
            {"Mercury": 1, "Everest mountain": 1, "Evrest": 1}
        )
        title_queries = Counter(server.queries("titles"))
        assert title_queries["Everest"] == title_queries["K2"] == title_queries["Chomolungma"] == 1
        first_wave = server.request_count
        assert first_wave == wiki.stats.requests == 14
        # A second wave (memory cache dropped) goes over the same kept-alive connections.
        wiki.clear_memory_cache()
        await asyncio.gather(*(wiki.search(e) for e in calls))
        assert server.request_count == 2 * first_wave
    assert server.connection_count <= 4
    assert server.connection_count * 5 <= server.request_count


async def test_cancelling_one_waiter_keeps_the_shared_lookup(server, wiki):
    server.delay = 0.05
    first = asyncio.create_task(wiki.search("K2"))
    second = asyncio.create_task(wiki.search("K2"))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == PAGES["K2"]
    assert first.cancelled() and server.request_count == 1
    # Everyone cancelled: the lookup stops, and a later search starts afresh.
    lone = asyncio.create_task(wiki.search("Cheetah"))
    await asyncio.sleep(0.01)
    lone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await lone
    assert await wiki.search("Cheetah") == PAGES["Cheetah"]


# -- configuration and errors ---------------------------------------------------------------


async def test_env_var_sets_the_api_url(server, monkeypatch):
    monkeypatch.setenv(ENV_API_URL, server.api_url)
    async with WikipediaSearch() as wiki:
        assert wiki.api_url == server.api_url
        assert await wiki.search("K2") == PAGES["K2"]
    assert server.request_count == 1
    assert WikipediaSearch(api_url="http://127.0.0.1:1/w/api.php").api_url == "http://127.0.0.1:1/w/api.php"
    monkeypatch.delenv(ENV_API_URL)
    assert WikipediaSearch().api_url == DEFAULT_API_URL


async def test_http_500_raises_a_clear_error(server, wiki):
    server.fail(500, times=2)
    with pytest.raises(WikipediaError, match=r"Wikipedia API request for 'Cheetah' to .* failed: HTTP 500"):
        await wiki.search("Cheetah")
    with pytest.raises(WikipediaError, match="HTTP 500"):  # not cached: asked again
        await wiki.search("Cheetah")
    assert server.request_count == 2


async def test_unreachable_server_raises_a_clear_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    async with WikipediaSearch(api_url=f"http://127.0.0.1:{port}/w/api.php", timeout=2) as wiki:
        with pytest.raises(WikipediaError, match=r"Wikipedia API request for 'K2' to .* failed: Client\w*Error"):
            await wiki.search("K2")


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_connections"):
        WikipediaSearch(max_connections=0)
    with pytest.raises(ValueError, match="sentences"):
        WikipediaSearch(sentences=0)
    with pytest.raises(ValueError, match="api_url"):
        WikipediaSearch(api_url="en.wikipedia.org")


def test_one_instance_across_event_loops():
    pages = {"K2": "K2 is a mountain."}
    wiki = WikipediaSearch(api_url="http://127.0.0.1:1/unused")

    async def once(entity: str) -> str:
        async with WikipediaServer(pages=pages | {entity: f"{entity} is here."}) as server:
            wiki.api_url = server.api_url
            return await wiki.search(entity)

    assert asyncio.run(once("Alpha")) == "Alpha is here."
    assert asyncio.run(once("Beta")) == "Beta is here."  # a new loop gets a new session
    asyncio.run(wiki.aclose())


# -- as a tool in a run -------------------------------------------------------------------------


async def test_tool_in_an_llmcompiler_run(server):
    server.fail(503, entity="Cheetah")
    async with WikipediaSearch(api_url=server.api_url) as wiki:
        search = wiki.as_tool()
        assert isinstance(search, Tool) and search.name == "search" and search.is_async
        assert search.prompt_line().startswith("search(entity: str) -> str:\n - Looks up one entity on Wikipedia")
        plan = '1. search("Everest")\n2. search("K2")\n3. search(entity="Cheetah")\n4. join()<END_OF_PLAN>'
        joiner = ScriptedModel(["Thought: Everest is higher than K2.\nAction: Finish(Mount Everest)"])
        agent = LLMCompiler(tools=[search], planner=ScriptedModel([plan]), joiner=joiner)
        result = await agent.ainvoke("Which is higher, Everest or K2?")
    assert result.error is None and result.answer == "Mount Everest"
    everest, k2, cheetah = result.tasks
    assert everest.status is TaskStatus.DONE and everest.result == EVEREST_1
    assert k2.status is TaskStatus.DONE and k2.result == PAGES["K2"]
    assert cheetah.status is TaskStatus.FAILED
    assert cheetah.observation.startswith("ERROR: WikipediaError: Wikipedia API request for 'Cheetah'")
    assert "HTTP 503" in cheetah.observation
    joiner_prompt = "\n".join(m.content for m in joiner.calls[0])
    assert EVEREST_1 in joiner_prompt and PAGES["K2"] in joiner_prompt


def test_as_tool_name_and_description():
    wiki = WikipediaSearch(api_url="http://127.0.0.1:1/w/api.php", sentences=ORIGINAL_SENTENCES)
    lookup = wiki.as_tool("wiki", timeout=5)
    assert lookup.name == "wiki" and lookup.timeout == 5
    assert lookup.prompt_line().startswith("wiki(entity: str) -> str:")
    assert "first 5 sentences" in lookup.prompt_line()
    custom = wiki.as_tool(description="Search Wikipedia.")
    assert custom.prompt_line() == "search(entity: str) -> str: Search Wikipedia."
