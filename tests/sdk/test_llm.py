"""The real `openai` and `anthropic` clients against a local fake server; usage lands in Meterbill."""

from __future__ import annotations

import asyncio

import anthropic
import openai
import pytest

from meterbill_sdk.strategies.llm import wrap_anthropic, wrap_openai
from tests.sdk import fake_llm
from tests.sdk.conftest import events_named, unique


@pytest.fixture(scope="module")
def llm_server():
    server = fake_llm.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def llm_metadata(client, customer: str) -> list[dict]:
    return [e["metadata"]["_llm"] for e in events_named(client, customer, "llm")]


def test_openai_sync_plain_and_streaming(buffer, client, llm_server) -> None:
    customer = unique("oa")
    ai = wrap_openai(openai.OpenAI(api_key="k", base_url=f"{llm_server}/v1"), buffer, customer)
    reply = ai.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Hello"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in ai.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True) if chunk.choices)
    assert text == "Hello"
    buffer.flush(10)
    expected = {"vendor": "openai", "model": "gpt-test", "input_tokens": 42, "output_tokens": 7,
                "cached_input_tokens": 10, "total_tokens": 49}
    assert llm_metadata(client, customer) == [expected, expected]


def test_openai_async_plain_and_streaming(buffer, client, llm_server) -> None:
    customer = unique("oa-async")

    async def main() -> None:
        ai = wrap_openai(openai.AsyncOpenAI(api_key="k", base_url=f"{llm_server}/v1"), buffer, customer)
        await ai.chat.completions.create(model="gpt-async", messages=[{"role": "user", "content": "hi"}])
        stream = await ai.chat.completions.create(model="gpt-async", messages=[], stream=True)
        async for _ in stream:
            pass

    asyncio.run(main())
    buffer.flush(10)
    assert [m["total_tokens"] for m in llm_metadata(client, customer)] == [49, 49]


def test_anthropic_sync_async_and_streaming(buffer, client, llm_server) -> None:
    customer = unique("an")
    ai = wrap_anthropic(anthropic.Anthropic(api_key="k", base_url=llm_server), buffer, customer)
    message = ai.messages.create(model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "Hello"
    streamed = "".join(event.delta.text for event in ai.messages.create(
        model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "hi"}], stream=True)
        if event.type == "content_block_delta")
    assert streamed == "Hello"

    async def main() -> None:
        async_ai = wrap_anthropic(anthropic.AsyncAnthropic(api_key="k", base_url=llm_server), buffer, customer)
        await async_ai.messages.create(model="claude-test", max_tokens=10, messages=[])

    asyncio.run(main())
    buffer.flush(10)
    expected = {"vendor": "anthropic", "model": "claude-test", "input_tokens": 35, "output_tokens": 12,
                "cached_input_tokens": 5, "total_tokens": 47}
    assert llm_metadata(client, customer) == [expected] * 3


def test_llm_tokens_meter_sums_nested_metadata(buffer, client, llm_server) -> None:
    customer = unique("meter")
    meter = client.create_meter("LLM tokens", {"conjunction": "and", "clauses": [
        {"property": "name", "operator": "eq", "value": "llm"}]}, {"func": "sum", "property": "_llm.total_tokens"})
    ai = wrap_openai(openai.OpenAI(api_key="k", base_url=f"{llm_server}/v1"), buffer, customer)
    for _ in range(3):
        ai.chat.completions.create(model="gpt-test", messages=[])
    buffer.flush(10)
    rows = client.customer_meters(external_customer_id=customer)["items"]
    assert [(r["meter_id"], r["consumed_units"]) for r in rows] == [(meter["id"], 147)]
