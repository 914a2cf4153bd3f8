"""S3 (real boto3 against moto), streams, ASGI under uvicorn, WSGI under wsgiref, elapsed time."""

from __future__ import annotations

import io
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import httpx
import uvicorn

from local_stack.ports import free_port, wait_for_port
from meterbill_sdk.strategies.delta_time import elapsed
from meterbill_sdk.strategies.http_body import MeterbillASGIMiddleware, MeterbillWSGIMiddleware
from meterbill_sdk.strategies.s3 import wrap_s3
from meterbill_sdk.strategies.stream import metered_iter, metered_stream
from tests.sdk.conftest import events_named, unique


def test_s3_uploads_and_downloads(buffer, client, local_aws, tmp_path) -> None:
    customer = unique("s3")
    s3 = wrap_s3(boto3.client("s3", endpoint_url=local_aws.endpoint), buffer, customer)
    s3.put_object(Bucket=local_aws.invoice_bucket, Key="sdk/a.bin", Body=b"x" * 1000)
    assert s3.get_object(Bucket=local_aws.invoice_bucket, Key="sdk/a.bin")["Body"].read() == b"x" * 1000
    source = tmp_path / "b.bin"
    source.write_bytes(b"y" * 2048)
    s3.upload_file(str(source), local_aws.invoice_bucket, "sdk/b.bin")
    s3.download_file(local_aws.invoice_bucket, "sdk/b.bin", str(tmp_path / "c.bin"))
    s3.list_objects_v2(Bucket=local_aws.invoice_bucket)  # not metered, passed through
    buffer.flush(10)
    seen = sorted((e["metadata"]["direction"], e["metadata"]["bytes"], e["metadata"]["key"])
                  for e in events_named(client, customer, "s3_transfer"))
    assert seen == [("download", 1000, "sdk/a.bin"), ("download", 2048, "sdk/b.bin"),
                    ("upload", 1000, "sdk/a.bin"), ("upload", 2048, "sdk/b.bin")]


def test_s3_sizes_for_every_body_type_and_multipart_transfers(buffer, client, local_aws, tmp_path) -> None:
    customer = unique("s3-bodies")
    s3 = wrap_s3(boto3.client("s3", endpoint_url=local_aws.moto_endpoint), buffer, customer)
    bucket, big = local_aws.invoice_bucket, 9 * 1024 * 1024 + 123  # over s3transfer's 8 MiB multipart threshold
    partly_read = io.BytesIO(b"p" * 1000)
    partly_read.read(100)  # boto3 sends from the current position: 900 bytes
    s3.put_object(Bucket=bucket, Key="sdk/file-object", Body=partly_read)
    s3.put_object(Bucket=bucket, Key="sdk/str", Body="héllo")  # 6 bytes in UTF-8
    s3.put_object(Bucket=bucket, Key="sdk/bytearray", Body=bytearray(b"m" * 321))
    s3.upload_fileobj(io.BytesIO(b"u" * 3000), bucket, "sdk/upload-fileobj")
    source = tmp_path / "big.bin"
    source.write_bytes(b"b" * big)
    progress: list[int] = []
    s3.upload_file(str(source), bucket, "sdk/big", Callback=progress.append)  # multipart upload
    target = io.BytesIO()
    s3.download_fileobj(bucket, "sdk/big", target)  # multipart ranged download, parts written out of order
    s3.download_file(bucket, "sdk/big", str(tmp_path / "copy.bin"))
    assert len(target.getvalue()) == big == (tmp_path / "copy.bin").stat().st_size
    assert sum(progress) == big  # the caller's own Callback still hears every byte
    buffer.flush(10)
    seen = sorted((e["metadata"]["key"], e["metadata"]["direction"], e["metadata"]["bytes"])
                  for e in events_named(client, customer, "s3_transfer"))
    assert seen == sorted([("sdk/file-object", "upload", 900), ("sdk/str", "upload", 6),
                           ("sdk/bytearray", "upload", 321), ("sdk/upload-fileobj", "upload", 3000),
                           ("sdk/big", "upload", big), ("sdk/big", "download", big), ("sdk/big", "download", big)])


