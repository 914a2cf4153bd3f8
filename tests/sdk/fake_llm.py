"""A local fake of the OpenAI and Anthropic HTTP APIs (real HTTP, plain JSON and SSE streams)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI_USAGE = {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49,
                "prompt_tokens_details": {"cached_tokens": 10}}
ANTHROPIC_USAGE = {"input_tokens": 30, "output_tokens": 12, "cache_read_input_tokens": 5,
                   "cache_creation_input_tokens": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, dict | str]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for name, data in events:
            payload = data if isinstance(data, str) else json.dumps(data)
            text = (f"event: {name}\n" if name else "") + f"data: {payload}\n\n"
            raw = text.encode()
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        model = body.get("model", "fake")
        if self.path.endswith("/chat/completions"):
            self.server.requests.append(body)  # type: ignore[attr-defined]
            if body.get("stream"):
                base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model}
                include = (body.get("stream_options") or {}).get("include_usage")
                self._sse([
                    (None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}),
                    (None, {**base, "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}),
                    *([(None, {**base, "choices": [], "usage": OPENAI_USAGE})] if include else []),
                    (None, "[DONE]"),
                ])
            else:
                self._json({"id": "c1", "object": "chat.completion", "created": 1, "model": model,
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": "Hello"}}],
                            "usage": OPENAI_USAGE})
        elif self.path.endswith("/messages"):
            message = {"id": "m1", "type": "message", "role": "assistant", "model": model,
                       "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
                       "stop_sequence": None, "usage": ANTHROPIC_USAGE}
            if body.get("stream"):
                start = {**message, "content": [], "stop_reason": None,
                         "usage": {**ANTHROPIC_USAGE, "output_tokens": 1}}
                self._sse([
                    ("message_start", {"type": "message_start", "message": start}),
                    ("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}}),
                    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta", "text": "Hello"}}),
                    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                                         "stop_sequence": None},
                                       "usage": {"output_tokens": 12}}),
                    ("message_stop", {"type": "message_stop"}),
                ])
            else:
                self._json(message)
        else:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()


def start() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
