"""The SDK's HTTP client, replaced: one shared session with timeouts, proxy and TLS settings,
and a wall-clock limit on every exchange.

ringcentral 0.9.2 opens a new ``requests.Session`` per call and sets no timeout, so a stalled
connection would hang the input forever. ``Client.load_response`` is the SDK's one seam for this
(pinned SDK version; covered by tests).

requests' read timeout bounds each wait for a byte, not the exchange: an answer trickling in a
byte every few seconds never trips it. So each exchange runs in a worker thread and the caller
waits at most ``limit()`` seconds - the per-request allowance, or what is left of the run,
whichever ends first. When that passes, the exchange's sockets are shut down (which ends the
worker) and the session is replaced, and the caller gets WallClockExceeded at once, whatever
state the exchange was in (connecting, TLS handshake, headers, body).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import weakref
from typing import Any, Dict, List, Optional, Tuple

import requests
import urllib3
from requests.adapters import HTTPAdapter
from ringcentral.http import Client
from ringcentral.http.api_response import ApiResponse

from .settings import Connection


class WallClockExceeded(requests.exceptions.Timeout):
    """The exchange did not complete within its wall-clock allowance (bytes may have trickled)."""

    def __init__(self, seconds: float, run_ended: bool) -> None:
        super().__init__(f"no complete answer within {seconds:g} s")
        self.seconds = seconds
        self.run_ended = run_ended  # the run's own time was what ran out


def request_allowance(connection: Connection) -> float:
    """Seconds one exchange may take in all: connecting, then twice the read timeout."""
    return connection.connect_timeout + 2 * connection.read_timeout


class SessionClient(Client):  # type: ignore[misc]
    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.connection = connection
        self.last_response: Optional[requests.Response] = None
        # monotonic time at which the run ends (set by RequestPolicy); None: no run deadline
        self.run_deadline: Optional[float] = None
        # An explicit proxy wins over HTTP(S)_PROXY; without one the environment's apply, as
        # they did for the SDK (requests reads them only when no proxies are passed).
        self._proxies = connection.proxy.for_requests() if connection.proxy else None
        self._live: weakref.WeakSet[Any] = weakref.WeakSet()
        self.session = self._new_session()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        adapter = _TrackingAdapter(self._live)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def limit(self) -> Tuple[float, bool]:
        """(seconds the next exchange may take, whether the run's end is what sets it)."""
        allowance = request_allowance(self.connection)
        if self.run_deadline is None:
            return allowance, False
        left = self.run_deadline - time.monotonic()
        return (left, True) if left < allowance else (allowance, False)

    def load_response(self, request: Any) -> ApiResponse:
        options: Dict[str, Any] = {
            "timeout": (self.connection.connect_timeout, self.connection.read_timeout),
            "verify": self.connection.verify,
            "allow_redirects": False,
        }
        if self._proxies is not None:
            options["proxies"] = self._proxies
        seconds, run_ended = self.limit()
        if seconds <= 0:
            raise WallClockExceeded(0.0, True)
        session = self.session
        outcome: List[Any] = []
        done = threading.Event()

        def exchange() -> None:
            try:
                outcome.append(_read_body(session.send(request, stream=True, **options)))
            except BaseException as error:  # noqa: BLE001 - handed to the caller below
                outcome.append(error)
            finally:
                done.set()

        worker = threading.Thread(target=exchange, name="ringcentral-request", daemon=True)
        worker.start()
        if not done.wait(seconds):
            self._abandon(session)
            raise WallClockExceeded(round(seconds, 3), run_ended)
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        self.last_response = result
        return ApiResponse(request, result)

    def _abandon(self, session: requests.Session) -> None:
        """End a timed-out exchange: shut its sockets (the worker then fails and ends) and use a
        fresh session from now on, so no connection is shared with a worker still running."""
        for opened in list(self._live):
            opened.shut()
        self._live = weakref.WeakSet()
        self.session = self._new_session()
        try:
            session.close()
        except Exception:  # noqa: BLE001,S110 - closing what is already broken
            pass

    def close(self) -> None:
        self.session.close()


def _read_body(response: requests.Response) -> requests.Response:
    """The whole body read into one buffer, in the exchange's thread (so within its limit).

    requests' own read (``stream=False``) gathers the body as 10 KB chunks and joins them: the
    page is held twice, and the freed chunks stay in the process's heap, so a 50 MB page cost
    100 MB more at its peak. Failures are translated as requests translates them.
    """
    try:
        body = response.raw.read(decode_content=True)
    except urllib3.exceptions.ProtocolError as error:
        cut = error.args[1] if len(error.args) > 1 else None
        if not isinstance(cut, http.client.IncompleteRead) or response.raw.chunked:
            raise requests.exceptions.ChunkedEncodingError(error) from None
        # Fewer bytes than Content-Length announced: requests' chunked reads return what came
        # (and the answer is then judged malformed or truncated), so this does too.
        body = cut.partial
    except urllib3.exceptions.DecodeError as error:
        raise requests.exceptions.ContentDecodingError(error) from None
    except urllib3.exceptions.ReadTimeoutError as error:
        raise requests.exceptions.ConnectionError(error) from None
    except urllib3.exceptions.SSLError as error:
        raise requests.exceptions.SSLError(error) from None
    response._content = body or b""
    response._content_consumed = True  # type: ignore[attr-defined]
    return response


class _Opened:
    """One socket an exchange opened, remembered by descriptor and addresses.

    The socket object itself is out of reach: TLS wraps it (detaching the original) and
    http.client drops its reference when an answer says ``Connection: close``, while the answer
    is still being read. The descriptor stays valid as long as the exchange runs; the addresses
    make sure it is still that connection before it is shut down.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.fd = sock.fileno()
        # the plain socket methods: a SOCKS socket reports its destination as the peer
        self.ends = (socket.socket.getsockname(sock), socket.socket.getpeername(sock))

    def shut(self) -> None:
        try:
            sock = socket.socket(fileno=self.fd)
        except OSError:
            return  # already closed
        try:
            if (sock.getsockname(), sock.getpeername()) == self.ends:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.detach()  # the descriptor stays the exchange's own: never closed here


class _TrackingAdapter(HTTPAdapter):
    """An HTTPAdapter whose connection pools (direct, HTTP proxy, SOCKS) record every socket
    they open, so a timed-out exchange can be ended."""

    def __init__(self, live: weakref.WeakSet[Any]) -> None:
        self._live = live
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[no-untyped-call]
        _track(self.poolmanager, self._live)

    def proxy_manager_for(self, proxy: Any, **kwargs: Any) -> Any:
        known = proxy in self.proxy_manager
        manager = super().proxy_manager_for(proxy, **kwargs)  # type: ignore[no-untyped-call]
        if not known:
            _track(manager, self._live)
        return manager


def _track(manager: Any, live: weakref.WeakSet[Any]) -> None:
    manager.pool_classes_by_scheme = {
        scheme: _tracking(pool_class, live)
        for scheme, pool_class in manager.pool_classes_by_scheme.items()
    }


def _tracking(pool_class: Any, live: weakref.WeakSet[Any]) -> Any:
    base = pool_class.ConnectionCls

    class TrackingConnection(base):  # type: ignore[misc,valid-type]
        def _new_conn(self) -> Any:
            sock = super()._new_conn()
            self._opened = _Opened(sock)  # kept alive by the connection
            live.add(self._opened)
            return sock

    class TrackingPool(pool_class):  # type: ignore[misc]
        ConnectionCls = TrackingConnection

    return TrackingPool
