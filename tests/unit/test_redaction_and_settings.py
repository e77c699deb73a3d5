import base64
import json
import logging

import pytest
from ringcentral_audit.errors import REDACTED, SECRETS, AuthError, RedactingFilter
from ringcentral_audit.settings import (
    Proxy,
    check_base_url,
    parse_account,
    parse_connection,
    parse_input_settings,
    parse_proxy,
    server_url,
    validate_input_settings,
)

NOW = 1_780_000_000.0


def jwt(payload):
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{body}.c2lnbmF0dXJl"


def test_registered_secrets_and_credential_shapes_are_redacted():
    SECRETS.add("s3cr3t-value-123")
    text = (
        "secret s3cr3t-value-123 Authorization: Bearer U0FBQ0NFU1NUT0tFTg "
        "Basic Y2xpZW50OnNlY3JldA== access_token=abcdefgh&x=1 "
        '{"refresh_token": "rt-1234567"}'
    )
    out = SECRETS.redact(text)
    for leaked in (
        "s3cr3t-value-123",
        "U0FBQ0NFU1NUT0tFTg",
        "Y2xpZW50OnNlY3JldA==",
        "abcdefgh",
        "rt-1234567",
    ):
        assert leaked not in out
    assert out.count(REDACTED) >= 5


def test_error_messages_are_redacted_at_construction():
    SECRETS.add("another-secret-999")
    assert "another-secret-999" not in str(AuthError("bad another-secret-999"))


def test_logging_filter_redacts_messages_arguments_and_tracebacks():
    SECRETS.add("tb-secret-4242")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    try:
        log.warning("value %s", "tb-secret-4242")
        try:
            raise ValueError("boom tb-secret-4242")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    assert records and all("tb-secret-4242" not in r for r in records)
    assert "ValueError" in records[1]


def test_account_requires_https_except_for_a_loopback_test_server():
    assert check_base_url("https://platform.ringcentral.com/") == "https://platform.ringcentral.com"
    assert check_base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    with pytest.raises(Exception, match="https://"):
        check_base_url("http://platform.ringcentral.com")
    with pytest.raises(Exception, match="without a path"):
        check_base_url("https://platform.ringcentral.com/restapi")
    assert server_url("sandbox") == "https://platform.devtest.ringcentral.com"
    assert server_url("custom", "https://example.test") == "https://example.test"


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("", "empty"),
        ("not-a-jwt", "three dot-separated"),
        ("a.!!!.c", "payload"),
        (jwt({"exp": NOW - 10}), "expired"),
    ],
)
def test_bad_jwts_are_refused_with_what_to_do(token, words):
    raw = {"client_id": "id", "client_secret": "secret-value", "jwt": token}
    with pytest.raises(Exception, match=words):
        parse_account(raw, NOW)


def test_a_good_account_parses_and_hides_its_secrets_in_repr():
    token = jwt({"exp": NOW + 1000, "sub": "1"})
    account = parse_account({"client_id": "id", "client_secret": "secret-value", "jwt": token}, NOW)
    assert account.server_url == "https://platform.ringcentral.com"
    assert "secret-value" not in repr(account) and token not in repr(account)
    other = parse_account({"client_id": "id", "client_secret": "secret-value2", "jwt": token}, NOW)
    assert account.fingerprint() != other.fingerprint()


def test_proxy_url_carries_quoted_credentials_and_remote_dns():
    proxy = parse_proxy(
        {
            "proxy_enabled": "1",
            "proxy_type": "socks5",
            "proxy_url": "proxy.local",
            "proxy_port": "1080",
            "proxy_username": "me@corp",
            "proxy_password": "p:w/d",
        }
    )
    assert proxy == Proxy("proxy.local", 1080, "socks5", "me@corp", "p:w/d", True)
    assert proxy.url() == "socks5h://me%40corp:p%3Aw%2Fd@proxy.local:1080"
    assert parse_proxy({"proxy_enabled": "0", "proxy_url": "x"}) is None
    with pytest.raises(Exception, match="port"):
        parse_proxy({"proxy_url": "x", "proxy_port": "99999"})


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"interval": "10"}, "at least 60"),
        ({"interval": "often"}, "number of seconds"),
        ({"start_date": "last week"}, "not a date"),
        ({"start_date": "2099-01-01"}, "future"),
        ({"lag_seconds": "-5"}, "between"),
        ({"overlap_seconds": "x"}, "number of seconds"),
        ({"action_ids": "CHANGE USER"}, None),
        ({"action_ids": "BAD-ID!"}, "not an actionId"),
        ({"action_ids": "A,B", "exclude_action_ids": "B"}, "both included and excluded"),
    ],
)
def test_bad_input_settings_are_refused_with_the_field_named(raw, words):
    if words is None:
        assert parse_input_settings("i", raw, NOW).action_ids == ("CHANGE", "USER")
        return
    with pytest.raises(Exception, match=words):
        parse_input_settings("i", raw, NOW)


def test_saving_refuses_a_start_date_the_api_no_longer_holds_but_a_run_accepts_it():
    raw = {"start_date": "2025-01-01"}
    with pytest.raises(Exception, match="older than RingCentral keeps"):
        validate_input_settings("i", raw, NOW)
    assert parse_input_settings("i", raw, NOW).start is not None


def test_defaults():
    settings = parse_input_settings("i", {"interval": "300"}, NOW)
    assert (settings.start, settings.lag, settings.overlap) == (None, 60.0, 600.0)


def test_connection_trusts_public_cas_unless_a_readable_ca_bundle_is_given(tmp_path):
    assert parse_connection({}).verify is True
    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    connection = parse_connection(
        {"ca_bundle_path": f" {bundle} "}, {"proxy_url": "p", "proxy_port": "8080"}
    )
    assert connection.verify == str(bundle)
    assert connection.proxy == Proxy("p", 8080)
    with pytest.raises(Exception, match="not a readable file"):
        parse_connection({"ca_bundle_path": str(tmp_path / "missing.pem")})
