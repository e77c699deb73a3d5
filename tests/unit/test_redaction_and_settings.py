import base64
import glob
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from ringcentral_audit.errors import (
    REDACTED,
    SECRETS,
    AuthError,
    ConfigError,
    RedactingFilter,
    mask,
    protect,
)
from ringcentral_audit.settings import (
    ACTION_IDS_CORE,
    ACTION_IDS_PATTERN,
    PROXY_HOST_PATTERN,
    START_DATE_CORE,
    START_DATE_PATTERN,
    Proxy,
    check_base_url,
    parse_account,
    parse_connection,
    parse_input_settings,
    parse_proxy,
    parse_start_date,
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


def test_protecting_the_root_logger_redacts_what_libraries_log_through_it(caplog):
    SECRETS.add("lib-warn-secret-77")
    root = logging.getLogger()
    before = list(root.filters)
    try:
        protect(root)
        protect(root)  # once only
        assert sum(isinstance(f, RedactingFilter) for f in root.filters) == 1
        logging.warning("Run function: x failed: %s", "HTTP 500 -- lib-warn-secret-77")
    finally:
        root.filters[:] = before
    assert "lib-warn-secret-77" not in caplog.text and "HTTP 500" in caplog.text


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


# ----------------------------------------------------------------------------- issue 8: leaks
# Every form a server or library may echo a secret in must come out of redact(); the canaries
# hold the characters that URL-encoding, JSON-escaping and base64 change.

_SECRET_ALPHABET = st.characters(
    min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="*"
) | st.sampled_from(list('é€ü\u2028"\\/+=&%:@ '))


def _echo_forms(user: str, secret: str) -> List[str]:
    pair = f"{user}:{secret}".encode()
    forms = [
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        base64.b64encode(pair).decode(),
        base64.b64encode(pair).decode().rstrip("="),
        base64.urlsafe_b64encode(pair).decode(),
        base64.urlsafe_b64encode(pair).decode().rstrip("="),
    ]
    return forms


@settings(max_examples=150, deadline=None)
@given(
    user=st.text(alphabet=st.characters(min_codepoint=0x30, max_codepoint=0x7A), min_size=3),
    secret=st.text(alphabet=_SECRET_ALPHABET, min_size=12, max_size=60),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    form=st.integers(0, 8),
)
def test_a_registered_secret_is_redacted_in_every_encoding_a_server_may_echo(
    user, secret, before, after, form
):
    SECRETS.add_pair(user, secret)
    echoed = _echo_forms(user, secret)[form]
    out = SECRETS.redact(f"{before} {echoed} {after}")
    assert echoed not in out
    assert secret not in out


@settings(max_examples=100, deadline=None)
@given(
    secret=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=16),
    cut=st.integers(1, 300),
    pad=st.integers(0, 300),
)
def test_redaction_comes_before_the_cut_so_no_head_of_a_secret_survives(secret, cut, pad):
    assume("*" not in secret and "." not in secret)
    SECRETS.add(secret)
    text = "x" * pad + secret + " tail"
    out = SECRETS.redact(text, limit=cut)
    assert len(out) <= cut + 3
    heads = [secret[:n] for n in range(6, len(secret) + 1)]
    assert not any(head in out for head in heads), out


def test_credentials_found_by_shape_are_redacted_without_being_registered():
    pair = base64.b64encode(b"never-registered-id:never-registered-secret").decode()
    texts = {
        f'{{"message": "bad credentials {pair}"}}': pair,
        f"echo {pair.rstrip('=')} end": pair.rstrip("="),
        "Could not reach http://admin:Url-Pa55word@127.0.0.1:9 (refused)": "Url-Pa55word",
        "through the http proxy admin:Typed-Pw-123@proxy.local:3128": "Typed-Pw-123",
        "socks5h://u%40corp:p%3Aw@10.0.0.1:1080": "p%3Aw",
    }
    for text, leaked in texts.items():
        assert leaked not in SECRETS.redact(text), text
    # Ordinary text stays readable: ids, times, names.
    plain = "input=ringcentral_audit_trail cursor=2026-01-31T08:30:00.000Z id=8f14e45fceea167a5a36"
    assert SECRETS.redact(plain) == plain


