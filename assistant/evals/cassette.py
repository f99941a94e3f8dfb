"""Record / replay of model exchanges: a `Backend` wrapper backed by one JSON file per suite.

    CassetteBackend(inner, path, mode="record")   call `inner`, keep every exchange
    CassetteBackend(None, path, mode="replay")    answer from the file; never call a model
    CassetteBackend(inner, path, mode="fill")     replay what is there, record what is not

Entries are keyed by `ChatRequest.cache_key(backend, model, base_url)`, which covers the
prompt templates (name@hash), the rendered messages, the output schema and the sampling
parameters; in replay the backend, model and base_url come from the cassette itself. Each
entry also keeps the parts of its key (template hashes, one hash per message, schema
hash, parameters), so a miss can say *what* changed: a template, an input, a parameter.

Token counts the pipeline asks for (it chunks articles by them) are recorded too, so a
replay needs neither the model nor its tokenizer.

The file is written sorted (items by id, exchanges in call order) with one field per
line, so a re-recording shows up in review as a readable diff. Only the items a session
ran are replaced; the rest of the file is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_serializer

from assistant.backends.base import Backend, ChatRequest, ChatResponse
from assistant.errors import BackendError, UserError
from assistant.evals import paths

Mode = Literal["record", "replay", "fill"]
FORMAT_VERSION = 1
# Cassettes of the project's own fixtures are committed; external suites' stay out of the
# repo (their responses quote data that must not be copied into it).
COMMITTED_SUITES = ("fixtures",)
_FALLBACK_ITEM = "-"


def default_path(suite: str) -> Path:
    folder = paths.committed_cassettes() if suite in COMMITTED_SUITES else paths.local_cassettes()
    return folder / f"{suite}.json"


def _sha(text: str, n: int = 12) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def _templates(prompt: str) -> dict[str, str]:
    """'article@ab12+claims@cd34' -> {'article': 'ab12', 'claims': 'cd34'}."""
    out = {}
    for part in filter(None, prompt.split("+")):
        name, _, digest = part.partition("@")
        out[name] = digest
    return out


class Exchange(BaseModel):
    """One recorded request/response pair and the parts of its key."""

    item: str = Field(description="Eval item the exchange belongs to.")
    seq: int = Field(description="Position among the item's exchanges, from 0.")
    key: str = Field(description="ChatRequest.cache_key under the cassette's backend/model.")
    prompt: str = Field(description="Templates behind the messages, name@hash+...")
    messages: list[str] = Field(description="'role:sha12' of each rendered message.")
    schema_name: str = Field(description="Output schema name.")
    schema_hash: str = Field(description="sha256 of the JSON schema, 12 hex digits.")
    params: dict[str, float | int | None] = Field(description="temperature, max_tokens, seed.")
    response: ChatResponse = Field(description="What the model answered, as it answered "
                                               "(latency rounded to ms).")

    @field_serializer("response")
    def _dump_response(self, response: ChatResponse) -> dict[str, Any]:
        # A cassette answer is never a cached one, and most carry no log-probabilities:
        # neither is written then, so entries read as they did before they were kept whole.
        data = response.model_dump(exclude={"cached"})
        if data["logprobs"] is None:
            del data["logprobs"]
        return data


class CassetteFile(BaseModel):
    version: int = Field(FORMAT_VERSION, description="File format version.")
    suite: str = Field("", description="Suite the exchanges were recorded for.")
    backend: str = Field(description="Backend name the keys were computed with.")
    model: str = Field(description="Model name the keys were computed with.")
    base_url: str | None = Field(None, description="Endpoint the keys were computed with.")
    recorded_at: str = Field("", description="UTC time of the last recording session.")
    # The claims prompt carries speaker hints from the deterministic signals, which differ
    # between the spaCy parse and the regex fallback: a replay needs the same method.
    signals: str = Field("spacy", description="Signal method (spacy or regex) the prompts were "
                                              "rendered with; files from before the field: spacy.")
    token_counts: dict[str, int] = Field(default_factory=dict,
                                         description="sha16 of a text -> backend token count.")
    exchanges: list[Exchange] = Field(default_factory=list, description="Sorted by item, seq.")


class Miss(BaseModel):
    """A request the cassette has no answer for, and what differs from the nearest entry."""

    item: str = Field(description="Eval item being replayed.")
    prompt: str = Field(description="Templates behind the request.")
    key: str = Field(description="The key that was not found.")
    reasons: list[str] = Field(description="What changed since the recording.")

    def __str__(self) -> str:
        return f"{self.item}: {self.prompt} (key {self.key[:12]}): {'; '.join(self.reasons)}"


class CassetteMiss(BackendError):
    """Replay met a request the cassette has not recorded; `.misses` say what changed."""

    def __init__(self, misses: Sequence[Miss], *, rerecord: str | None = None) -> None:
        self.misses = list(misses)
        self.rerecord = rerecord
        first = self.misses[0] if self.misses else None
        more = f" (and {len(self.misses) - 1} more)" if len(self.misses) > 1 else ""
        hint = f"; re-record with: {rerecord}" if rerecord else ""
        super().__init__(f"replay miss: {first}{more}{hint}")


def _params(request: ChatRequest) -> dict[str, float | int | None]:
    return {"temperature": request.temperature, "max_tokens": request.max_tokens,
            "seed": request.seed}


def _schema_hash(request: ChatRequest) -> str:
    return _sha(json.dumps(request.json_schema, sort_keys=True, ensure_ascii=False))


def _message_hashes(request: ChatRequest) -> list[str]:
    return [f"{m.role}:{_sha(m.content)}" for m in request.messages]


def explain_miss(request: ChatRequest, item: str, candidates: Sequence[Exchange]) -> list[str]:
    """What differs between `request` and the closest recorded exchange of the same item."""
    if not candidates:
        return [f"nothing recorded for item {item!r}"]
    now = _templates(request.prompt)
    same_task = [e for e in candidates if set(_templates(e.prompt)) == set(now)]
    if not same_task:
        recorded = sorted({n for e in candidates for n in _templates(e.prompt)})
        return [f"no recorded call uses templates {'+'.join(now)} (recorded: {', '.join(recorded)}); "
                "the pipeline now makes a call the recording did not (a code change, or the item "
                "stopped earlier when it was recorded)"]
    messages = _message_hashes(request)

    def closeness(e: Exchange) -> tuple[int, int, int]:
        shared = sum(a == b for a, b in zip(e.messages, messages, strict=False))
        return (len(e.messages) == len(messages), shared, -e.seq)

    near = max(same_task, key=closeness)
    reasons = [f"template {name!r} changed ({_templates(near.prompt)[name]} -> {digest})"
               for name, digest in now.items() if _templates(near.prompt)[name] != digest]
    if near.schema_hash != _schema_hash(request):
        reasons.append(f"output schema {request.schema_name} changed")
    params = _params(request)
    reasons += [f"{k} changed ({near.params.get(k)} -> {v})" for k, v in params.items()
                if near.params.get(k) != v]
    if len(near.messages) != len(messages):
        reasons.append(f"{len(messages)} messages instead of {len(near.messages)} "
                       "(a re-ask the recording did not make, or one it made)")
    else:
        changed = [f"{i + 1} ({m.split(':')[0]})" for i, (m, r) in enumerate(zip(messages, near.messages,
                                                                               strict=True)) if m != r]
        if changed and not reasons:
            reasons.append(f"message {', '.join(changed)} differs with the same templates: the "
                           "article, a variable or an earlier answer changed")
        elif changed:
            reasons.append(f"so message {', '.join(changed)} differs")
    return reasons or ["same templates, messages and parameters, but another backend/model key"]


def current_signals() -> str:
    """The signal method this install renders prompts with."""
    from assistant.text.signals import spacy_available

    return "spacy" if spacy_available() else "regex"


class SignalsMismatch(UserError):
    """The cassette was recorded with another signal method than this install has."""


class CassetteBackend:
    """A `Backend` that records exchanges to, or replays them from, a cassette file."""

    def __init__(self, inner: Backend | None, path: str | Path, mode: Mode = "replay", *,
                 suite: str = "") -> None:
        if mode not in ("record", "replay", "fill"):
            raise UserError(f"cassette mode must be record, replay or fill, not {mode!r}")
        self.path = Path(path)
        self.mode = mode
        self.inner = inner
        self.file = self._read(suite)
        if inner is None:
            if mode != "replay":
                raise UserError(f"cassette mode {mode!r} needs a backend to record from")
            if not self.path.exists():
                raise UserError(f"no cassette at {self.path}; record one with --record")
        elif mode != "replay" or not self.path.exists():
            self._adopt(inner)
        self.name: str = self.file.backend
        self.model: str = self.file.model
        self.base_url: str | None = self.file.base_url
        if mode == "replay" and self.path.exists() and self.file.signals != current_signals():
            raise SignalsMismatch(
                f"{self.path.name} was recorded with {self.file.signals} signals but this install "
                f"has {current_signals()}: its prompts would differ"
                + (" (install the nlp extra: pip install 'newsfact-assistant[nlp]')"
                   if self.file.signals == "spacy" else "; re-record it"))
        self._by_key = {e.key: e for e in self.file.exchanges}
        self._item = _FALLBACK_ITEM
        self._seq = 0
        self._fresh: dict[str, list[Exchange]] = {}
        self._counted: set[str] = set()
        self.hits = 0
        self.recorded = 0
        self.token_misses = 0

    # ------------------------------------------------------------------ file

    def _read(self, suite: str) -> CassetteFile:
        if not self.path.exists():
            return CassetteFile(suite=suite, backend="", model="")
        try:
            return CassetteFile.model_validate_json(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UserError(f"{self.path} is not a cassette file: {str(exc).splitlines()[0]}") from None

    def _adopt(self, inner: Backend) -> None:
        """Recording under another backend/model starts the file afresh: old keys are dead."""
        same = (self.file.backend, self.file.model, self.file.base_url) == \
               (inner.name, inner.model, inner.base_url)
        if not same:
            self.file = CassetteFile(suite=self.file.suite, backend=inner.name, model=inner.model,
                                     base_url=inner.base_url)

    def save(self) -> None:
        """Write the file: this session's items replace their old entries, others stay."""
        if self.mode == "replay":
            return
        kept = [e for e in self.file.exchanges if e.item not in self._fresh]
        exchanges = sorted(kept + [e for group in self._fresh.values() for e in group],
                           key=lambda e: (e.item, e.seq))
        counts = self.file.token_counts
        if not kept:  # every item was run this session: counts nobody asked for are stale
            counts = {k: v for k, v in counts.items() if k in self._counted}
        self.file = self.file.model_copy(update={
            "exchanges": exchanges, "signals": current_signals(),
            "token_counts": dict(sorted(counts.items())),
            "recorded_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(self.file.model_dump_json(indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    # ------------------------------------------------------------------ items

    def begin_item(self, item: str) -> None:
        """Exchanges from now on belong to `item` (for grouping and miss diagnosis)."""
        self._item = item
        self._seq = 0
        if self.mode != "replay":
            self._fresh[item] = []

    def end_item(self) -> None:
        self.save()
        self._item = _FALLBACK_ITEM

    # ------------------------------------------------------------------ Backend

    def key(self, request: ChatRequest) -> str:
        return request.cache_key(self.name, self.model, self.base_url)

    def _remember(self, key: str, request: ChatRequest, response: ChatResponse) -> None:
        entry = Exchange(
            item=self._item, seq=self._seq, key=key, prompt=request.prompt,
            messages=_message_hashes(request), schema_name=request.schema_name,
            schema_hash=_schema_hash(request), params=_params(request),
            response=response.model_copy(update={"cached": False,
                                                  "latency_s": round(response.latency_s, 3)}))
        self._seq += 1
        self._by_key[key] = entry
        if self.mode != "replay":
            group = self._fresh.setdefault(self._item, [])
            if all(e.key != key for e in group):
                group.append(entry)

    def _replayed(self, entry: Exchange, request: ChatRequest, key: str) -> ChatResponse:
        self.hits += 1
        if self.mode == "fill":  # keep the entry under this session's item
            self._remember(key, request, self._response(entry))
        else:
            self._seq += 1
        return self._response(entry)

    @staticmethod
    def _response(entry: Exchange) -> ChatResponse:
        return entry.response.model_copy()  # callers may change theirs; the entry stays

    def _miss(self, request: ChatRequest, key: str) -> CassetteMiss:
        candidates = [e for e in self.file.exchanges if e.item == self._item]
        return CassetteMiss([Miss(item=self._item, prompt=request.prompt, key=key,
                                  reasons=explain_miss(request, self._item, candidates))])

    def complete(self, request: ChatRequest) -> ChatResponse:
        key = self.key(request)
        if self.mode != "record" and (entry := self._by_key.get(key)) is not None:
            return self._replayed(entry, request, key)
        if self.mode == "replay" or self.inner is None:
            raise self._miss(request, key)
        response = self.inner.complete(request)
        self.recorded += 1
        self._remember(key, request, response)
        return response

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        key = self.key(request)
        if self.mode != "record" and (entry := self._by_key.get(key)) is not None:
            return self._replayed(entry, request, key)
        if self.mode == "replay" or self.inner is None:
            raise self._miss(request, key)
        response = await self.inner.acomplete(request)
        self.recorded += 1
        self._remember(key, request, response)
        return response

    def count_tokens(self, text: str) -> int:
        digest = _sha(text, 16)
        self._counted.add(digest)
        if self.inner is not None and (self.mode == "record" or digest not in self.file.token_counts):
            self.file.token_counts[digest] = self.inner.count_tokens(text)
        if (count := self.file.token_counts.get(digest)) is not None:
            return count
        # Only chunking asks, and a different chunking shows up as a request miss anyway.
        self.token_misses += 1
        return max(1, len(text) // 4) if text else 0
