"""Usage strategies: wrap a source of usage so that its events flow into an IngestionBuffer.

- LLM (`wrap_openai`, `wrap_anthropic`, pydantic_ai.`MeteredModel`, litellm.`MeteredLiteLLM`): `llm`, metadata
  `_llm` with vendor, model, input_tokens, output_tokens, cached_input_tokens, total_tokens, partial.
- S3 (`wrap_s3`): `s3_transfer`, metadata direction (`upload`/`download`), bytes, bucket, key.
- Stream (`metered_stream`, `metered_iter`): `stream_bytes`, metadata bytes.
- HTTP body (`MeterbillASGIMiddleware`, `MeterbillWSGIMiddleware`): `http_body`, metadata request_bytes,
  response_bytes, method, path, status.
- Delta time (`elapsed`): `elapsed_time`, metadata seconds, label.

Every strategy takes `customer`: an external customer id, or a function returning one at the time of use.
"""

from __future__ import annotations

from collections.abc import Callable

Customer = str | Callable[[], str]


def resolve(customer: Customer) -> str:
    return customer() if callable(customer) else customer
