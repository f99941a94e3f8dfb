"""Budgets: what a run will cost before it starts, and hard caps while it runs.

Prices are USD per million tokens, per model. The built-in table covers common OpenAI
models; a TOML or JSON file (`--prices FILE`, or `$ASSISTANT_PRICES`) adds or overrides
entries, and a `"*"` entry prices every model the table does not name (say, 0 for a
self-hosted vLLM cluster):

    [models."gpt-4o-mini"]
    input = 0.15     # USD per 1M prompt tokens
    output = 0.60    # USD per 1M completion tokens

    [models."*"]
    input = 0.0
    output = 0.0

A model matches its exact name, then without a provider prefix ("openai/gpt-4o"), then
the longest table name it starts with ("gpt-4o-mini-2024-07-18" is priced as
"gpt-4o-mini").

The cap is hard: before each model call, the call's prompt tokens (counted locally) plus
its `max_tokens` are reserved against the cap, beside everything spent and everything in
flight; a call that could cross the cap is not sent (`BudgetExceededError`). After the
call the reservation is replaced by the usage the server reports. Cached answers never
reach the ledger, so they cost nothing.
"""

from __future__ import annotations

import json
import os
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.backends.base import Backend, ChatRequest, ChatResponse, WrapperBackend
from assistant.core.tokens import count_tokens
from assistant.errors import BackendError, BudgetExceededError, UserError

__all__ = [
    "DEFAULT_PRICES",
    "Budget",
    "BudgetedBackend",
    "Estimate",
    "Ledger",
    "Price",
    "PriceTable",
    "request_tokens",
]

# Chat formatting adds a few tokens per message and per reply (OpenAI's cookbook numbers).
_PER_MESSAGE = 4
_PER_REPLY = 3


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, description="USD per 1M prompt tokens.")
    output: float = Field(ge=0, description="USD per 1M completion tokens.")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


# Standard (not Batch API) list prices, USD per 1M tokens; check the provider's page and
# override with a prices file when they change.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(input=2.50, output=10.00),
    "gpt-4o-mini": Price(input=0.15, output=0.60),
    "gpt-4.1": Price(input=2.00, output=8.00),
    "gpt-4.1-mini": Price(input=0.40, output=1.60),
    "gpt-4.1-nano": Price(input=0.10, output=0.40),
    "o3": Price(input=2.00, output=8.00),
    "o4-mini": Price(input=1.10, output=4.40),
    "gpt-5": Price(input=1.25, output=10.00),
    "gpt-5-mini": Price(input=0.25, output=2.00),
    "gpt-5-nano": Price(input=0.05, output=0.40),
}
# Backends that run on the user's own machine cost nothing per token.
_FREE_BACKENDS = frozenset({"embedded", "fake"})


class PriceTable:
    """Model name → `Price`, with the matching rules in the module docstring."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self.prices: dict[str, Price] = dict(DEFAULT_PRICES if prices is None else prices)

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceTable:
        """The built-in table, overridden by `path` (or `$ASSISTANT_PRICES` when None)."""
        table = cls()
        source = path if path is not None else os.environ.get("ASSISTANT_PRICES")
        if source:
            table.prices.update(_read_prices(Path(source)))
        return table

    def lookup(self, model: str, *, fallback: bool = True) -> Price | None:
        """`model`'s price by the rules above; the `"*"` entry only when `fallback`."""
        for name in dict.fromkeys((model, model.rsplit("/", 1)[-1])):
            if name in self.prices:
                return self.prices[name]
            prefixes = [p for p in self.prices if p != "*" and name.startswith(p)]
            if prefixes:
                return self.prices[max(prefixes, key=len)]
        return self.prices.get("*") if fallback else None

    def for_backend(self, backend: Backend) -> Price | None:
        """The price of `backend`'s model; local backends cost nothing unless priced."""
        if backend.name in _FREE_BACKENDS:
            return self.lookup(backend.model, fallback=False) or Price(input=0.0, output=0.0)
        return self.lookup(backend.model)


