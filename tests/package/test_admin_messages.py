"""What the admin reads when the account check cannot reach RingCentral (issue 17, item 6).

Real failures, made on 127.0.0.1 (and one name that cannot resolve), through the real client:
a closed port, a name that does not resolve, a TLS port whose certificate is not trusted, a
plain-HTTP port asked for TLS, a server that accepts the connection and never answers, and a
web server that is not RingCentral (404). Each message is one sentence that names the cause and
what to check, with no Python repr, object address or exception text, and balanced brackets.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, Tuple

import pytest
from ringcentral_audit.errors import AuditTrailError
from ringcentral_audit.settings import Connection, parse_account
from ringcentral_audit.validation import validate_account

from tests.package.test_build_rest_handlers import make_jwt

PYTHON_INTERNALS = re.compile(r"object at 0x|<[\w.]+ |Errno|\w+Error\(|\w+\('|Traceback|Caused by")


def check(url: str, timeout: float = 2.0) -> AuditTrailError:
    account = parse_account(
        {
            "server": "custom",
            "custom_server_url": url,
            "client_id": "AdminMessagesApp",
            "client_secret": "Admin-messages-secret-1",
            "jwt": make_jwt({"sub": "1", "exp": 3_900_000_000}),
        },
        0,
    )
    with pytest.raises(AuditTrailError) as caught:
        validate_account(account, Connection(connect_timeout=timeout, read_timeout=timeout))
    return caught.value


def one_clean_sentence(message: str) -> None:
    assert not PYTHON_INTERNALS.search(message), message
    assert message.count("(") == message.count(")"), message
    assert message.endswith("."), message
    assert len(message) < 400, message


class _NotRingCentral(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = b'{"status": 404, "detail": "no such route"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def web_server() -> Iterator[Tuple[str, int]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NotRingCentral)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_closed_port() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    try:
        error = check(f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        sock.close()
    assert error.kind == "connection"
    assert "the connection was refused" in error.message and "port" in error.message
    one_clean_sentence(error.message)


def test_a_name_that_does_not_resolve() -> None:
    error = check("https://platform.ringcentral.invalid")
    assert error.kind == "connection"
    assert "did not resolve" in error.message and "DNS" in error.message
    one_clean_sentence(error.message)


def test_a_plain_http_port_asked_for_tls(web_server: Tuple[str, int]) -> None:
    host, port = web_server
    error = check(f"https://{host}:{port}")
    assert error.kind == "tls"
    assert "does not speak TLS" in error.message and "CA bundle path" in error.message
    one_clean_sentence(error.message)


def test_an_untrusted_certificate() -> None:
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NotRingCentral)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        error = check(f"https://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
    assert error.kind == "tls"
    assert "certificate is not trusted" in error.message
    one_clean_sentence(error.message)


def test_a_server_that_never_answers() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections in the kernel, never reads or answers
    try:
        error = check(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
    finally:
        listener.close()
    assert error.kind in ("service", "connection")
    assert "did not answer" in error.message or "did not arrive" in error.message
    one_clean_sentence(error.message)


def test_a_web_server_that_is_not_ringcentral(web_server: Tuple[str, int]) -> None:
    host, port = web_server
    error = check(f"http://{host}:{port}")
    assert error.kind == "request"
    assert "not a RingCentral API server" in error.message and "server URL" in error.message
    assert "refused" not in error.message  # not read as wrong credentials
    one_clean_sentence(error.message)
