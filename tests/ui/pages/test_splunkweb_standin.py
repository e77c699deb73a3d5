"""The Splunk Web stand-in itself, without a browser: it must be as strict as Splunk Web.

A stand-in that served files outside the app, accepted writes without the CSRF form key, or let
a handler see arguments splunkd would refuse would make the browser tests pass where Splunk
would not.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import urllib.parse
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.standins.splunkweb import SetupPages

APP = "TA-ringcentral-audit"
ACCOUNT = f"/en-US/splunkd/__raw/servicesNS/nobody/{APP}/ta_ringcentral_audit_account"


def call(
    stack: SetupPages,
    method: str,
    path: str,
    body: Optional[Dict[str, str]] = None,
    *,
    form_key: Optional[str] = None,
) -> Tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", stack.web.port, timeout=60)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if form_key is not None:
        headers["X-Splunk-Form-Key"] = form_key
        headers["Cookie"] = f"{stack.web.csrf_cookie}={form_key}"
    try:
        data = urllib.parse.urlencode(body).encode() if body is not None else None
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@functools.cache
def static_digests(root: Path) -> Set[str]:
    return {digest(p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


segment = st.one_of(
    st.sampled_from(["..", ".", "%2e%2e", ".%2e", "", "~", "js", "build", "templates"]),
    st.text(min_size=1, max_size=8),
)
# Files of the app (and of the system) outside appserver/static, which must never be served.
outside = st.sampled_from(
    [
        "VERSION",
        "templates/base.html",
        "default/app.conf",
        "bin/import_declare_test.py",
        "etc/passwd",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    junk=st.lists(segment, max_size=4),
    climb=st.integers(min_value=0, max_value=8),
    dot=st.sampled_from(["..", "%2e%2e", ".%2e"]),
    target=st.one_of(outside, st.just("js/build/globalConfig.json")),
)
def test_static_files_are_served_from_the_app_only(
    stack: SetupPages, junk: List[str], climb: int, dot: str, target: str
) -> None:
    relative = "/".join(
        [*(urllib.parse.quote(j, safe="%.~") for j in junk), *[dot] * climb, target]
    )
    status, data = call(stack, "GET", f"/en-US/static/@1/app/{APP}/{relative}")
    if status == 200:
        assert digest(data) in static_digests(stack.web.static_root), (
            f"{relative!r} served something that is not a file of the app's static/"
        )
    else:
        assert status == 404
    stack.web.unanswered.clear()  # 404s are the point here, not a failure of the stack


def test_the_pages_and_their_splunk_web_pieces_are_served(stack: SetupPages) -> None:
    status, html = call(stack, "GET", f"/en-US/app/{APP}/configuration")
    built = Path(stack.splunkd.app_dir, "appserver", "templates", "base.html").read_bytes()
    assert (status, html) == (200, built)  # the built template, unchanged
    status, config = call(stack, "GET", "/en-US/config?autoload=1")
    assert status == 200 and b'"SPLUNKD_PATH": "/en-US/splunkd/__raw"' in config
    for path in ("/en-US/static/@1/js/i18n.js", "/en-US/static/@1/build/api/layout.js"):
        assert call(stack, "GET", path)[0] == 200
    assert call(stack, "GET", f"/en-US/app/{APP}/no_such_view")[0] == 404
    assert stack.web.unanswered == [f"GET /en-US/app/{APP}/no_such_view"]
    stack.web.unanswered.clear()


def test_a_write_without_the_csrf_form_key_is_refused(stack: SetupPages) -> None:
    body = {"name": "main", "client_id": "x"}
    assert call(stack, "POST", ACCOUNT + "?output_mode=json", body)[0] == 401
    assert call(stack, "POST", ACCOUNT + "?output_mode=json", body, form_key="forged")[0] == 401
    assert call(stack, "DELETE", ACCOUNT + "/main?output_mode=json")[0] == 401
    assert not stack.splunkd.handler_calls  # nothing reached splunkd


def test_splunkd_refuses_arguments_the_handler_did_not_declare(stack: SetupPages) -> None:
    key = stack.web.csrf_token
    extra = {"name": "main", "server": "production", "client_id": "x", "client_secret": "s"}
    extra.update(jwt="a.b.c", bogus="1")
    status, data = call(stack, "POST", ACCOUNT + "?output_mode=json", extra, form_key=key)
    assert status == 400 and '"bogus"' in json.loads(data)["messages"][0]["text"]
    status, data = call(
        stack, "POST", ACCOUNT + "?output_mode=json", {"name": "main"}, form_key=key
    )
    assert status == 400 and "client_id" in json.loads(data)["messages"][0]["text"]
    assert stack.splunkd.conf_stanza("ta_ringcentral_audit_account", "main") is None
