"""LLM strategy: meter every call an `openai` or `anthropic` client makes (sync or async, plain or streamed).

`wrap_openai(client, ...)` and `wrap_anthropic(client, ...)` return a copy of the client (a real `OpenAI`,
`AsyncAnthropic`...: every method, helper and `isinstance` check works as before) whose responses are metered
where the SDK turns JSON into objects: `_process_response_data`, which both SDKs (Stainless-generated) call
for every response body and for every server-sent event of a stream. So every endpoint that reports usage is
metered whatever the way in: OpenAI Chat Completions and Responses (`create`, `parse`, the `stream()` helpers,
`with_raw_response` once parsed), embeddings; Anthropic Messages (`create`, `stream=True`, the
`messages.stream()` helper). `with_options()` / `copy()` of the wrapped client stay metered.

One `llm` event per call, with Polar's `_llm` metadata (vendor, model, input_tokens, output_tokens,
cached_input_tokens, total_tokens) plus `partial`: a stream closed before the provider reported its final usage
emits what it had reported so far (Anthropic's input tokens from `message_start`, for instance) with
`partial: true`. For OpenAI chat streams, usage is requested with `stream_options={"include_usage": True}`
unless the caller set `stream_options` itself.

Limit: a `with_raw_response` / `with_streaming_response` body read as raw bytes or text (never `.parse()`d)
is not seen by the SDK's parser, so it is not metered.
"""

from __future__ import annotations

import inspect
import logging
import threading
import weakref
from typing import Any

from meterbill_sdk.ingestion import IngestionBuffer
from meterbill_sdk.strategies import Customer, resolve

logger = logging.getLogger("meterbill_sdk")
OPENAI_FINAL_RESPONSE_EVENTS = {"response.completed", "response.incomplete", "response.failed"}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


class LLMMeter:
    """Tracks one `llm` event per call; shared by every LLM-shaped strategy (OpenAI, Anthropic, LiteLLM...)."""

    def __init__(self, buffer: IngestionBuffer, customer: Customer, event_name: str, vendor: str) -> None:
        self.buffer, self.customer, self.event_name, self.vendor = buffer, customer, event_name, vendor

    def track(self, who: str | None, model: str, input_tokens: int, output_tokens: int, cached: int,
              partial: bool = False, vendor: str | None = None) -> None:
        self.buffer.track(self.event_name, external_customer_id=who, metadata={"_llm": {
            "vendor": vendor or self.vendor, "model": str(model)[:500], "input_tokens": input_tokens,
            "output_tokens": output_tokens, "cached_input_tokens": cached, "total_tokens": input_tokens + output_tokens,
            "partial": partial}})


class StreamUsage:
    """Usage reported so far by one streamed response; tracked once, at its final usage or when it closes."""

    __slots__ = ("meter", "who", "model", "input_tokens", "output_tokens", "cached", "done", "lock", "__weakref__")

    def __init__(self, meter: LLMMeter, who: str | None, model: str) -> None:
        self.meter, self.who, self.model = meter, who, model
        self.input_tokens = self.output_tokens = self.cached = 0
        self.done = False
        self.lock = threading.Lock()

    def finish(self, partial: bool) -> None:
        with self.lock:
            if self.done:
                return
            self.done = True
        self.meter.track(self.who, self.model, self.input_tokens, self.output_tokens, self.cached, partial)


def _openai_counts(usage: dict[str, Any]) -> tuple[int, int, int]:
    """(input, output, cached) from Chat Completions (prompt/completion), Responses (input/output) or
    embeddings (prompt only) usage."""
    if "input_tokens" in usage:
        details = usage.get("input_tokens_details") or {}
        return _int(usage["input_tokens"]), _int(usage.get("output_tokens")), _int(details.get("cached_tokens"))
    details = usage.get("prompt_tokens_details") or {}
    return (_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")),
            _int(details.get("cached_tokens") if isinstance(details, dict) else 0))


def _anthropic_counts(usage: dict[str, Any]) -> tuple[int, int, int]:
    """Anthropic's input_tokens exclude cache reads and writes: all three are input the customer sent."""
    cached = _int(usage.get("cache_read_input_tokens"))
    return (_int(usage.get("input_tokens")) + cached + _int(usage.get("cache_creation_input_tokens")),
            _int(usage.get("output_tokens")), cached)


def _observe_openai(state: StreamUsage, data: dict[str, Any]) -> None:
    kind = data.get("type")
    if isinstance(kind, str) and kind.startswith("response."):  # a Responses API stream event
        response = data.get("response")
        if isinstance(response, dict):
            state.model = response.get("model") or state.model
            usage = response.get("usage")
            if kind in OPENAI_FINAL_RESPONSE_EVENTS and isinstance(usage, dict):
                state.input_tokens, state.output_tokens, state.cached = _openai_counts(usage)
                state.finish(partial=False)
        return
    state.model = data.get("model") or state.model  # a Chat Completions chunk; usage comes in the last one
    usage = data.get("usage")
    if isinstance(usage, dict):
        state.input_tokens, state.output_tokens, state.cached = _openai_counts(usage)
        state.finish(partial=False)


