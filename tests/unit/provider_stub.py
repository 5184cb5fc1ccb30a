"""A stand-in provider for the adapters' HTTP clients: a tiny HTTP server on 127.0.0.1, port 0.

It answers GET and POST alike. The test scripts its answers in order (`answer(status, body)` or `hang()` to never answer in time);
the stub records every request it receives (path, headers, JSON body). `refused_url()` is a URL on
which nothing listens.
"""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = object()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any  # b"" for a GET
    method: str = "POST"


@dataclass
class ProviderStub:
    url: str = ""
    script: list[Any] = field(default_factory=list)  # (status, body) pairs or HANG, consumed in order
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int, body: Any) -> None:
        """Next, answer `status` with `body` (a dict or list is sent as JSON, a str as text, bytes as is)."""
        self.script.append((status, body))

    def hang(self) -> None:
        """Next, hold the request without answering until the test ends."""
        self.script.append(HANG)

    def next_step(self, received: Received) -> Any:
        with self.lock:
            self.received.append(received)
            return self.script.pop(0) if self.script else (500, {"error": {"message": "nothing scripted"}})


def _handler(stub: ProviderStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.do_POST()

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                body = raw
            step = stub.next_step(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                           self.command))
            if step is HANG:
                stub.release.wait(10)
                return
            status, payload = step
            if isinstance(payload, bytes):
                data, kind = payload, "application/octet-stream"
            elif isinstance(payload, str):
                data, kind = payload.encode("utf-8"), "text/plain; charset=utf-8"
            else:
                data, kind = json.dumps(payload).encode("utf-8"), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # the suite's output stays quiet
            pass

    return Handler


@contextmanager
def provider_stub() -> Iterator[ProviderStub]:
    stub = ProviderStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        stub.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def refused_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (a port just freed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