@given(st.text(alphabet=_SECRET_ALPHABET, max_size=80))
def test_a_masked_value_shows_at_most_four_characters_and_its_length(value):
    shown = re.fullmatch(r"'(.*)\.\.\.' \(([0-9]+) characters\)", mask(value), re.S)
    assert shown is not None and int(shown[2]) == len(value)
    assert value.startswith(shown[1]) and len(shown[1]) <= min(4, len(value) // 3)


def test_swapped_client_id_and_secret_never_show_the_secret():
    from ringcentral_audit.httperrors import _token_error

    secret_as_id = "S3cr3t-Swapped-" + "K" * 18  # a client secret pasted as the client ID
    account = parse_account(
        {"client_id": secret_as_id, "client_secret": "AbCdEf123456", "jwt": jwt({"sub": "1"})},
        NOW,
    )
    error = _token_error(401, ["OAU-123"], "invalid_client", "HTTP 401 OAU-123", account)
    assert secret_as_id not in str(error) and secret_as_id[4:] not in str(error)
    assert "'S3cr...' (33 characters)" in str(error)


@pytest.mark.parametrize(
    "url",
    [
        "http://admin:Url-Pa55word-9@127.0.0.1:9",
        "https://admin:Url-Pa55word-9@platform.ringcentral.com",
        "https://Url-Pa55word-9@platform.ringcentral.com",
        "admin:Url-Pa55word-9@platform.ringcentral.com",
        "https://admin:Url-Pa55word-9@[::1",
    ],
)
def test_a_server_url_with_credentials_is_refused_without_echoing_them(url):
    raw = {
        "client_id": "id",
        "client_secret": "secret-value",
        "jwt": jwt({"sub": "1"}),
        "server": "custom",
        "custom_server_url": url,
    }
    with pytest.raises(ConfigError) as caught:
        parse_account(raw, NOW)
    message = str(caught.value)
    assert "Url-Pa55word-9" not in message
    assert "Client ID, Client secret and JWT" in message
    assert "Url-Pa55word-9" not in SECRETS.redact(f"later: {url}")


@pytest.mark.parametrize(
    "host", ["admin:Typed-Pw-123@proxy.local", "http://admin:Typed-Pw-123@proxy.local"]
)
def test_a_proxy_host_with_credentials_is_refused_without_echoing_them(host):
    with pytest.raises(ConfigError) as caught:
        parse_proxy({"proxy_url": host, "proxy_port": "3128"})
    assert "Typed-Pw-123" not in str(caught.value)
    assert "Username and Password" in str(caught.value)
    assert "Typed-Pw-123" not in SECRETS.redact(f"Could not connect through {host}:3128")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (f, v)
        for f in ("interval", "lag_seconds", "overlap_seconds")
        for v in (
            "nan",
            "inf",
            "-inf",
            "1e308",
            "1e3",
            "0x10",
            "\u0661\u0662\u0660",
            "1_000",
            "+100",
            "Infinity",
        )
    ],
)
def test_non_finite_exotic_or_huge_numbers_are_refused(field, value):
    with pytest.raises(ConfigError, match=field):
        parse_input_settings("i", {field: value}, NOW)


def test_a_start_date_with_a_zero_offset_is_a_utc_time_in_either_spelling():
    expected = parse_start_date("2026-05-01T08:30:00Z", NOW)
    for spelling in ("+0000", "+00:00", "-0000", "-00:00", "z", ""):
        assert parse_start_date(f"2026-05-01T08:30:00{spelling}", NOW) == expected
    for refused in ("2026-05-01T08:30:00+0100", "2026-W18-5", "20260501", "2026-05-01T08:30"):
        with pytest.raises(ConfigError):
            parse_start_date(refused, NOW)


