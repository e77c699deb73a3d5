"""A hostile front for the RingCentral stand-in: a reverse proxy on 127.0.0.1 (port 0) that
forwards every request and can trickle, replace or rewrite the answers.

Test equipment only. It stands for what lies between the add-on and RingCentral on an unlucky
customer's network (a captive portal, a stalling middlebox) or for a RingCentral answer the
stand-in cannot produce itself (records nested deeper than any JSON encoder, lone surrogates).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, List, Optional, Tuple
from urllib.parse import urlsplit

HOP_HEADERS = ("connection", "keep-alive", "transfer-encoding", "content-length")


def endpoint_of(path: str) -> str:
    if path.startswith("/restapi/oauth/token"):
        return "token"
    if path.endswith("/audit-trail/search"):
        return "search"
    return "other"


class HostileFront:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        # endpoint -> seconds between bytes; "headers" in trickle_from: from the status line on
        self.trickle: dict = {}
        self.trickle_from = "body"
        # endpoint -> bytes per second: a slow link (the answer arrives in 8 KiB steps)
        self.bandwidth: dict = {}
        # endpoint -> (status, content type, body) answered instead of forwarding
        self.replace: dict = {}
        # search answers pass through this (bytes -> bytes) when set
        self.rewrite_search: Optional[Callable[[bytes], bytes]] = None
        self.log: List[Tuple[str, int]] = []
        self._stop = threading.Event()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                front._handle(self)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HostileFront:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def count(self, endpoint: str) -> int:
        return sum(1 for e, _ in self.log if e == endpoint)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        endpoint = endpoint_of(handler.path)
        if endpoint in self.replace:
            status, content_type, payload = self.replace[endpoint]
            headers = [("Content-Type", content_type)]
        else:
            upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
            forwarded = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_HEADERS}
            upstream.request(handler.command, handler.path, body=body or None, headers=forwarded)
            answer = upstream.getresponse()
            payload = answer.read()
            status = answer.status
            headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_HEADERS]
            upstream.close()
            if endpoint == "search" and status == 200 and self.rewrite_search is not None:
                payload = self.rewrite_search(payload)
        self.log.append((endpoint, status))
        head = f"HTTP/1.1 {status} {http.client.responses.get(status, 'Status')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers)
        head += f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        handler.close_connection = True
        data = head.encode("latin-1") + payload
        interval = self.trickle.get(endpoint)
        rate = self.bandwidth.get(endpoint)
        try:
            if rate is not None:
                for i in range(0, len(data), 8192):
                    if self._stop.wait(8192 / rate):
                        return
                    handler.wfile.write(data[i : i + 8192])
                    handler.wfile.flush()
                return
            if interval is None:
                handler.wfile.write(data)
                handler.wfile.flush()
                return
            start = 0 if self.trickle_from == "headers" else len(head)
            handler.wfile.write(data[:start])
            handler.wfile.flush()
            for i in range(start, len(data)):
                if self._stop.wait(interval):
                    return
                handler.wfile.write(data[i : i + 1])
                handler.wfile.flush()
        except OSError:
            pass  # the client hung up, as it should when its time is up
        finally:
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def inject_records(page: bytes, raws: List[bytes]) -> bytes:
    """A search answer with raw record texts put first in its ``records`` list."""
    marker = b'"records":['
    at = page.index(marker) + len(marker)
    rest = page[at:]
    glue = b"," if rest.lstrip()[:1] != b"]" else b""
    return page[:at] + b",".join(raws) + glue + rest


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
