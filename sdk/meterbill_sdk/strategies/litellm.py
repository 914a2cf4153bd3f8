"""LiteLLM strategy: one wrapper, every provider LiteLLM speaks to.

    from meterbill_sdk.strategies.litellm import MeteredLiteLLM

    llm = MeteredLiteLLM(buffer, customer=lambda: current_customer())
    llm.completion(model="anthropic/claude-sonnet-4-5", messages=[...])
    await llm.acompletion(model="openai/gpt-4o-mini", messages=[...], stream=True)
    llm.embedding(model="openai/text-embedding-3-small", input=["..."])

Same arguments and return values as `litellm.completion`, `acompletion`, `embedding`, `aembedding`. One `llm`
event per call with Polar's `_llm` metadata; `vendor` is LiteLLM's provider (`openai`, `anthropic`, `bedrock`...),
the tokens are LiteLLM's normalized usage (prompt tokens include cached ones). Streams ask for usage
(`stream_options={"include_usage": True}` unless given) and are tracked at their final usage; a stream closed or
abandoned before it emits what it had, flagged `partial`.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import litellm

from meterbill_sdk.ingestion import IngestionBuffer
from meterbill_sdk.strategies import Customer, resolve
from meterbill_sdk.strategies.llm import LLMMeter, StreamUsage

logger = logging.getLogger("meterbill_sdk")


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _counts(usage: Any) -> tuple[int, int, int]:
    details = _get(usage, "prompt_tokens_details")
    cached = _get(details, "cached_tokens") if details is not None else None
    if cached is None:
        cached = _get(usage, "cache_read_input_tokens")
    return int(_get(usage, "prompt_tokens") or 0), int(_get(usage, "completion_tokens") or 0), int(cached or 0)


def _vendor(kwargs: dict[str, Any], response: Any) -> str:
    hidden = getattr(response, "_hidden_params", None) or {}
    provider = kwargs.get("custom_llm_provider") or hidden.get("custom_llm_provider")
    if not provider:
        try:
            provider = litellm.get_llm_provider(kwargs.get("model", ""))[1]
        except Exception:  # an unknown model name: the provider is not knowable here
            provider = "litellm"
    return str(provider)


def _named(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's keyword arguments, with `model` also when it was given positionally (LiteLLM's first)."""
    return kwargs if "model" in kwargs or not args else {**kwargs, "model": args[0]}


class _MeteredStream:
    """LiteLLM's stream (CustomStreamWrapper), passed through chunk by chunk; its usage chunk is tracked."""

    def __init__(self, stream: Any, state: StreamUsage) -> None:
        self._stream, self._state = stream, state
        weakref.finalize(self, state.finish, True)  # abandoned: tracked (partial) when collected

    def _observe(self, chunk: Any) -> Any:
        self._state.model = _get(chunk, "model") or self._state.model
        usage = _get(chunk, "usage")
        if usage is not None and (_get(usage, "prompt_tokens") or _get(usage, "completion_tokens")):
            self._state.input_tokens, self._state.output_tokens, self._state.cached = _counts(usage)
        return chunk

    def __iter__(self) -> _MeteredStream:
        return self

    def __next__(self) -> Any:
        try:
            return self._observe(next(self._stream))
        except StopIteration:
            self._state.finish(partial=not self._state.input_tokens and not self._state.output_tokens)
            raise

    def __aiter__(self) -> _MeteredStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return self._observe(await self._stream.__anext__())
        except StopAsyncIteration:
            self._state.finish(partial=not self._state.input_tokens and not self._state.output_tokens)
            raise

    def close(self) -> None:
        try:
            close = getattr(self._stream, "close", None)
            if close is not None:
                close()
        finally:
            self._state.finish(partial=True)

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._stream, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            self._state.finish(partial=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class MeteredLiteLLM:
    def __init__(self, buffer: IngestionBuffer, customer: Customer, event_name: str = "llm") -> None:
        self.meter = LLMMeter(buffer, customer, event_name, "litellm")

    def _prepare(self, kwargs: dict[str, Any]) -> None:
        if kwargs.get("stream") and kwargs.get("stream_options") is None:
            kwargs["stream_options"] = {"include_usage": True}

    def _after(self, who: str | None, kwargs: dict[str, Any], response: Any) -> Any:
        try:
            vendor = _vendor(kwargs, response)
            if kwargs.get("stream"):
                state = StreamUsage(LLMMeter(self.meter.buffer, self.meter.customer, self.meter.event_name, vendor),
                                    who, kwargs.get("model", ""))
                return _MeteredStream(response, state)
            usage = _get(response, "usage")
            if usage is not None:
                self.meter.track(who, _get(response, "model") or kwargs.get("model", ""), *_counts(usage),
                                 vendor=vendor)
        except Exception:  # metering must never break the caller's LLM call
            logger.exception("meterbill: could not meter a LiteLLM response")
        return response

    def completion(self, *args: Any, **kwargs: Any) -> Any:
        self._prepare(kwargs)
        who = resolve(self.meter.customer)
        return self._after(who, _named(args, kwargs), litellm.completion(*args, **kwargs))

    async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
        self._prepare(kwargs)
        who = resolve(self.meter.customer)
        return self._after(who, _named(args, kwargs), await litellm.acompletion(*args, **kwargs))

    def embedding(self, *args: Any, **kwargs: Any) -> Any:
        who = resolve(self.meter.customer)
        return self._after(who, _named(args, kwargs), litellm.embedding(*args, **kwargs))

    async def aembedding(self, *args: Any, **kwargs: Any) -> Any:
        who = resolve(self.meter.customer)
        return self._after(who, _named(args, kwargs), await litellm.aembedding(*args, **kwargs))