# ------------------------------------------------------- the page's rules and the library's agree
CONFIG = json.loads((Path(__file__).resolve().parents[2] / "globalConfig.json").read_text())
INPUT_ENTITIES = {e["field"]: e for e in CONFIG["pages"]["inputs"]["services"][0]["entity"]}


def page_accepts(field: str, value: str) -> bool:
    """The field's validators as the browser applies them (RegExp: ASCII \\d, $ only at the end)
    and as splunktaucclib does (int()/float() ranges). Empty values are not validated."""
    if field == "interval":  # UCC's own rule for its interval type (regex, then 60 to 86400)
        rules: List[Dict[str, Any]] = [
            {"type": "regex", "pattern": r"^(?:-1|\d+(?:\.\d+)?)$"},
            {"type": "number", "range": [60, 86400]},
        ]
    else:
        rules = INPUT_ENTITIES[field].get("validators", [])
    for rule in rules:
        if rule["type"] == "regex" and not re.fullmatch(rule["pattern"], value, re.A):
            return False
        if rule["type"] == "string" and not rule["minLength"] <= len(value) <= rule["maxLength"]:
            return False
        if rule["type"] == "number":
            try:
                number = int(value) if rule.get("isInteger") else float(value)
            except ValueError:
                return False
            if not rule["range"][0] <= number <= rule["range"][1]:
                return False
    return True


def library_accepts(field: str, value: str) -> bool:
    try:
        parse_input_settings("i", {field: value}, NOW + 400 * 86400)
    except ConfigError:
        return False
    return True


_NUMBERISH = st.one_of(
    st.integers(-10, 100_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"\A[0-9]{1,6}(\.[0-9]{1,3})?\Z"),
    st.text(alphabet="0123456789.-+e_x \u0661\u0662\u0660nanifINF", min_size=1, max_size=10),
)
# the input's number fields: the page and the library must agree on each
_NUMBER_FIELDS = st.sampled_from(
    ["interval", "lag_seconds", "overlap_seconds", "reconcile_days", "reconcile_budget_percent"]
)
_DATEISH = st.one_of(
    st.from_regex(START_DATE_CORE, fullmatch=True),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 1, 1)).map(
        lambda d: d.isoformat()
    ),
    st.text(alphabet="0123456789-:T Z+.tz", min_size=8, max_size=32),
)
_ACTIONISH = st.one_of(
    st.from_regex(ACTION_IDS_CORE, fullmatch=True),
    st.text(alphabet="AB_.:-, ;\t\n|*\x1c\u2003é1", max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.tuples(_NUMBER_FIELDS, _NUMBERISH),
        st.tuples(st.just("start_date"), _DATEISH),
        st.tuples(st.sampled_from(["action_ids", "exclude_action_ids"]), _ACTIONISH),
    )
)
@example(("lag_seconds", "000000"))  # six digits: the page's pattern takes five
@example(("reconcile_days", "12abc"))
def test_the_library_accepts_exactly_what_the_setup_page_accepts(case):
    field, value = case
    value = value.strip()  # splunkd strips conf values; the library does too
    assume(value)
    library = library_accepts(field, value)
    page = page_accepts(field, value)
    if field == "start_date" and page and not library:
        # the page checks the spelling; the calendar (Feb 30) and the clock are the library's
        with pytest.raises(ConfigError, match=r"not a date|in the future"):
            parse_start_date(value, NOW + 400 * 86400)
        return
    assert library == page, (field, value)


def test_the_page_uses_the_librarys_patterns_verbatim():
    assert INPUT_ENTITIES["start_date"]["validators"][0]["pattern"] == START_DATE_PATTERN
    for name in ("action_ids", "exclude_action_ids"):
        assert INPUT_ENTITIES[name]["validators"][0]["pattern"] == ACTION_IDS_PATTERN
    tabs = CONFIG["pages"]["configuration"]["tabs"]
    proxy = next(t for t in tabs if t.get("type") == "proxyTab")
    assert PROXY_HOST_PATTERN in [v.get("pattern") for v in proxy["host"]["validators"]]
    for pattern in (START_DATE_PATTERN, ACTION_IDS_PATTERN, PROXY_HOST_PATTERN):
        assert "\\d" not in pattern and "\\s" not in pattern and "\\w" not in pattern


