"""Proxy stand-ins on 127.0.0.1: an HTTP forward proxy and a SOCKS server (test equipment).

:class:`HttpProxy` is a forward proxy as corporate networks run them: absolute-URI requests for
``http://`` targets (forwarded and answered with ``Content-Length``, keep-alive towards the client)
and ``CONNECT host:port`` tunnels for ``https://`` targets. With a username it requires
``Proxy-Authorization: Basic`` and answers ``407 Proxy Authentication Required`` otherwise.

:class:`SocksProxy` speaks SOCKS5 (RFC 1928: CONNECT, IPv4 and domain-name addresses; RFC 1929
username/password authentication) and SOCKS4/4a (CONNECT; the user id is checked against the
username when one is configured).

Both count what they see (connections, requests, tunnels, refusals) and keep a log of targets;
neither ever records a credential. Use them as context managers so that every socket and thread
is gone when the test ends::

    with HttpProxy(username="u", password="p") as proxy:
        ...  # proxy.host, proxy.port, proxy.requests, proxy.connections
"""

from __future__ import annotations

import base64
import binascii
import hmac
import http.client
import ipaddress
import selectors
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List, Optional, Set, Tuple
from urllib.parse import urlsplit

HOST = "127.0.0.1"
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


def _relay(a: socket.socket, b: socket.socket, stopping: threading.Event) -> None:
    """Copy bytes both ways until either side closes (or the proxy stops)."""
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while not stopping.is_set():
            for key, _ in selector.select(timeout=0.1):
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = source.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
                except OSError:
                    return


