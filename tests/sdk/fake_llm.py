"""A local fake of the OpenAI (Chat Completions, Responses, embeddings) and Anthropic (Messages) HTTP APIs: real
HTTP, plain JSON and SSE streams, in the providers' wire shapes. A model whose name contains "long" streams 40
text deltas before its final usage, so that a test can close the stream halfway."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI_USAGE = {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49,
                "prompt_tokens_details": {"cached_tokens": 10}}
RESPONSES_USAGE = {"input_tokens": 42, "output_tokens": 7, "total_tokens": 49,
                   "input_tokens_details": {"cached_tokens": 10}, "output_tokens_details": {"reasoning_tokens": 0}}
ANTHROPIC_USAGE = {"input_tokens": 30, "output_tokens": 12, "cache_read_input_tokens": 5,
                   "cache_creation_input_tokens": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: with Nagle on, the client's delayed ACK holds the body ~40 ms.
    disable_nagle_algorithm = True

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
        deltas = 40 if "long" in model else 1
        if self.path.endswith("/responses"):
            self.server.requests.append(body)  # type: ignore[attr-defined]
            self._responses(body, model, deltas)
        elif self.path.endswith("/embeddings"):
            self._json({"object": "list", "model": model, "usage": {"prompt_tokens": 5, "total_tokens": 5},
                        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]})
        elif self.path.endswith("/chat/completions"):
            self.server.requests.append(body)  # type: ignore[attr-defined]
            if body.get("stream"):
                base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model}
                include = (body.get("stream_options") or {}).get("include_usage")
                self._sse([
                    (None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}),
                    *[(None, {**base, "choices": [{"index": 0, "delta": {"content": "."}}]})] * (deltas - 1),
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
                    *[("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": "Hello"}})] * deltas,
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


    def _responses(self, body: dict, model: str, deltas: int) -> None:
        message = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                   "content": [{"type": "output_text", "text": "Hello", "annotations": []}]}
        response = {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": model,
                    "output": [message], "usage": RESPONSES_USAGE, "parallel_tool_calls": True, "tool_choice": "auto",
                    "tools": [], "error": None, "incomplete_details": None, "instructions": None, "metadata": {},
                    "temperature": 1.0, "top_p": 1.0}
        if not body.get("stream"):
            self._json(response)
            return
        started = {**response, "status": "in_progress", "output": [], "usage": None}
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
        self._sse([
            ("response.created", {"type": "response.created", "sequence_number": 0, "response": started}),
            ("response.output_item.added", {"type": "response.output_item.added", "sequence_number": 0,
                                            "output_index": 0, "item": {**message, "status": "in_progress",
                                                                        "content": []}}),
            ("response.content_part.added", {"type": "response.content_part.added", "sequence_number": 0,
                                             **where, "part": part}),
            *[("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 1 + i,
                                              "item_id": "msg_1", "output_index": 0, "content_index": 0,
                                              "delta": "Hello" if i == 0 else ".", "logprobs": []})
              for i in range(deltas)],
            ("response.output_text.done", {"type": "response.output_text.done", "sequence_number": deltas + 1,
                                           **where, "text": "Hello" + "." * (deltas - 1), "logprobs": []}),
            ("response.content_part.done", {"type": "response.content_part.done", "sequence_number": deltas + 1,
                                            **where, "part": message["content"][0]}),
            ("response.output_item.done", {"type": "response.output_item.done", "sequence_number": deltas + 1,
                                           "output_index": 0, "item": message}),
            ("response.completed", {"type": "response.completed", "sequence_number": deltas + 1,
                                    "response": response}),
        ])


def start() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
