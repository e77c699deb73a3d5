"""The SDK's HTTP client, replaced: one shared session with timeouts, proxy and TLS settings.

ringcentral 0.9.2 opens a new ``requests.Session`` per call and sets no timeout, so a stalled
connection would hang the input forever. ``Client.load_response`` is the SDK's one seam for this
(pinned SDK version; covered by tests).
"""

from __future__ import annotations

from typing import Any, Optional

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
        self._proxies = connection.proxy.for_requests() if connection.proxy else {}
        if connection.proxy:
            self.session.trust_env = False  # an explicit proxy wins over HTTP(S)_PROXY

    def load_response(self, request: Any) -> ApiResponse:
        response = self.session.send(
            request,
            timeout=(self.connection.connect_timeout, self.connection.read_timeout),
            proxies=self._proxies,
            verify=self.connection.verify,
            allow_redirects=False,
        )
        self.last_response = response
        return ApiResponse(request, response)

    def close(self) -> None:
        self.session.close()
