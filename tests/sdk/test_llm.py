"""The real `openai` and `anthropic` clients against a local fake server; usage lands in Meterbill."""

from __future__ import annotations

import asyncio
import gc

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
                "cached_input_tokens": 10, "total_tokens": 49, "partial": False}
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
                "cached_input_tokens": 5, "total_tokens": 47, "partial": False}
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


def tokens(client, customer: str) -> list[tuple[str, int, int, int, bool]]:
    return sorted((m["model"], m["input_tokens"], m["output_tokens"], m["cached_input_tokens"], m["partial"])
                  for m in llm_metadata(client, customer))


def test_openai_responses_raw_responses_helpers_and_embeddings(buffer, client, llm_server) -> None:
    customer = unique("oa-more")
    plain = openai.OpenAI(api_key="k", base_url=f"{llm_server}/v1")
    ai = wrap_openai(plain, buffer, customer)
    assert isinstance(ai, openai.OpenAI) and type(ai) is not type(plain)  # a real client: every API is there
    assert ai.responses.create(model="resp-plain", input="hi").output_text == "Hello"
    assert [e.type for e in ai.responses.create(model="resp-stream", input="hi", stream=True)][-1] == \
        "response.completed"
    with ai.responses.stream(model="resp-helper", input="hi") as stream:
        assert stream.get_final_response().output_text == "Hello"
    raw = ai.responses.with_raw_response.create(model="resp-raw", input="hi")
    assert raw.headers["content-type"] == "application/json" and raw.parse().usage.total_tokens == 49
    raw_chat = ai.chat.completions.with_raw_response.create(model="chat-raw", messages=[])
    assert raw_chat.parse().choices[0].message.content == "Hello"
    with ai.chat.completions.stream(model="chat-helper", messages=[]) as chat_stream:
        assert chat_stream.get_final_completion().choices[0].message.content == "Hello"
    ai.with_options(timeout=5).embeddings.create(model="embed", input="hi")  # copies stay metered
    plain.chat.completions.create(model="unmetered", messages=[])  # the original client is left alone
    buffer.flush(10)
    full = (42, 7, 10, False)
    assert tokens(client, customer) == sorted([
        ("resp-plain", *full), ("resp-stream", *full), ("resp-helper", *full), ("resp-raw", *full),
        ("chat-raw", *full), ("chat-helper", *full), ("embed", 5, 0, 0, False)])


def test_openai_async_responses_and_raw(buffer, client, llm_server) -> None:
    customer = unique("oa-async-more")

    async def main() -> None:
        ai = wrap_openai(openai.AsyncOpenAI(api_key="k", base_url=f"{llm_server}/v1"), buffer, customer)
        await ai.responses.create(model="a-resp", input="hi")
        async for _ in await ai.responses.create(model="a-resp-stream", input="hi", stream=True):
            pass
        raw = await ai.chat.completions.with_raw_response.create(model="a-chat-raw", messages=[])
        raw.parse()
        async with ai.chat.completions.stream(model="a-chat-helper", messages=[]) as stream:
            await stream.get_final_completion()

    asyncio.run(main())
    buffer.flush(10)
    assert tokens(client, customer) == sorted((model, 42, 7, 10, False) for model in
                                              ("a-resp", "a-resp-stream", "a-chat-raw", "a-chat-helper"))


def test_anthropic_stream_helper_sync_and_async(buffer, client, llm_server) -> None:
    customer = unique("an-helper")
    ai = wrap_anthropic(anthropic.Anthropic(api_key="k", base_url=llm_server), buffer, customer)
    with ai.messages.stream(model="helper-sync", max_tokens=10, messages=[]) as stream:
        assert "".join(stream.text_stream) == "Hello"
    raw = ai.messages.with_raw_response.create(model="raw", max_tokens=10, messages=[])
    assert raw.parse().usage.output_tokens == 12

    async def main() -> None:
        async_ai = wrap_anthropic(anthropic.AsyncAnthropic(api_key="k", base_url=llm_server), buffer, customer)
        async with async_ai.messages.stream(model="helper-async", max_tokens=10, messages=[]) as stream:
            assert (await stream.get_final_message()).content[0].text == "Hello"

    asyncio.run(main())
    buffer.flush(10)
    assert tokens(client, customer) == sorted((model, 35, 12, 5, False) for model in
                                              ("helper-sync", "raw", "helper-async"))


def test_a_stream_closed_early_emits_what_was_reported_flagged_partial(buffer, client, llm_server) -> None:
    customer = unique("partial")
    claude = wrap_anthropic(anthropic.Anthropic(api_key="k", base_url=llm_server), buffer, customer)
    stream = claude.messages.create(model="claude-long", max_tokens=10, messages=[], stream=True)
    for index, _ in enumerate(stream):
        if index == 3:
            break
    stream.close()  # message_start reported the input (30 + 5 cached) and 1 output token so far
    with claude.messages.stream(model="claude-long-helper", max_tokens=10, messages=[]) as helper:
        next(iter(helper.text_stream))  # left with the block: the helper closes the response
    gpt = wrap_openai(openai.OpenAI(api_key="k", base_url=f"{llm_server}/v1"), buffer, customer)
    chat = gpt.chat.completions.create(model="gpt-long", messages=[], stream=True)
    next(iter(chat))
    chat.close()  # chat streams report usage only at the end: nothing yet, but the call is on record
    responses = gpt.responses.create(model="resp-long", input="hi", stream=True)
    for index, _ in enumerate(responses):
        if index == 2:
            break
    del responses  # abandoned without close(): metered when collected
    gc.collect()
    buffer.flush(10)
    assert tokens(client, customer) == sorted([
        ("claude-long", 35, 1, 5, True), ("claude-long-helper", 35, 1, 5, True),
        ("gpt-long", 0, 0, 0, True), ("resp-long", 0, 0, 0, True)])