class _Base:
    """Lifecycle and bookkeeping shared by both proxies."""

    def __init__(self, username: Optional[str], password: Optional[str]) -> None:
        self.username = username
        self.password = password
        self.host = HOST
        self.port = 0
        self.connections = 0  # TCP connections accepted from clients
        self.tunnels = 0  # tunnels (CONNECT) established to a target
        self.rejected = 0  # refused for missing or wrong credentials
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: Set[socket.socket] = set()
        self._threads: Set[threading.Thread] = set()
        self._server: Optional[socketserver.TCPServer] = None
        self._thread: Optional[threading.Thread] = None

    def _make_server(self) -> socketserver.TCPServer:
        raise NotImplementedError

    def start(self) -> Any:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = self._make_server()
        server.owner = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        for thread in threads:
            thread.join(5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:  # never the password
        return f"{type(self).__name__}(host={self.host!r}, port={self.port!r})"

    def _track(self, sock: socket.socket, *, client: bool = False) -> None:
        with self._lock:
            self._sockets.add(sock)
            self._threads.add(threading.current_thread())
            if client:
                self.connections += 1

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _thread_done(self) -> None:
        with self._lock:
            self._threads.discard(threading.current_thread())

    def _credentials_ok(self, username: str, password: Optional[str]) -> bool:
        if self.username is None:
            return True
        good = hmac.compare_digest(username.encode(), self.username.encode())
        if password is not None or self.password is not None:
            good &= hmac.compare_digest((password or "").encode(), (self.password or "").encode())
        return good

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def _connect(self, host: str, port: int) -> socket.socket:
        upstream = socket.create_connection((host, port), timeout=10)
        upstream.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._track(upstream)
        return upstream


# -- HTTP forward proxy --------------------------------------------------------------------------


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HttpProxyStandIn/1.0"
    sys_version = ""
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    @property
    def proxy(self) -> HttpProxy:
        return self.server.owner  # type: ignore[attr-defined,no-any-return]

    def setup(self) -> None:
        super().setup()
        self.proxy._track(self.connection, client=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.proxy._untrack(self.connection)
            self.proxy._thread_done()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, reason: str, *, close: bool = False, **headers: str) -> None:
        body = f"{status} {reason}\n".encode()
        self.send_response(status, reason)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorized(self) -> bool:
        proxy = self.proxy
        if proxy.username is None:
            return True
        scheme, _, value = self.headers.get("Proxy-Authorization", "").strip().partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            if ":" in decoded:
                user, password = decoded.split(":", 1)
                if proxy._credentials_ok(user, password):
                    return True
        proxy._count("rejected")
        return False

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _log(self, target: str, status: int) -> None:
        with self.proxy._lock:
            self.proxy.log.append((self.command, target, status))
            self.proxy.requests += 1

    def do_CONNECT(self) -> None:
        proxy = self.proxy
        if not self._authorized():
            self._log(self.path, 407)
            self._reply(
                407,
                "Proxy Authentication Required",
                close=True,
                Proxy_Authenticate='Basic realm="proxy"',
            )
            return
        host, _, port = self.path.rpartition(":")
        try:
            upstream = proxy._connect(host.strip("[]"), int(port))
        except (OSError, ValueError):
            self._log(self.path, 502)
            self._reply(502, "Bad Gateway", close=True)
            return
        self._log(self.path, 200)
        proxy._count("tunnels")
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        try:
            _relay(self.connection, upstream, proxy._stopping)
        finally:
            proxy._untrack(upstream)
            upstream.close()

    def _forward(self) -> None:
        proxy = self.proxy
        body = self._body()
        if not self._authorized():
            self._log(self.path, 407)
            self._reply(
                407, "Proxy Authentication Required", Proxy_Authenticate='Basic realm="proxy"'
            )
            return
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self._log(self.path, 400)
            self._reply(400, "Bad Request: absolute http:// URI expected", close=True)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=30)
        try:
            upstream.connect()
            upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream.request(self.command, path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            status, reason, answer_headers = answer.status, answer.reason, answer.getheaders()
        except OSError:
            self._log(self.path, 502)
            self._reply(502, "Bad Gateway", close=True)
            return
        finally:
            upstream.close()
        self._log(self.path, status)
        with proxy._lock:
            proxy.forwarded += 1
        self.send_response(status, reason)
        for name, value in answer_headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client went away or the proxy is stopping


class HttpProxy(_Base):
    """An HTTP forward proxy (absolute-URI requests and CONNECT), Basic auth when username is set."""

    def __init__(self, *, username: Optional[str] = None, password: Optional[str] = None) -> None:
        super().__init__(username, password)
        self.requests = 0  # every request received, refused ones included
        self.forwarded = 0  # absolute-URI requests answered by the target
        self.log: List[Tuple[str, str, int]] = []  # (method, target, status); no headers

    def _make_server(self) -> socketserver.TCPServer:
        return _HttpServer((HOST, 0), _HttpHandler)


# -- SOCKS4/4a and SOCKS5 ------------------------------------------------------------------------


class _Closed(Exception):
    pass


class _SocksHandler(socketserver.BaseRequestHandler):
    request: socket.socket

    @property
    def proxy(self) -> SocksProxy:
        return self.server.owner  # type: ignore[attr-defined,no-any-return]

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.request.recv(count - len(data))
            if not chunk:
                raise _Closed()
            data += chunk
        return data

    def _read_until_nul(self, limit: int = 512) -> bytes:
        data = b""
        while True:
            byte = self._read(1)
            if byte == b"\x00":
                return data
            data += byte
            if len(data) > limit:
                raise _Closed()

    def handle(self) -> None:
        proxy = self.proxy
        proxy._track(self.request, client=True)
        self.request.settimeout(10)
        try:
            version = self._read(1)[0]
            if version == 5 and 5 in proxy.versions:
                upstream = self._socks5()
            elif version == 4 and 4 in proxy.versions:
                upstream = self._socks4()
            else:
                upstream = None
            if upstream is None:
                return
            self.request.settimeout(None)
            try:
                _relay(self.request, upstream, proxy._stopping)
            finally:
                proxy._untrack(upstream)
                upstream.close()
        except (_Closed, OSError):
            return
        finally:
            proxy._untrack(self.request)
            proxy._thread_done()

    def _open(self, version: int, kind: str, host: str, port: int) -> Optional[socket.socket]:
        proxy = self.proxy
        with proxy._lock:
            proxy.destinations.append((version, kind, host, port))
        try:
            upstream = proxy._connect(host, port)
        except OSError:
            return None
        proxy._count("tunnels")
        return upstream

    def _socks5(self) -> Optional[socket.socket]:
        proxy = self.proxy
        methods = self._read(self._read(1)[0])
        wanted = 0x02 if proxy.username is not None else 0x00
        if wanted not in methods:
            self.request.sendall(b"\x05\xff")
            if proxy.username is not None:
                proxy._count("rejected")
            return None
        self.request.sendall(bytes([5, wanted]))
        if wanted == 0x02:  # RFC 1929
            if self._read(1) != b"\x01":
                return None
            user = self._read(self._read(1)[0]).decode("utf-8", "replace")
            password = self._read(self._read(1)[0]).decode("utf-8", "replace")
            if not proxy._credentials_ok(user, password):
                proxy._count("rejected")
                self.request.sendall(b"\x01\x01")
                return None
            self.request.sendall(b"\x01\x00")
        _version, command, _reserved, address_type = self._read(4)
        if address_type == 0x01:
            host, kind = socket.inet_ntoa(self._read(4)), "ipv4"
        elif address_type == 0x03:
            host, kind = self._read(self._read(1)[0]).decode("idna"), "domain"
        else:
            self._socks5_reply(0x08)  # address type not supported
            return None
        (port,) = struct.unpack(">H", self._read(2))
        if command != 0x01:
            self._socks5_reply(0x07)  # command not supported
            return None
        upstream = self._open(5, kind, host, port)
        if upstream is None:
            self._socks5_reply(0x05)  # connection refused
            return None
        bound_host, bound_port = upstream.getsockname()[:2]
        self._socks5_reply(0x00, bound_host, bound_port)
        return upstream

    def _socks5_reply(self, code: int, host: str = "0.0.0.0", port: int = 0) -> None:
        try:
            address = ipaddress.IPv4Address(host).packed
        except ValueError:
            address = bytes(4)
        self.request.sendall(bytes([5, code, 0, 1]) + address + struct.pack(">H", port))

    def _socks4(self) -> Optional[socket.socket]:
        proxy = self.proxy
        command = self._read(1)[0]
        (port,) = struct.unpack(">H", self._read(2))
        address = self._read(4)
        user = self._read_until_nul().decode("utf-8", "replace")
        if address[:3] == b"\x00\x00\x00" and address[3] != 0:  # SOCKS4a: the name follows
            host, kind = self._read_until_nul().decode("idna"), "domain"
        else:
            host, kind = socket.inet_ntoa(address), "ipv4"
        if proxy.username is not None and not hmac.compare_digest(
            user.encode(), proxy.username.encode()
        ):
            proxy._count("rejected")
            self.request.sendall(b"\x00\x5b" + bytes(6))
            return None
        if command != 0x01:
            self.request.sendall(b"\x00\x5b" + bytes(6))
            return None
        upstream = self._open(4, kind, host, port)
        if upstream is None:
            self.request.sendall(b"\x00\x5b" + bytes(6))
            return None
        self.request.sendall(b"\x00\x5a" + struct.pack(">H", port) + bytes(4))
        return upstream


class _SocksServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class SocksProxy(_Base):
    """A SOCKS server: version 5 (with RFC 1929 auth when username is set) and 4/4a."""

    def __init__(
        self,
        *,
        username: Optional[str] = None,
        password: Optional[str] = None,
        versions: Tuple[int, ...] = (4, 5),
    ) -> None:
        super().__init__(username, password)
        self.versions = versions
        # (SOCKS version, "ipv4" or "domain", host, port) of every CONNECT asked for
        self.destinations: List[Tuple[int, str, str, int]] = []

    def _make_server(self) -> socketserver.TCPServer:
        return _SocksServer((HOST, 0), _SocksHandler)


__all__ = ["HttpProxy", "SocksProxy"]