def test_file_like_and_iterator_streams(buffer, client) -> None:
    customer = unique("stream")
    with metered_stream(io.BytesIO(b"a" * 5000), buffer, customer) as stream:
        while stream.read(1024):
            pass
    assert list(metered_iter([b"abc", b"defg"], buffer, customer)) == [b"abc", b"defg"]
    buffer.flush(10)
    assert sorted(e["metadata"]["bytes"] for e in events_named(client, customer, "stream_bytes")) == [7, 5000]


async def echo_app(scope, receive, send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body * 2, "more_body": True})
    await send({"type": "http.response.body", "body": b"!"})


def test_asgi_middleware_under_a_real_server(buffer, client) -> None:
    customer = unique("asgi")
    app = MeterbillASGIMiddleware(echo_app, buffer, lambda scope: dict(scope["headers"]).get(b"x-customer",
                                                                                             b"").decode() or None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        response = httpx.post(f"http://127.0.0.1:{port}/upload", content=b"12345", headers={"x-customer": customer})
        assert response.text == "1234512345!"
        httpx.post(f"http://127.0.0.1:{port}/anonymous", content=b"zzz")  # no customer: not metered
    finally:
        server.should_exit = True
        thread.join(5)
    buffer.flush(10)
    [event] = events_named(client, customer, "http_body")
    assert event["metadata"] == {"request_bytes": 5, "response_bytes": 11, "method": "POST", "path": "/upload",
                                 "status": 200}


def wsgi_app(environ, start_response):
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size)
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [body, b"-", body]


class Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_wsgi_middleware_under_a_real_server(buffer, client) -> None:
    customer = unique("wsgi")
    app = MeterbillWSGIMiddleware(wsgi_app, buffer, lambda environ: environ.get("HTTP_X_CUSTOMER"))
    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = httpx.put(f"http://127.0.0.1:{server.server_port}/things", content=b"abcd",
                             headers={"x-customer": customer})
        assert response.status_code == 201 and response.text == "abcd-abcd"
    finally:
        server.shutdown()
    buffer.flush(10)
    [event] = events_named(client, customer, "http_body")
    assert event["metadata"] == {"request_bytes": 4, "response_bytes": 9, "method": "PUT", "path": "/things",
                                 "status": 201}


def test_elapsed_time_block_and_decorator(buffer, client) -> None:
    customer = unique("time")
    with elapsed(buffer, customer, label="block") as timer:
        time.sleep(0.05)
    assert timer.seconds >= 0.05

    @elapsed(buffer, lambda: customer)
    def resize() -> str:
        time.sleep(0.02)
        return "done"

    assert resize() == "done"
    try:
        with elapsed(buffer, customer, label="failing"):
            raise ValueError("boom")
    except ValueError:
        pass
    buffer.flush(10)
    seen = {e["metadata"]["label"]: e["metadata"]["seconds"] for e in events_named(client, customer, "elapsed_time")}
    assert set(seen) == {"block", "resize", "failing"}
    assert seen["block"] >= 0.05 and seen["resize"] >= 0.02


def test_elapsed_times_async_functions_and_blocks_until_they_finish(buffer, client) -> None:
    import asyncio

    customer = unique("time-async")

    @elapsed(buffer, customer)
    async def transcribe() -> str:
        await asyncio.sleep(0.05)
        return "text"

    async def main() -> str:
        async with elapsed(buffer, customer, label="async-block"):
            await asyncio.sleep(0.03)
        return await transcribe()

    assert asyncio.iscoroutinefunction(transcribe)
    assert asyncio.run(main()) == "text"
    buffer.flush(10)
    seen = {e["metadata"]["label"]: e["metadata"]["seconds"] for e in events_named(client, customer, "elapsed_time")}
    assert seen["transcribe"] >= 0.05 and seen["async-block"] >= 0.03  # not the microseconds of a call
