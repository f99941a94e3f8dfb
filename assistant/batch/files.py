"""The batch runner's files and terminal: an append-only results file, and a progress bar.

The results file is JSON Lines, one record per line, appended by one process at a time (a
lock file next to the resolved file, symlinks followed, refuses a second writer). Each record is written with one `write()`
of the whole line and `fsync`ed before the next, so a crash (kill -9, power loss) leaves at
most one torn last line; `open()` cuts that torn line off before appending again, and the
input it belonged to simply runs again.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from assistant.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

R = TypeVar("R", bound=BaseModel)


class ResultsFile(Generic[R]):
    """An append-only JSONL file of `model` records keyed by their `id` field."""

    def __init__(self, path: str | Path, model: type[R]) -> None:
        self.path = Path(path)
        self.model = model
        self.lines = 0
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._write_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> dict[str, R]:
        """Lock the file, repair a torn tail, and return the latest record per id.

        The lock and every write are on the resolved file: a symlink to the results file of
        a running batch names the same file, so it meets the same lock, and compaction
        replaces the file it points to, never the link.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path = self.path.resolve()
        self._lock()
        try:
            self._repair()
            records = self.read()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except BaseException:
            self.close()
            raise
        return records

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def __enter__(self) -> ResultsFile[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"another batch run is writing {self.path}; wait for it to finish "
                            "or choose another --out") from None
        self._lock_fd = fd

    def _repair(self) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size == 0:
            return
        with self.path.open("rb+") as handle:
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            # Find the end of the last complete line; everything after it is one torn write.
            pos, keep = size, 0
            while pos > 0:
                step = min(65536, pos)
                pos -= step
                handle.seek(pos)
                chunk = handle.read(step)
                if (nl := chunk.rfind(b"\n")) >= 0:
                    keep = pos + nl + 1
                    break
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        log.warning("%s: removed a torn last line (%d bytes) left by an interrupted run",
                    self.path, size - keep)

    # -- records --------------------------------------------------------------------------
    def read(self) -> dict[str, R]:
        """The latest valid record per id (later lines supersede earlier ones)."""
        records: dict[str, R] = {}
        self.lines = 0
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return records
        with handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                self.lines += 1
                try:
                    record = self.model.model_validate_json(raw)
                except ValidationError:
                    log.warning("%s:%d: not a batch record; ignored", self.path, number)
                    continue
                key = str(getattr(record, "id"))  # noqa: B009 - R is any model with an id
                records.pop(key, None)  # re-insert, so dict order follows the file
                records[key] = record
        return records

    def append(self, record: R) -> None:
        """Write one record as one line, durably, before returning."""
        data = (record.model_dump_json() + "\n").encode()
        with self._write_lock:
            if self._fd is None:
                raise RuntimeError("results file is not open")
            view = memoryview(data)
            while view:  # write() on a regular file may, rarely, be partial
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
            self.lines += 1

    def compact(self, records: dict[str, R]) -> None:
        """Rewrite the file with exactly `records` (one line each), atomically."""
        tmp = self.path.with_name(self.path.name + ".compact")
        with self._write_lock, tmp.open("wb") as handle:
            for record in records.values():
                handle.write((record.model_dump_json() + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            if self._fd is not None:
                os.close(self._fd)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            self.lines = len(records)
        with contextlib.suppress(OSError):  # make the rename itself durable
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


class Progress:
    """A progress line on stderr: done/total, a bar, counts by status, rate and ETA.

    On a terminal it redraws in place (at most 10 times a second); otherwise it prints a
    line every `interval` seconds and at the end, so logs stay readable.
    """

    def __init__(self, total: int, *, label: str = "batch", stream: IO[str] | None = None,
                 enabled: bool = True, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 0.1 if self.tty else interval
        self.clock = clock
        self.counts: dict[str, int] = {}
        self.done = 0
        self.started = clock()
        self._shown = -math.inf
        self._lock = threading.Lock()

    def update(self, status: str) -> None:
        with self._lock:
            self.done += 1
            self.counts[status] = self.counts.get(status, 0) + 1
            now = self.clock()
            if self.enabled and (now - self._shown >= self.interval or self.done == self.total):
                self._shown = now
                self._draw(now)

    def close(self) -> None:
        with self._lock:
            if self.enabled and self.done and self.done != self.total:
                self._draw(self.clock())  # the last state, if update() did not just draw it
            if self.enabled and self.tty:
                self.stream.write("\n")
                self.stream.flush()

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = self.total - self.done
        eta = _clock_text(left / rate) if rate > 0 and left else ("0:00:00" if not left else "?")
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "=" * filled + (">" if filled < width else "") + " " * max(0, width - filled - 1)
        counts = "  ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        return (f"{self.label} {self.done}/{self.total} [{bar}] {100 * self.done / self.total:3.0f}%"
                f"  {counts}  {rate:.2f}/s  elapsed {_clock_text(elapsed)}  ETA {eta}")

    def _draw(self, now: float) -> None:
        text = self.line(now)
        self.stream.write(("\r\x1b[2K" + text) if self.tty else text + "\n")
        self.stream.flush()


def _clock_text(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
