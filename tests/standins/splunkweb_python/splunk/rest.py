"""Stand-in for ``splunk.rest.simpleRequest``: a call to splunkd at $SPLUNKD_URI."""

import os
import ssl
import urllib.error
import urllib.parse
import urllib.request


class RESTException(Exception):
    def __init__(self, status, msg):
        super().__init__(f"[HTTP {status}] {msg}")
        self.statusCode = status
        self.msg = msg


def simpleRequest(
    path, sessionKey=None, getargs=None, postargs=None, method="GET", raiseAllErrors=True, **_
):
    base = os.environ["SPLUNKD_URI"]
    url = base + path if path.startswith("/") else f"{base}/services/{path}"
    if getargs:
        url += "?" + urllib.parse.urlencode(getargs)
    data = urllib.parse.urlencode(postargs).encode() if postargs else None
    request = urllib.request.Request(url, data=data, method="POST" if data else method)
    if sessionKey:
        request.add_header("Authorization", f"Splunk {sessionKey}")
    context = ssl._create_unverified_context()  # noqa: S323 - splunkd's self-signed certificate
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return {"status": str(response.status)}, response.read()
    except urllib.error.HTTPError as error:
        if raiseAllErrors:
            raise RESTException(error.code, error.read().decode("utf-8", "replace")) from None
        return {"status": str(error.code)}, error.read()