def _observe_anthropic(state: StreamUsage, data: dict[str, Any]) -> None:
    kind = data.get("type")
    if kind == "message_start":
        message = data.get("message") or {}
        state.model = message.get("model") or state.model
        usage = message.get("usage")
        if isinstance(usage, dict):
            state.input_tokens, state.output_tokens, state.cached = _anthropic_counts(usage)
    elif kind == "message_delta":
        usage = data.get("usage")
        if isinstance(usage, dict):
            state.output_tokens = _int(usage.get("output_tokens")) or state.output_tokens
            if usage.get("input_tokens") is not None:  # newer API versions repeat the input counts here
                state.input_tokens, _, state.cached = _anthropic_counts(usage)
        state.finish(partial=False)


def _is_stream(response: Any) -> bool:
    headers = getattr(response, "headers", None)
    return headers is not None and "text/event-stream" in headers.get("content-type", "")


def _created(response: Any) -> bool:
    """Only a POST creates usage: GET of a stored completion or response repeats a usage already metered."""
    return getattr(getattr(response, "request", None), "method", "POST") == "POST"


def _stream_state(meter: LLMMeter, response: Any) -> StreamUsage:
    """The usage of this streamed response, created at its first event (in the caller's context, so a customer
    function sees the caller's request), with its close hooked: closing before the final usage emits a partial."""
    state: StreamUsage | None = getattr(response, "_meterbill_usage", None)
    if state is not None:
        return state
    state = StreamUsage(meter, resolve(meter.customer), "")
    response._meterbill_usage = state
    close, aclose = getattr(response, "close", None), getattr(response, "aclose", None)
    if close is not None:
        def closing() -> Any:
            try:
                return close()
            finally:
                state.finish(partial=True)
        response.close = closing
    if aclose is not None:
        async def aclosing() -> Any:
            try:
                return await aclose()
            finally:
                state.finish(partial=True)
        response.aclose = aclosing
    weakref.finalize(response, state.finish, True)  # abandoned without close: when it is collected
    return state


def _metered_client(client: Any, meter: LLMMeter, vendor: str) -> Any:
    base = type(client)
    observe = _observe_openai if vendor == "openai" else _observe_anthropic
    counts = _openai_counts if vendor == "openai" else _anthropic_counts

    def _process_response_data(self: Any, *, data: object, cast_to: Any, response: Any) -> Any:
        parsed = base._process_response_data(self, data=data, cast_to=cast_to, response=response)
        if isinstance(data, dict):
            try:
                if _is_stream(response):
                    observe(_stream_state(meter, response), data)
                elif isinstance(data.get("usage"), dict) and _created(response):
                    meter.track(resolve(meter.customer), data.get("model") or "", *counts(data["usage"]))
            except Exception:  # metering must never break the caller's LLM call
                logger.exception("meterbill: could not meter an LLM response")
        return parsed

    namespace: dict[str, Any] = {"_process_response_data": _process_response_data,
                                 "__module__": __name__, "__qualname__": f"Metered{base.__name__}"}
    if vendor == "openai":
        # Chat Completions streams report usage only when asked: ask, unless the caller decided.
        def with_usage(path: str, kwargs: dict[str, Any]) -> None:
            body = kwargs.get("body")
            if (path.endswith("/chat/completions") and isinstance(body, dict) and body.get("stream")
                    and body.get("stream_options") is None):
                kwargs["body"] = {**body, "stream_options": {"include_usage": True}}

        if inspect.iscoroutinefunction(base.post):
            async def apost(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
                with_usage(path, kwargs)
                return await base.post(self, path, *args, **kwargs)
            namespace["post"] = apost
        else:
            def post(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
                with_usage(path, kwargs)
                return base.post(self, path, *args, **kwargs)
            namespace["post"] = post
    metered = client.copy()
    metered.__class__ = type(f"Metered{base.__name__}", (base,), namespace)
    return metered


def wrap_openai(client: Any, buffer: IngestionBuffer, customer: Customer, event_name: str = "llm") -> Any:
    """A metered copy of an `openai.OpenAI` / `AsyncOpenAI` (or Azure) client."""
    return _metered_client(client, LLMMeter(buffer, customer, event_name, "openai"), "openai")


def wrap_anthropic(client: Any, buffer: IngestionBuffer, customer: Customer, event_name: str = "llm") -> Any:
    """A metered copy of an `anthropic.Anthropic` / `AsyncAnthropic` client."""
    return _metered_client(client, LLMMeter(buffer, customer, event_name, "anthropic"), "anthropic")
