"""A hostile RingCentral and a hostile proxy on 127.0.0.1 (test equipment for the leak hunt).

Both echo everything a client sends them (the Authorization header, its base64 credentials
without the word "Basic", the decoded ``client_id:client_secret``, the form body as sent and
URL-decoded, the Proxy-Authorization header) back in their error messages, JSON-escaped in JSON
bodies, as plain text, and in the HTTP reason phrase. The echo may start some way into the
message when asked (``pad``), so that a secret straddles the 300-character cut the client
applies to server messages.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import unquote_plus

HOST = "127.0.0.1"


def echo_of(headers: Any, body: bytes, lead: str = "pair", pad: int = 0) -> str:
    """Everything secret-bearing a client sent, in the forms a careless server repeats it.

    ``lead`` (pair, bare, header, body, decoded_body, proxy_pair, proxy_bare) comes first, after
    ``pad`` filler characters: clients keep only the head of a long message, so the lead part is
    the one that reaches messages, and a pad near the cut makes it straddle the cut.
    """
    parts: Dict[str, str] = {}
    for prefix, name in (("", "Authorization"), ("proxy_", "Proxy-Authorization")):
        header = str(headers.get(name) or "")
        token = header.split()[-1] if header.split() else ""
        try:
            decoded = base64.b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            decoded = ""
        parts[prefix + "pair"] = decoded
        parts[prefix + "bare"] = token.rstrip("=")
        parts[prefix + "header"] = header
    text = body.decode("utf-8", "replace")
    parts["body"] = text
    parts["decoded_body"] = unquote_plus(text)
    rest = " | ".join(f"{k}={v}" for k, v in parts.items())
    return "A" * pad + parts.get(lead, "") + " | " + rest


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes, ctype: str, reason: Optional[str] = None) -> None:
        self.send_response(status, reason)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any, reason: Optional[str] = None) -> None:
        self._reply(status, json.dumps(obj).encode(), "application/json", reason)

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        owner = self.server.owner
        owner.requests.append(self.path)
        echo = echo_of(self.headers, body, owner.lead, owner.pad)
        if owner.as_proxy:  # every request refused, credentials echoed
            self._reply(407, echo.encode(), "text/plain", reason="Denied " + echo[:200])
            return
        if self.path.endswith("/restapi/oauth/revoke"):
            self._json(200, {})
            return
        mode = owner.token if "/oauth/token" in self.path else owner.search
        if mode == "ok" and "/oauth/token" in self.path:
            self._json(200, owner.token_body())
            return
        if mode == "ok":
            self._json(200, {"records": [], "paging": {"page": 1, "perPage": 1}})
            return
        status = int(mode.split("_")[0])
        if mode.endswith("_text"):
            self._reply(status, echo.encode(), "text/plain")
            return
        error = {
            "401": "invalid_client",
            "400": "invalid_grant",
        }.get(mode.split("_")[0], "server_error")
        self._json(
            status,
            {
                "error": error,
                "error_description": echo,
                "errorCode": "OAU-123" if "token" in self.path else "CMN-101",
                "message": echo,
                "errors": [{"errorCode": "CMN-101", "message": echo, "parameterName": echo}],
            },
        )

    do_GET = do_POST = do_PUT = do_DELETE = _any

    def do_CONNECT(self) -> None:
        self.server.owner.requests.append("CONNECT " + self.path)
        echo = echo_of(self.headers, b"", self.server.owner.lead, self.server.owner.pad)
        self._reply(407, echo.encode(), "text/plain", reason="Denied " + echo[:200])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Hostile

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Hostile:
    """``token``/``search``: "ok", or "<status>_echo" (JSON) / "<status>_text" (plain text)."""

    def __init__(
        self,
        *,
        token: str = "ok",
        search: str = "ok",
        as_proxy: bool = False,
        access_token: str = "",
        refresh_token: str = "",
        scope: str = "ReadAuditTrail",
        lead: str = "pair",
        pad: int = 0,
    ) -> None:
        self.lead = lead
        self.pad = pad
        self.token = token
        self.search = search
        self.as_proxy = as_proxy
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.scope = scope
        self.requests: List[str] = []
        self.server = _Server((HOST, 0), _Handler)
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.base_url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def token_body(self) -> Dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "bearer",
            "expires_in": 3600,
            "refresh_token_expires_in": 604800,
            "scope": self.scope,
            "owner_id": "1",
        }

    def __enter__(self) -> Hostile:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
