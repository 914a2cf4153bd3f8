"""PydanticAI and LiteLLM (real packages, real HTTP to the fake provider server); usage lands in Meterbill."""

from __future__ import annotations

import asyncio
import gc
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch of LiteLLM's price list at import

import pytest  # noqa: E402
from pydantic_ai import Agent  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402

from meterbill_sdk.strategies.litellm import MeteredLiteLLM  # noqa: E402
from meterbill_sdk.strategies.pydantic_ai import MeteredModel  # noqa: E402
from tests.sdk import fake_llm  # noqa: E402
from tests.sdk.conftest import events_named, unique  # noqa: E402


@pytest.fixture(scope="module")
def llm_server():
    server = fake_llm.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def tokens(client, customer: str) -> list[tuple[str, str, int, int, int, bool]]:
    rows = [e["metadata"]["_llm"] for e in events_named(client, customer, "llm")]
    return sorted((m["vendor"], m["model"], m["input_tokens"], m["output_tokens"], m["cached_input_tokens"],
                   m["partial"]) for m in rows)


def test_pydantic_ai_runs_plain_and_streamed_are_metered_per_model_request(buffer, client, llm_server) -> None:
    customer = unique("pai")
    provider = OpenAIProvider(base_url=f"{llm_server}/v1", api_key="k")
    agent = Agent(MeteredModel(OpenAIChatModel("pai-model", provider=provider), buffer, lambda: customer))
    assert agent.run_sync("hi").output == "Hello"

    async def streamed() -> str:
        async with agent.run_stream("hi") as result:
            return await result.get_output()

    assert asyncio.run(streamed()) == "Hello"
    buffer.flush(10)
    assert tokens(client, customer) == [("openai", "pai-model", 42, 7, 10, False)] * 2


def test_litellm_one_wrapper_many_providers_plain_streamed_async_and_embeddings(buffer, client, llm_server) -> None:
    customer = unique("lite")
    llm = MeteredLiteLLM(buffer, customer)
    openai_args = {"api_base": f"{llm_server}/v1", "api_key": "k", "messages": [{"role": "user", "content": "hi"}]}
    assert llm.completion(model="openai/lite-gpt", **openai_args).choices[0].message.content == "Hello"
    claude = llm.completion(model="anthropic/lite-claude", api_base=llm_server, api_key="k", max_tokens=10,
                            messages=[{"role": "user", "content": "hi"}])
    assert claude.choices[0].message.content == "Hello"
    assert "".join(chunk.choices[0].delta.content or "" for chunk in
                   llm.completion(model="openai/lite-stream", stream=True, **openai_args) if chunk.choices) == "Hello"
    llm.embedding(model="openai/lite-embed", input=["hi"], api_base=f"{llm_server}/v1", api_key="k")

    async def main() -> None:
        await llm.acompletion(model="openai/lite-async", **openai_args)
        async for _ in await llm.acompletion(model="openai/lite-async-stream", stream=True, **openai_args):
            pass

    asyncio.run(main())
    early = llm.completion(model="openai/lite-long", stream=True, **openai_args)
    next(iter(early))
    del early  # abandoned: tracked when collected, with what was reported (nothing yet), flagged partial
    gc.collect()
    buffer.flush(10)
    full = (42, 7, 10, False)
    assert tokens(client, customer) == sorted([
        ("openai", "lite-gpt", *full), ("anthropic", "lite-claude", 35, 12, 5, False),
        ("openai", "lite-stream", *full), ("openai", "lite-embed", 5, 0, 0, False),
        ("openai", "lite-async", *full), ("openai", "lite-async-stream", *full),
        ("openai", "lite-long", 0, 0, 0, True)])
