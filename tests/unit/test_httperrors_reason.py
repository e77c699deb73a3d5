"""A transport failure's cause reads as a sentence: no Python object dumps in the admin's message."""

from __future__ import annotations

import requests
from hypothesis import example, given
from hypothesis import strategies as st
from ringcentral_audit.httperrors import reason


def refused(address: str) -> requests.ConnectionError:
    return requests.ConnectionError(
        "HTTPSConnectionPool(host='platform.ringcentral.com', port=443): Max retries exceeded with "
        "url: /restapi/oauth/token (Caused by NewConnectionError('<urllib3.connection."
        f"HTTPSConnection object at {address}>: Failed to establish a new connection: "
        "[Errno 111] Connection refused'))"
    )


def test_a_refused_connection_reads_as_its_cause():
    assert reason(refused("0x7f3a2c1b9e50")) == "the connection was refused"


@given(st.integers(0, 2**64).map(hex))
@example("0x7f6640714070")
def test_no_object_address_reaches_the_message(address):
    text = reason(refused(address))
    assert "object at" not in text and address not in text and text == "the connection was refused"


def test_the_digits_407_in_an_address_or_a_port_are_not_a_proxy_refusal():
    assert reason(refused("0x7f6640714070")) == "the connection was refused"
    error = requests.ConnectionError(str(refused("0x7f00")).replace("port=443", "port=40712"))
    assert reason(error) == "the connection was refused"
    assert reason(
        requests.ConnectionError("Tunnel connection failed: 407 Proxy Authentication Required")
    ) == ("the proxy asked for valid credentials (HTTP 407)")
