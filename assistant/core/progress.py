"""Progress on stderr for long commands: which stage runs, model calls so far, elapsed time.

On a terminal one line is redrawn a few times a second, and each finished stage leaves
one line behind (`✓ claims · 1 model call · 0:41`). Off a terminal, or with `--quiet`,
nothing is printed, so pipes and logs stay clean. The display learns the stage from
the prompt templates a request names (`ChatRequest.prompt`), through `watch(backend)`.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from assistant.backends.base import Backend, ChatRequest, ChatResponse, WrapperBackend

_SPIN = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
# Template name -> stage shown; `article` and `reask` are shared parts, not stages.
STAGE_NAMES = {"read": "reading the article",
               "faithfulness": "checking the summary", "verdict": "verdicts",
               "cove_plan": "verification plan", "cove_answer": "model's own answers",
               "cove_compare": "comparing answers"}
_SHARED = frozenset({"article", "reask"})


def stage_of(request: ChatRequest) -> str:
    """The stage a request belongs to, from the templates it was rendered from."""
    names = [part.split("@")[0] for part in request.prompt.split("+") if part]
    return next((STAGE_NAMES.get(n, n) for n in names if n not in _SHARED), "model call")


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


class Progress:
    """The display. `enabled=False` (or a stream that is not a terminal) prints nothing."""

    def __init__(self, out: TextIO, *, enabled: bool = True, interval: float = 0.2) -> None:
        is_tty = getattr(out, "isatty", lambda: False)()
        self.out = out
        self.enabled = enabled and bool(is_tty)
        self.interval = interval
        self.started = self.stage_started = time.monotonic()
        self.where = ""
        self.stage = ""
        self.calls = self.stage_calls = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, what: str) -> None:
        """Begin: one line naming the job and model, then the live line."""
        self.started = self.stage_started = time.monotonic()
        if not self.enabled:
            return
        self._emit(f"assistant: {what}\n")
        self._thread = threading.Thread(target=self._tick, name="assistant-progress", daemon=True)
        self._thread.start()

    def stop(self, summary: str | None = None) -> None:
        """End: the last stage's line, then `summary` with the total time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if not self.enabled:
            return
        self._emit("\r\033[K")
        self._finish_stage()
        if summary:
            self._emit(f"assistant: {summary} in {_clock(time.monotonic() - self.started)}\n")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- updates -----------------------------------------------------------------------

    def set_where(self, where: str) -> None:
        """Which part of the job runs (e.g. `[2/5] article title`); ends the stage running."""
        if where == self.where:
            return
        self._finish_stage()
        with self._lock:
            self.where = where

    def set_stage(self, stage: str) -> None:
        if stage == self.stage:
            return
        self._finish_stage()
        with self._lock:
            self.stage = stage
            self.stage_started = time.monotonic()
            self.stage_calls = 0

    def call(self, request: ChatRequest) -> None:
        """A model call is about to be sent."""
        self.set_stage(stage_of(request))
        with self._lock:
            self.calls += 1
            self.stage_calls += 1

    # -- drawing -----------------------------------------------------------------------

    def _finish_stage(self) -> None:
        with self._lock:
            stage, calls, where = self.stage, self.stage_calls, self.where
            took = time.monotonic() - self.stage_started
            self.stage = ""
        if self.enabled and stage:
            plural = "" if calls == 1 else "s"
            where = f"{where} · " if where else ""
            self._emit(f"\r\033[K  ✓ {where}{stage} · {calls} model call{plural} · {_clock(took)}\n")

    def line(self, spin: str = _SPIN[0]) -> str:
        with self._lock:
            where = f"{self.where} · " if self.where else ""
            stage = self.stage or "preparing"
            calls = f" · call {self.stage_calls}" if self.stage_calls else ""
            return f"{spin} {where}{stage}{calls} · {_clock(time.monotonic() - self.started)}"

    def _tick(self) -> None:
        n = 0
        while not self._stop.wait(self.interval):
            self._emit("\r\033[K" + self.line(_SPIN[n % len(_SPIN)]))
            n += 1

    def _emit(self, text: str) -> None:
        try:
            self.out.write(text)
            self.out.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not stop the job
            self.enabled = False


class Watched(WrapperBackend):
    """A backend that tells a `Progress` about each model call before sending it."""

    def __init__(self, inner: Backend, progress: Progress) -> None:
        super().__init__(inner)
        self.progress = progress

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.progress.call(request)
        return self.inner.complete(request)

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        self.progress.call(request)
        return await self.inner.acomplete(request)


def watch(backend: Backend, progress: Progress) -> Backend:
    """`backend` reporting to `progress`, or `backend` itself when the display is off."""
    return Watched(backend, progress) if progress.enabled else backend
