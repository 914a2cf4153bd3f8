"""PydanticAI strategy: a model wrapper that meters every request an agent makes, plain or streamed.

    from pydantic_ai import Agent
    from meterbill_sdk.strategies.pydantic_ai import MeteredModel

    agent = Agent(MeteredModel("openai:gpt-4o-mini", buffer, customer=lambda: current_customer()))

One `llm` event per model request (an agent run with tool calls makes several), with Polar's `_llm` metadata:
vendor (the model's provider, e.g. `openai`), model, input/output/cached tokens as PydanticAI reports them, and
`partial` for a stream left before its end (the usage reported until then). Polar's own PydanticAI strategy
reports one run after the fact; wrapping the model needs no call per run and sees runs that fail midway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel

from meterbill_sdk.ingestion import IngestionBuffer
from meterbill_sdk.strategies import Customer, resolve
from meterbill_sdk.strategies.llm import LLMMeter


class MeteredModel(WrapperModel):
    def __init__(self, wrapped: Model | str, buffer: IngestionBuffer, customer: Customer,
                 event_name: str = "llm") -> None:
        super().__init__(wrapped)
        self.meter = LLMMeter(buffer, customer, event_name, "pydantic-ai")

    def _track(self, who: str | None, usage: Any, model: str | None, vendor: str | None, partial: bool) -> None:
        self.meter.track(who, model or self.model_name, int(usage.input_tokens or 0), int(usage.output_tokens or 0),
                         int(usage.cache_read_tokens or 0), partial=partial, vendor=vendor or self.system)

    async def request(self, messages: list[Any], model_settings: Any,
                      model_request_parameters: ModelRequestParameters) -> Any:
        response = await super().request(messages, model_settings, model_request_parameters)
        self._track(resolve(self.meter.customer), response.usage, response.model_name, response.provider_name,
                    partial=False)
        return response

    @asynccontextmanager
    async def request_stream(self, messages: list[Any], model_settings: Any,
                             model_request_parameters: ModelRequestParameters,
                             run_context: Any = None) -> AsyncIterator[StreamedResponse]:
        who = resolve(self.meter.customer)  # the caller's context, not wherever the stream ends
        async with super().request_stream(messages, model_settings, model_request_parameters,
                                          run_context) as stream:
            try:
                yield stream
            finally:
                usage = stream.usage  # a property in PydanticAI 2, a method in earlier releases
                self._track(who, usage() if callable(usage) else usage, stream.model_name, stream.provider_name,
                            partial=stream.get().finish_reason is None)
