"""The SDK's HTTP client, replaced: one shared session with timeouts, proxy and TLS settings.

ringcentral 0.9.2 opens a new ``requests.Session`` per call and sets no timeout, so a stalled
connection would hang the input forever. ``Client.load_response`` is the SDK's one seam for this
(pinned SDK version; covered by tests).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import requests
from ringcentral.http import Client
from ringcentral.http.api_response import ApiResponse

from .settings import Connection


class SessionClient(Client):  # type: ignore[misc]
    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.connection = connection
        self.session = requests.Session()
        self.last_response: Optional[requests.Response] = None
        # An explicit proxy wins over HTTP(S)_PROXY; without one the environment's apply, as
        # they did for the SDK (requests reads them only when no proxies are passed).
        self._proxies = connection.proxy.for_requests() if connection.proxy else None

    def load_response(self, request: Any) -> ApiResponse:
        options: Dict[str, Any] = {
            "timeout": (self.connection.connect_timeout, self.connection.read_timeout),
            "verify": self.connection.verify,
            "allow_redirects": False,
        }
        if self._proxies is not None:
            options["proxies"] = self._proxies
        response = self.session.send(request, **options)
        self.last_response = response
        return ApiResponse(request, response)

    def close(self) -> None:
        self.session.close()