def _read_prices(path: Path) -> dict[str, Price]:
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except OSError as exc:
        raise UserError(f"cannot read the price file {path}: {exc.strerror or exc}") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"price file {path} is not valid {path.suffix[1:] or 'TOML'}: {exc}") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise UserError(f"price file {path}: expected a 'models' table of "
                        "{name: {input = USD/1M, output = USD/1M}}")
    try:
        return {str(name): Price.model_validate(entry) for name, entry in models.items()}
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise UserError(f"price file {path}: {'.'.join(map(str, first['loc']))}: "
                        f"{first['msg']}") from None


def request_tokens(request: ChatRequest, count: Callable[[str], int]) -> int:
    """Prompt tokens a request will cost: messages, chat formatting and the output schema."""
    tokens = _PER_REPLY + sum(_PER_MESSAGE + count(m.content) for m in request.messages)
    if request.json_schema is not None:
        tokens += count(json.dumps(request.json_schema, separators=(",", ":")))
    return tokens


# --------------------------------------------------------------------------- estimate


class Estimate(BaseModel):
    """What a run is expected to cost, before it starts."""

    articles: int = Field(description="Inputs to process.")
    calls: int = Field(description="Model calls at one attempt each (re-asks not included).")
    max_calls: int | None = Field(None, description="Model calls if every call is re-asked up "
                                                    "to its attempt limit.")
    prompt_tokens: int = Field(description="Prompt tokens over those calls.")
    completion_tokens: int = Field(description="Expected completion tokens.")
    max_completion_tokens: int = Field(description="Completion tokens if every call used its max_tokens.")
    model: str = Field(description="Model priced.")
    cost: float | None = Field(description="Expected USD; None when the model has no price.")
    max_cost: float | None = Field(description="USD if every call used its max_tokens.")
    exact: bool = Field(description="Tokens counted with the model's own tokenizer.")

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def line(self) -> str:
        cost = ("cost unknown (no price for this model; see --prices)" if self.cost is None
                else f"≈ ${self.cost:,.4f} (at most ${self.max_cost or 0:,.4f})")
        approx = "" if self.exact else "~"
        reasks = (f" (up to {self.max_calls:,} with re-asks)"
                  if self.max_calls is not None and self.max_calls > self.calls else "")
        return (f"estimate: {self.articles} article(s), {self.calls:,} call(s){reasks}, "
                f"{approx}{self.prompt_tokens:,} prompt + ~{self.completion_tokens:,} completion "
                f"tokens (at most {self.max_completion_tokens:,}) with {self.model}: {cost}")

    @classmethod
    def of(cls, requests: Iterable[ChatRequest], *, articles: int, model: str,
           price: Price | None, completion_ratio: float = 0.5,
           discount: float = 1.0, max_calls: int | None = None) -> Estimate:
        """Count `requests`; completions are assumed to use `completion_ratio` of max_tokens.

        `discount` scales the prices (0.5 for OpenAI's Batch API).
        """
        calls = prompt = ceiling = 0
        exact = True
        for request in requests:
            calls += 1
            counted = [count_tokens(m.content, model) for m in request.messages]
            exact = exact and all(c.exact for c in counted)
            prompt += _PER_REPLY + sum(_PER_MESSAGE + c.tokens for c in counted)
            if request.json_schema is not None:
                prompt += count_tokens(json.dumps(request.json_schema, separators=(",", ":")),
                                       model).tokens
            ceiling += request.max_tokens
        expected = round(ceiling * completion_ratio)
        cost = max_cost = None
        if price is not None:
            cost = price.cost(prompt, expected) * discount
            max_cost = price.cost(prompt, ceiling) * discount
        return cls(articles=articles, calls=calls, max_calls=max_calls, prompt_tokens=prompt,
                   completion_tokens=expected, max_completion_tokens=ceiling, model=model,
                   cost=cost, max_cost=max_cost, exact=exact)


# --------------------------------------------------------------------------- caps


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int | None = Field(None, gt=0, description="Cap on prompt + completion tokens.")
    max_cost: float | None = Field(None, gt=0, description="Cap on USD spent.")

    @property
    def unlimited(self) -> bool:
        return self.max_tokens is None and self.max_cost is None


