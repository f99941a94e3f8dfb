"""A response cache on disk: SQLite in WAL mode, shared by threads and processes.

`CachingBackend(inner, cache)` answers a request from the cache when the same request was
answered before by the same backend, model and endpoint, and otherwise asks `inner` and
keeps the answer. The key is `ChatRequest.cache_key(...)`: backend, base URL, model,
prompt template hashes, the rendered messages, schema and sampling parameters; timeouts
and retry settings are not part of it, so changing them keeps the cache warm.

What is stored: the completion text, finish reason, token counts and model name. Never
headers, never the API key. Only finished answers (`finish_reason == "stop"`) are kept: a
truncated answer is re-asked anyway, and an error is never an answer.

The database lives at `$ASSISTANT_CACHE_DIR/responses.sqlite`, else
`$XDG_CACHE_HOME/newsfact-assistant/responses.sqlite`, else
`~/.cache/newsfact-assistant/responses.sqlite`. WAL lets readers run beside one writer;
`busy_timeout` makes concurrent writers (other processes) wait rather than fail.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.backends.base import Backend, ChatRequest, ChatResponse, WrapperBackend
from assistant.errors import UserError

__all__ = ["CacheStats", "CachingBackend", "PruneResult", "ResponseCache", "default_cache_path"]

APP_DIR = "newsfact-assistant"
FILE_NAME = "responses.sqlite"
_BUSY_TIMEOUT_MS = 30_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    base_url TEXT NOT NULL,
    response TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    accessed REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_accessed ON responses (accessed);
CREATE INDEX IF NOT EXISTS responses_created ON responses (created);
"""
# The response fields worth keeping; latency and the `cached` flag describe one exchange.
_STORED = {"text", "finish_reason", "prompt_tokens", "completion_tokens", "model"}


def default_cache_path() -> Path:
    """Where the response cache lives unless a path is given (see the module docstring)."""
    if env := os.environ.get("ASSISTANT_CACHE_DIR"):
        return Path(env).expanduser() / FILE_NAME
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / APP_DIR / FILE_NAME


class CacheStats(BaseModel):
    path: str = Field(description="The database file.")
    entries: int = Field(description="Cached responses.")
    payload_bytes: int = Field(description="Bytes of stored responses (what max_bytes bounds).")
    file_bytes: int = Field(description="Size of the database file and its WAL on disk.")


class PruneResult(BaseModel):
    removed: int = Field(description="Entries deleted.")
    remaining: int = Field(description="Entries left.")
    payload_bytes: int = Field(description="Bytes of stored responses left.")


class ResponseCache:
    """A key → `ChatResponse` store in one SQLite file; safe across threads and processes.

    One connection per cache object, serialised by a lock: SQLite work here takes
    microseconds, and one connection keeps the close-down simple. Other processes open
    their own connections; WAL and `busy_timeout` coordinate them.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_cache_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot open the response cache at {self.path}: {exc}") from None
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a crash can lose the last commits, never corrupt the file;
            # a lost entry only costs one more request.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(_SCHEMA)

    # -- entries --------------------------------------------------------------------------
    def get(self, key: str) -> ChatResponse | None:
        with self._lock:
            row = self._db.execute("SELECT response FROM responses WHERE key = ?",
                                   (key,)).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE responses SET accessed = ? WHERE key = ?", (time.time(), key))
        response = ChatResponse.model_validate_json(row[0])
        return response.model_copy(update={"cached": True, "latency_s": 0.0})

    def put(self, key: str, response: ChatResponse, *, backend: str, model: str,
            base_url: str | None) -> None:
        payload = response.model_dump_json(include=_STORED)
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, backend, model, base_url, response, size,"
                " created, accessed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, backend, model, base_url or "", payload, len(payload.encode()), now, now))

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM responses WHERE key = ?",
                                    (key,)).fetchone() is not None

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    # -- maintenance ----------------------------------------------------------------------
    def stats(self) -> CacheStats:
        with self._lock:
            entries, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM responses").fetchone()
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        on_disk = sum(f.stat().st_size for f in files if f.exists())
        return CacheStats(path=str(self.path), entries=entries, payload_bytes=size,
                          file_bytes=on_disk)

    def prune(self, *, max_age: float | None = None, max_bytes: int | None = None) -> PruneResult:
        """Delete entries older than `max_age` seconds, then the least recently used ones
        until the stored responses fit in `max_bytes`; then give the space back to the disk."""
        removed = 0
        with self._lock:
            if max_age is not None:
                removed += self._db.execute("DELETE FROM responses WHERE created < ?",
                                            (time.time() - max_age,)).rowcount
            if max_bytes is not None:
                total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM responses").fetchone()[0]
                if total > max_bytes:
                    # Walk from the least recently used until enough bytes are freed.
                    doomed, freed = [], 0
                    for key, size in self._db.execute(
                            "SELECT key, size FROM responses ORDER BY accessed, created"):
                        if total - freed <= max_bytes:
                            break
                        doomed.append((key,))
                        freed += size
                    self._db.executemany("DELETE FROM responses WHERE key = ?", doomed)
                    removed += len(doomed)
            if removed:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.execute("VACUUM")
            entries, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM responses").fetchone()
        return PruneResult(removed=removed, remaining=entries, payload_bytes=size)

    def clear(self) -> int:
        return self.prune(max_age=-1.0).removed

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"


class CachingBackend(WrapperBackend):
    """A `Backend` that serves repeated requests from a `ResponseCache`.

    It reports the inner backend's name, model and base URL, so provenance names the model
    that produced the answer; cached answers carry `cached=True`. Identical requests in
    flight at once (async) share one call to the inner backend.
    """

    def __init__(self, inner: Backend, cache: ResponseCache) -> None:
        super().__init__(inner)
        self.cache = cache
        self.hits = 0
        self.misses = 0
        self._inflight: dict[str, asyncio.Future[ChatResponse]] = {}

    def key(self, request: ChatRequest) -> str:
        return request.cache_key(self.inner.name, self.inner.model, self.inner.base_url)

    def complete(self, request: ChatRequest) -> ChatResponse:
        key = self.key(request)
        if (hit := self.cache.get(key)) is not None:
            self.hits += 1
            return hit
        self.misses += 1
        response = self.inner.complete(request)
        self._keep(key, response)
        return response

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        key = self.key(request)
        while (waiting := self._inflight.get(key)) is not None:
            try:
                response = await asyncio.shield(waiting)
            except asyncio.CancelledError:
                if waiting.cancelled():
                    continue  # the caller we were waiting on was cancelled: ask ourselves
                raise
            self.hits += 1
            return response.model_copy(update={"cached": True, "latency_s": 0.0})
        # Registered before the first await, so identical requests arriving meanwhile wait.
        future: asyncio.Future[ChatResponse] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            # SQLite may wait on another process's write lock: keep that off the event loop.
            hit = await asyncio.to_thread(self.cache.get, key)
            if hit is not None:
                self.hits += 1
                response = hit
            else:
                self.misses += 1
                response = await self.inner.acomplete(request)
                await asyncio.to_thread(self._keep, key, response)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so no "never retrieved" warning without waiters
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]
        future.set_result(response)
        return response

    def _keep(self, key: str, response: ChatResponse) -> None:
        if response.finish_reason == "stop" and not response.cached:
            self.cache.put(key, response, backend=self.inner.name, model=self.inner.model,
                           base_url=self.inner.base_url)

    def __repr__(self) -> str:
        return f"CachingBackend({self.inner!r}, {self.cache!r})"