# ------------------------------------------------------- the same answers on Splunk's Pythons
_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ringcentral_audit.errors import ConfigError
from ringcentral_audit.settings import parse_input_settings, parse_proxy
out = []
for field, value, now in json.load(sys.stdin):
    try:
        if field.startswith("proxy_"):
            p = parse_proxy({"proxy_url": "proxy.local", "proxy_port": "3128", field: value})
            out.append(["ok", p and [p.host, p.port, p.type]])
        else:
            s = parse_input_settings("i", {field: value}, now)
            out.append(["ok", [s.start, s.lag, s.overlap, list(s.action_ids)]])
    except ConfigError as error:
        out.append(["refused", str(error)])
print(json.dumps(out))
"""


def splunk_pythons() -> Dict[str, str]:
    """{version: interpreter} for Splunk's Pythons, from pyenv ($PYENV_ROOT or `pyenv root`)."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=False
        ).stdout.strip()
    found: Dict[str, str] = {}
    for version in ("3.9", "3.13"):
        candidates = [shutil.which(f"python{version}")]
        if root:
            candidates += sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
        for path in filter(None, candidates):
            out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
            if out.stdout.startswith(f"Python {version}."):
                found[version] = path
                break
    return found


PYTHONS = splunk_pythons()
BIN = str(Path(__file__).resolve().parents[2] / "package" / "bin")


def _probe(python: str, cases: List[Any]) -> List[Any]:
    result = subprocess.run(
        [python, "-S", "-c", _PROBE, BIN],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("version", ["3.9", "3.13"])
@settings(max_examples=4, deadline=None)
@given(
    cases=st.lists(
        st.one_of(
            st.tuples(_NUMBER_FIELDS, _NUMBERISH),
            st.tuples(st.just("start_date"), _DATEISH),
            st.tuples(st.just("start_date"), st.sampled_from(["2026-05-01T08:30:00+0000"])),
            st.tuples(st.sampled_from(["action_ids", "exclude_action_ids"]), _ACTIONISH),
            st.tuples(st.just("proxy_port"), _NUMBERISH),
            st.tuples(st.just("proxy_url"), st.text(max_size=20)),
        ),
        min_size=40,
        max_size=80,
    )
)
def test_settings_parse_the_same_on_python_3_9_and_3_13(version, cases):
    if version not in PYTHONS:
        pytest.skip(f"no Python {version} (pyenv or PATH)")
    rows = [[field, value, NOW + 400 * 86400] for field, value in cases]
    assert _probe(PYTHONS[version], rows) == _probe(sys.executable, rows)


# ------------------------------------------------- the narrow window for foreign text (issue 17)
_WORDS = st.lists(
    st.sampled_from(["Invalid", "request", "parameter", "[dateTimeFrom]", "is", "not", "found"]),
    max_size=6,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(
    secret=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30),
    before=_WORDS,
    after=_WORDS,
    glue=st.sampled_from([" ", "\n", "", " - "]),
)
def test_a_registered_secret_of_any_length_never_passes_the_window(secret, before, after, glue):
    from ringcentral_audit.errors import SECRETS, window

    SECRETS.add(secret)
    for echoed in (secret, secret.upper(), secret.lower(), secret[::-1]):
        text = f"{before}{glue}{echoed}{glue}{after}".strip()
        shown = window(text)
        assert shown == text or shown.startswith("answer not shown (")
        if len(secret) >= 3 and echoed in (secret, secret.upper(), secret.lower()):
            assert echoed not in shown or echoed.lower() in (before + after).lower()


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_the_window_shows_text_whole_or_not_at_all(text):
    from ringcentral_audit.errors import window

    shown = window(text)
    assert (
        shown == text
        or shown == f"answer not shown ({len(text.encode('utf-8', 'surrogatepass'))} bytes)"
    )
    assert len(shown) <= 200 or shown != text