@dataclass
class _Reservation:
    prompt_tokens: int
    tokens: int
    cost: float


class Ledger:
    """Running totals against a `Budget`; shared by every call of a run, thread-safe."""

    def __init__(self, budget: Budget, *, price: Price | None, count: Callable[[str], int],
                 discount: float = 1.0, model: str = "") -> None:
        if budget.max_cost is not None and price is None:
            raise UserError(f"no price for model {model!r}, so a cost cap cannot be enforced; "
                            "add it to a prices file (--prices / ASSISTANT_PRICES)")
        self.budget = budget
        self.price = price
        self.count = count
        self.discount = discount
        self.spent_tokens = 0
        self.spent_cost = 0.0
        self.calls = 0
        self.refused = 0
        self._held_tokens = 0
        self._held_cost = 0.0
        self._lock = threading.Lock()

    def _cost(self, prompt: int, completion: int) -> float:
        return self.price.cost(prompt, completion) * self.discount if self.price else 0.0

    @property
    def exhausted(self) -> bool:
        """True once a call has been refused: schedulers should start nothing new."""
        return self.refused > 0

    def reserve(self, request: ChatRequest) -> _Reservation:
        prompt = request_tokens(request, self.count)
        held = _Reservation(prompt, prompt + request.max_tokens,
                            self._cost(prompt, request.max_tokens))
        with self._lock:
            cap, cost_cap = self.budget.max_tokens, self.budget.max_cost
            tokens_after = self.spent_tokens + self._held_tokens + held.tokens
            cost_after = self.spent_cost + self._held_cost + held.cost
            if cap is not None and tokens_after > cap:
                self.refused += 1
                raise BudgetExceededError(
                    f"token cap of {cap:,} reached: {self.spent_tokens:,} spent, "
                    f"{self._held_tokens:,} in flight, the next call may need {held.tokens:,}")
            if cost_cap is not None and cost_after > cost_cap:
                self.refused += 1
                raise BudgetExceededError(
                    f"cost cap of ${cost_cap:,.4f} reached: ${self.spent_cost:,.4f} spent, "
                    f"${self._held_cost:,.4f} in flight, the next call may cost ${held.cost:,.4f}")
            self._held_tokens += held.tokens
            self._held_cost += held.cost
        return held

    def settle(self, held: _Reservation, response: ChatResponse | None,
               error: BaseException | None = None) -> None:
        """Replace a reservation by what the call used.

        An HTTP error status is not billed; a timeout or dropped connection may have been
        processed, so its prompt tokens are charged.
        """
        if response is not None:
            prompt = response.prompt_tokens or held.prompt_tokens
            completion = response.completion_tokens or self.count(response.text)
        elif isinstance(error, BackendError) and error.status_code is not None:
            prompt = completion = 0
        else:
            prompt, completion = held.prompt_tokens, 0
        with self._lock:
            self._held_tokens -= held.tokens
            self._held_cost -= held.cost
            self.spent_tokens += prompt + completion
            self.spent_cost += self._cost(prompt, completion)
            self.calls += response is not None

    def line(self) -> str:
        cost = f", ${self.spent_cost:,.4f}" if self.price is not None else ""
        return f"spent {self.spent_tokens:,} tokens{cost} over {self.calls} call(s)"


class BudgetedBackend(WrapperBackend):
    """A `Backend` that reserves each call against a `Ledger` before sending it."""

    def __init__(self, inner: Backend, ledger: Ledger) -> None:
        super().__init__(inner)
        self.ledger = ledger

    def complete(self, request: ChatRequest) -> ChatResponse:
        held = self.ledger.reserve(request)
        try:
            response = self.inner.complete(request)
        except BaseException as exc:
            self.ledger.settle(held, None, exc)
            raise
        self.ledger.settle(held, response)
        return response

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        held = self.ledger.reserve(request)
        try:
            response = await self.inner.acomplete(request)
        except BaseException as exc:
            self.ledger.settle(held, None, exc)
            raise
        self.ledger.settle(held, response)
        return response
