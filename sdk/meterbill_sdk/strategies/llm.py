"""LLM strategy: wrap an `openai` or `anthropic` client (sync or async, plain or streaming responses).

The wrapper forwards every attribute to the real client; `chat.completions.create` (OpenAI) and
`messages.create` (Anthropic) are intercepted to read the token usage of the response, and one event with
Polar's `_llm` metadata is tracked per call. Streams are passed through chunk by chunk; the event is tracked
when the stream ends. For OpenAI streams, usage is requested with `stream_options={"include_usage": True}`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from meterbill_sdk.ingestion import IngestionBuffer
from meterbill_sdk.strategies import Customer, resolve


def _get(obj: Any, name: str, default: Any = 0) -> Any:
    if obj is None:
        return default
    value = obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)
    return default if value is None else value


class _Meter:
    def __init__(self, buffer: IngestionBuffer, customer: Customer, event_name: str, vendor: str) -> None:
        self.buffer, self.customer, self.event_name, self.vendor = buffer, customer, event_name, vendor

    def track(self, model: str, input_tokens: int, output_tokens: int, cached: int) -> None:
        self.buffer.track(self.event_name, external_customer_id=resolve(self.customer), metadata={"_llm": {
            "vendor": self.vendor, "model": model, "input_tokens": input_tokens, "output_tokens": output_tokens,
            "cached_input_tokens": cached, "total_tokens": input_tokens + output_tokens}})


# OpenAI -------------------------------------------------------------------------------------------------------

def _openai_usage(meter: _Meter, model: str, usage: Any) -> None:
    details = _get(usage, "prompt_tokens_details", None)
    meter.track(model, int(_get(usage, "prompt_tokens")), int(_get(usage, "completion_tokens")),
                int(_get(details, "cached_tokens")))


class _OpenAICompletions:
    def __init__(self, real: Any, meter: _Meter, is_async: bool) -> None:
        self._real, self._meter, self._async = real, meter, is_async

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("stream"):
            kwargs.setdefault("stream_options", {"include_usage": True})
        if self._async:
            return self._acreate(*args, **kwargs)
        response = self._real.create(*args, **kwargs)
        if kwargs.get("stream"):
            return self._stream(response, kwargs.get("model", ""))
        _openai_usage(self._meter, _get(response, "model", kwargs.get("model", "")), _get(response, "usage", None))
        return response

    async def _acreate(self, *args: Any, **kwargs: Any) -> Any:
        response = await self._real.create(*args, **kwargs)
        if kwargs.get("stream"):
            return self._astream(response, kwargs.get("model", ""))
        _openai_usage(self._meter, _get(response, "model", kwargs.get("model", "")), _get(response, "usage", None))
        return response

    def _stream(self, chunks: Any, model: str) -> Iterator[Any]:
        usage = None
        for chunk in chunks:
            usage = _get(chunk, "usage", None) or usage
            model = _get(chunk, "model", model) or model
            yield chunk
        if usage is not None:
            _openai_usage(self._meter, model, usage)

    async def _astream(self, chunks: Any, model: str) -> AsyncIterator[Any]:
        usage = None
        async for chunk in chunks:
            usage = _get(chunk, "usage", None) or usage
            model = _get(chunk, "model", model) or model
            yield chunk
        if usage is not None:
            _openai_usage(self._meter, model, usage)


class _Namespace:
    def __init__(self, real: Any, **children: Any) -> None:
        self._real, self._children = real, children

    def __getattr__(self, name: str) -> Any:
        return self._children[name] if name in self._children else getattr(self._real, name)


def wrap_openai(client: Any, buffer: IngestionBuffer, customer: Customer, event_name: str = "llm") -> Any:
    is_async = type(client).__name__.startswith("Async")
    completions = _OpenAICompletions(client.chat.completions, _Meter(buffer, customer, event_name, "openai"),
                                     is_async)
    return _Namespace(client, chat=_Namespace(client.chat, completions=completions))


# Anthropic ----------------------------------------------------------------------------------------------------

class _AnthropicMessages:
    def __init__(self, real: Any, meter: _Meter, is_async: bool) -> None:
        self._real, self._meter, self._async = real, meter, is_async

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def _track(self, model: str, usage: Any) -> None:
        cached = int(_get(usage, "cache_read_input_tokens"))
        created = int(_get(usage, "cache_creation_input_tokens"))
        self._meter.track(model, int(_get(usage, "input_tokens")) + cached + created, int(_get(usage, "output_tokens")),
                          cached)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        if self._async:
            return self._acreate(*args, **kwargs)
        response = self._real.create(*args, **kwargs)
        if kwargs.get("stream"):
            return self._stream(response, kwargs.get("model", ""))
        self._track(_get(response, "model", kwargs.get("model", "")), _get(response, "usage", None))
        return response

    async def _acreate(self, *args: Any, **kwargs: Any) -> Any:
        response = await self._real.create(*args, **kwargs)
        if kwargs.get("stream"):
            return self._astream(response, kwargs.get("model", ""))
        self._track(_get(response, "model", kwargs.get("model", "")), _get(response, "usage", None))
        return response

    @staticmethod
    def _fold(state: dict[str, Any], event: Any) -> None:
        """message_start carries the input usage, message_delta the final output tokens."""
        kind = _get(event, "type", "")
        if kind == "message_start":
            message = _get(event, "message", None)
            state["model"] = _get(message, "model", state["model"])
            usage = _get(message, "usage", None)
            for name in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens"):
                state[name] = int(_get(usage, name))
        elif kind == "message_delta":
            state["output_tokens"] = int(_get(_get(event, "usage", None), "output_tokens", state["output_tokens"]))

    def _stream(self, events: Any, model: str) -> Iterator[Any]:
        state: dict[str, Any] = {"model": model, "input_tokens": 0, "output_tokens": 0,
                                 "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
        for event in events:
            self._fold(state, event)
            yield event
        self._track(state["model"], state)

    async def _astream(self, events: Any, model: str) -> AsyncIterator[Any]:
        state: dict[str, Any] = {"model": model, "input_tokens": 0, "output_tokens": 0,
                                 "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
        async for event in events:
            self._fold(state, event)
            yield event
        self._track(state["model"], state)


def wrap_anthropic(client: Any, buffer: IngestionBuffer, customer: Customer, event_name: str = "llm") -> Any:
    is_async = type(client).__name__.startswith("Async")
    messages = _AnthropicMessages(client.messages, _Meter(buffer, customer, event_name, "anthropic"), is_async)
    return _Namespace(client, messages=messages)
