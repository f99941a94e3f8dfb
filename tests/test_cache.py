"""ResponseCache (SQLite WAL) and CachingBackend: keys, what is kept, concurrency, pruning."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from assistant.backends.base import ChatRequest, ChatResponse, Message
from assistant.backends.cache import CachingBackend, ResponseCache, default_cache_path
from assistant.backends.fake import FakeBackend
from assistant.errors import BackendError


def request(text: str = "Is the sky blue?", **kwargs: object) -> ChatRequest:
    return ChatRequest(messages=[Message(role="system", content="Answer in JSON."),
                                 Message(role="user", content=text)],
                       prompt="t@abc", **kwargs)  # type: ignore[arg-type]


def response(text: str = '{"ok": true}', finish: str = "stop") -> ChatResponse:
    return ChatResponse(text=text, finish_reason=finish, prompt_tokens=12, completion_tokens=3,
                        model="fake-model", latency_s=0.5)


@pytest.fixture
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    with ResponseCache(tmp_path / "c" / "responses.sqlite") as c:
        yield c


def test_default_path_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_path() == tmp_path / "mine" / "responses.sqlite"
    monkeypatch.delenv("ASSISTANT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "newsfact-assistant" / "responses.sqlite"


def test_database_is_wal(cache: ResponseCache) -> None:
    with sqlite3.connect(cache.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_round_trip_marks_cached_and_drops_latency(cache: ResponseCache) -> None:
    cache.put("k", response(), backend="fake", model="m", base_url=None)
    hit = cache.get("k")
    assert hit is not None and hit.cached and hit.latency_s == 0.0
    assert (hit.text, hit.prompt_tokens, hit.completion_tokens) == ('{"ok": true}', 12, 3)
    assert cache.get("other") is None
    assert "k" in cache and len(cache) == 1


@pytest.mark.parametrize(("change", "same"), [
    ({"temperature": 0.7}, False),
    ({"max_tokens": 99}, False),
    ({"seed": 5}, False),
    ({"json_schema": {"type": "object"}}, False),
    ({"prompt": "t@def"}, False),
    ({}, True),
])
def test_key_changes_with_what_changes_output(change: dict[str, object], same: bool) -> None:
    base = request().cache_key("openai", "m", "http://x/v1")
    other = request().model_copy(update=change).cache_key("openai", "m", "http://x/v1")
    assert (base == other) is same


@pytest.mark.parametrize("where", [("openai", "m2", "http://x/v1"), ("openai", "m", "http://y/v1"),
                                   ("embedded", "m", "http://x/v1")])
def test_key_names_backend_model_and_endpoint(where: tuple[str, str, str]) -> None:
    assert request().cache_key("openai", "m", "http://x/v1") != request().cache_key(*where)


def test_caching_backend_serves_repeats_and_keeps_only_finished_answers(cache: ResponseCache) -> None:
    fake = FakeBackend([response(), response("cut", finish="length"), response("cut again", "length")])
    backend = CachingBackend(fake, cache)
    first = backend.complete(request())
    again = backend.complete(request())
    assert not first.cached and again.cached and again.text == first.text
    assert len(fake.requests) == 1
    truncated = backend.complete(request("other"))
    assert truncated.finish_reason == "length"
    backend.complete(request("other"))  # not cached: asked again
    assert len(fake.requests) == 3
    assert (backend.hits, backend.misses) == (1, 3)
    assert (backend.name, backend.model, backend.base_url) == ("fake", "fake-model", None)


def test_errors_are_never_cached(cache: ResponseCache) -> None:
    fake = FakeBackend([BackendError("HTTP 500"), response()])
    backend = CachingBackend(fake, cache)
    with pytest.raises(BackendError):
        backend.complete(request())
    assert backend.complete(request()).text == '{"ok": true}'
    assert len(cache) == 1


async def test_identical_requests_in_flight_share_one_call(cache: ResponseCache) -> None:
    calls = 0

    class Slow(FakeBackend):
        async def acomplete(self, req: ChatRequest) -> ChatResponse:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.05)
            return response()

    backend = CachingBackend(Slow(), cache)
    answers = await asyncio.gather(*(backend.acomplete(request()) for _ in range(5)))
    assert calls == 1
    assert sum(a.cached for a in answers) == 4
    assert (await backend.acomplete(request())).cached


async def test_shared_call_failure_reaches_every_waiter(cache: ResponseCache) -> None:
    class Failing(FakeBackend):
        async def acomplete(self, req: ChatRequest) -> ChatResponse:
            await asyncio.sleep(0.01)
            raise BackendError("HTTP 503")

    backend = CachingBackend(Failing(), cache)
    results = await asyncio.gather(*(backend.acomplete(request()) for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, BackendError) for r in results)
    assert len(cache) == 0


def _writer(path: str, worker: int, n: int) -> None:
    with ResponseCache(path) as c:
        for i in range(n):
            c.put(f"{worker}-{i}", response(f"answer {worker}-{i}"), backend="fake", model="m",
                  base_url=None)
            assert c.get(f"{worker}-{i}") is not None


def test_concurrent_processes_and_threads_share_one_database(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    ResponseCache(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 60)) for w in range(4)]
    for p in procs:
        p.start()

    async def threads() -> None:
        with ResponseCache(path) as c:
            await asyncio.gather(*(asyncio.to_thread(_put_many, c, t) for t in range(4)))

    asyncio.run(threads())
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with ResponseCache(path) as c:
        assert len(c) == 4 * 60 + 4 * 30
        assert c.get("2-59") is not None and c.get("t3-29") is not None


def _put_many(c: ResponseCache, t: int) -> None:
    for i in range(30):
        c.put(f"t{t}-{i}", response(), backend="fake", model="m", base_url=None)


def test_prune_by_age_then_by_size_least_recently_used_first(cache: ResponseCache) -> None:
    for i in range(10):
        cache.put(f"k{i}", response("x" * 1000), backend="fake", model="m", base_url=None)
    with cache._lock:  # age two entries and mark k3 as recently read
        cache._db.execute("UPDATE responses SET created = created - 86400 * 40, "
                          "accessed = accessed - 86400 * 40 WHERE key IN ('k0', 'k1')")
        cache._db.execute("UPDATE responses SET accessed = accessed - 100 WHERE key != 'k3'")
    result = cache.prune(max_age=30 * 86400)
    assert result.removed == 2 and result.remaining == 8
    size = cache.stats().payload_bytes // 8
    result = cache.prune(max_bytes=3 * size)
    assert result.remaining == 3 and result.payload_bytes <= 3 * size
    assert "k3" in cache, "the most recently used entry survives"
    assert cache.prune(max_age=None, max_bytes=None).removed == 0
    assert cache.clear() == 3 and len(cache) == 0


def test_stats(cache: ResponseCache) -> None:
    cache.put("k", response(), backend="fake", model="m", base_url=None)
    stats = cache.stats()
    assert stats.entries == 1 and stats.payload_bytes > 0 and stats.file_bytes > 0


def test_get_refreshes_access_time(cache: ResponseCache) -> None:
    cache.put("k", response(), backend="fake", model="m", base_url=None)
    with cache._lock:
        cache._db.execute("UPDATE responses SET accessed = 0")
    before = time.time()
    cache.get("k")
    with cache._lock:
        accessed = cache._db.execute("SELECT accessed FROM responses").fetchone()[0]
    assert accessed >= before - 1
