"""The RingCentral stand-in: its contract (the published OpenAPI description) and its behaviour."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.standins.ringcentral import (
    JWT_GRANT,
    FakeClock,
    RingCentralStandIn,
    format_ms,
    format_time,
    generate_history,
)

# RingCentral's published OpenAPI description, trimmed; kept in the repository (origin: its README).
SPEC_PATH = (
    Path(__file__).resolve().parents[1]
    / "standins/ringcentral/contract/ringcentral-audit-trail.openapi.yml"
)
SPEC_OPERATION = "/restapi/v1.0/account/{accountId}/audit-trail/search"
SEARCH = "/restapi/v1.0/account/~/audit-trail/search"
TOKEN = "/restapi/oauth/token"
REVOKE = "/restapi/oauth/revoke"
DAY = 86400.0


# -- the contract ------------------------------------------------------------------------------

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:  # RFC 3339, checked independently of the stand-in
        if not isinstance(value, str):
            return True
        if not _DATE_TIME.match(value):
            return False
        text = value.upper().replace("Z", "+00:00")
        head, dot, rest = text.partition(".")
        if dot:
            digits = rest[: len(rest) - 6]
            text = head + "." + (digits + "000000")[:6] + rest[-6:]
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return False
        return True

    @checker.checks("int32")
    def _int32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    return checker


class Contract:
    """JSON Schemas for the search operation, built from the OpenAPI description."""

    def __init__(self, spec: Dict[str, Any]) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT4)
        self.registry = Registry().with_resource("urn:ringcentral-openapi", resource)
        self.checker = _format_checker()
        self.operation = spec["paths"][SPEC_OPERATION]["post"]

    def validator(self, pointer: str) -> Draft4Validator:
        return Draft4Validator(
            {"$ref": "urn:ringcentral-openapi" + pointer},
            registry=self.registry,
            format_checker=self.checker,
        )

    def request(self) -> Draft4Validator:
        schema = self.operation["requestBody"]["content"]["application/json"]["schema"]
        return self.validator(schema["$ref"])

    def response(self, status: int) -> Draft4Validator:
        response = self.operation["responses"][str(status)]
        if "$ref" in response:
            response = self.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return self.validator(response["content"]["application/json"]["schema"]["$ref"])

    def schema(self, name: str) -> Draft4Validator:
        return self.validator(f"#/components/schemas/{name}")


@pytest.fixture(scope="module")
def contract() -> Contract:
    assert SPEC_PATH.is_file(), f"the contract is missing: {SPEC_PATH}"
    return Contract(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))


def assert_valid(validator: Draft4Validator, instance: Any) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


# -- a rc client ----------------------------------------------------------------------------


class Client:
    """requests.Session against a stand-in; validates search bodies against the contract."""

    def __init__(self, rc: RingCentralStandIn, contract: Optional[Contract] = None) -> None:
        self.rc = rc
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or CA bundles from the environment
        self.verify: Any = rc.ca_file or True
        self.request_validator = contract.request() if contract else None
        self.access_token: Optional[str] = None
        self.refresh_token: Optional[str] = None

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("verify", self.verify)
        return self.session.post(self.rc.base_url + path, **kwargs)

    def token(self, form: Dict[str, str], auth: Any = "default") -> requests.Response:
        if auth == "default":
            auth = (self.rc.client_id, self.rc.client_secret)
        return self.post(TOKEN, data=form, auth=auth)

    def login(self) -> str:
        response = self.token({"grant_type": JWT_GRANT, "assertion": self.rc.jwt})
        assert response.status_code == 200, response.text
        body = response.json()
        self.access_token = body["access_token"]
        self.refresh_token = body.get("refresh_token")
        return self.access_token

    def search(
        self,
        body: Any = None,
        *,
        token: Optional[str] = None,
        validate: bool = True,
        raw: Optional[bytes] = None,
        path: str = SEARCH,
        **kwargs: Any,
    ) -> requests.Response:
        if token is None:
            token = self.access_token or self.login()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if raw is not None:
            headers["Content-Type"] = "application/json"
            return self.post(path, data=raw, headers=headers, **kwargs)
        if body is None:
            return self.post(path, headers=headers, **kwargs)
        if validate and self.request_validator is not None:
            assert_valid(self.request_validator, body)
        return self.post(path, json=body, headers=headers, **kwargs)

    def all_ids(self, body: Dict[str, Any]) -> List[str]:
        """Every id over all pages of a search (order as served)."""
        ids: List[str] = []
        page = 1
        while True:
            response = self.search({**body, "page": page})
            assert response.status_code == 200, response.text
            data = response.json()
            ids.extend(r["id"] for r in data["records"])
            if not data["records"]:
                return ids
            page += 1

    def close(self) -> None:
        self.session.close()


def first_error(response: requests.Response) -> Dict[str, Any]:
    return response.json()["errors"][0]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def history(clock: FakeClock) -> List[Dict[str, Any]]:
    return generate_history(2345, end=clock.now() - 60, seed=7)


@pytest.fixture
def rc(clock: FakeClock) -> Iterator[RingCentralStandIn]:
    """A small account without rate limits."""
    records = generate_history(30, end=clock.now() - 60, seed=8)
    with RingCentralStandIn(records=records, clock=clock, rate_limits=False) as standin:
        yield standin


@pytest.fixture
def client(rc: RingCentralStandIn, contract: Contract) -> Iterator[Client]:
    c = Client(rc, contract)
    yield c
    c.close()


def record(event_time: float, **fields: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"id": str(uuid.uuid4()), "eventTime": format_time(event_time)}
    body.update(fields)
    return body


# -- FakeClock and generate_history ------------------------------------------------------------


def test_fake_clock_is_instant_and_thread_safe() -> None:
    clock = FakeClock()
    assert clock.now() == 1780272000.0  # 2026-06-01T00:00:00Z
    started = time.monotonic()
    assert clock.sleep(3600) is True
    assert clock.sleep(-5) is True  # negative sleeps do not move time
    assert time.monotonic() - started < 0.5
    assert clock.now() == 1780272000.0 + 3600
    clock.advance(0.5)
    assert FakeClock(start=10.0).now() == 10.0

    def tick() -> None:
        for _ in range(1000):
            clock.advance(1)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == 1780272000.0 + 3600.5 + 4000


def test_generate_history_is_realistic_and_deterministic() -> None:
    end = FakeClock().now()
    records = generate_history(3000, end=end, seed=3)
    assert records == generate_history(3000, end=end, seed=3)
    assert records != generate_history(3000, end=end, seed=4)
    # Batches made with one seed for other times or sizes never share ids.
    batches = [
        generate_history(1, end=end - 3600, seed=0),
        generate_history(1, end=end - 1, span_days=0.003, seed=0),
        generate_history(2, end=end - 1, span_days=0.003, seed=0),
    ]
    assert len({r["id"] for batch in batches for r in batch}) == 4
    assert len(records) == 3000
    ids = [r["id"] for r in records]
    assert len(set(ids)) == 3000
    assert all(str(uuid.UUID(i)) == i for i in ids)
    times = [r["eventTime"] for r in records]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t) for t in times)
    assert times == sorted(times)  # oldest first
    assert times[0] >= format_time(end - 170 * DAY) and times[-1] <= format_time(end)
    shared = [t for t in set(times) if times.count(t) > 1]
    assert 1 <= len(shared) <= 5
    actions = {r["actionId"] for r in records}
    assert {
        "CHANGE_USER_INFO",
        "CHANGE_SECRET_INFO",
        "CHANGE_USER_ROLE",
        "LOGIN_SUCCESSFULLY",
        "LOGIN_FAILED",
        "ACCOUNT_LOCKED",
        "CREATE_USER",
        "DELETE_USER",
        "CHANGE_PHONE_NUMBER",
        "CHANGE_CALL_QUEUE",
    } <= actions
    assert {r["target"]["objectType"] for r in records} == {
        "Extension",
        "Account",
        "Company",
        "Template",
    }
    assert any(r["target"]["objectId"] == "0" for r in records)
    event_types = {r["eventType"] for r in records}
    assert {"CREATE", "UPDATE", "DELETE"} <= event_types
    assert any(t != t.upper() for t in event_types)  # mixed case, e.g. "Create"
    assert len({r["initiator"]["extensionId"] for r in records}) >= 4
    ips = {r.get("clientIp") for r in records} - {None}
    assert any(":" in ip for ip in ips) and any("." in ip and ":" not in ip for ip in ips)
    names = {r["initiator"]["name"] for r in records} | {r["target"]["name"] for r in records}
    assert {"Zoë Ångström", "田中太郎"} <= names
    assert all(isinstance(r["details"]["parameters"], list) for r in records)
    known = {
        "id",
        "eventTime",
        "actionId",
        "eventType",
        "accountId",
        "accountName",
        "clientIp",
        "comment",
        "initiator",
        "target",
        "details",
    }
    assert 1 <= sum(1 for r in records if set(r) - known) <= 3
    tiny = generate_history(10, end=end, span_days=1, shared_timestamp_groups=0)
    assert len({r["eventTime"] for r in tiny}) == 10
    assert generate_history(0, end=end) == []


# -- contract ----------------------------------------------------------------------------------


def test_contract_validator_has_teeth(contract: Contract) -> None:
    ok = contract.response(200)
    good = {"records": [{"id": "x", "eventTime": "2026-05-31T10:50:19.442Z"}], "paging": {}}
    assert_valid(ok, good)
    for bad in (
        {"records": [{"eventTime": "yesterday"}]},
        {"records": [{"target": {"objectType": "Bogus"}}]},
        {"records": [{"details": {"parameters": [{"key": "k"}]}}]},
        {"paging": {"page": 0}},
        {"paging": {"perPage": 1001}},
    ):
        assert list(ok.iter_errors(bad)), bad
    assert list(contract.response(400).iter_errors({"errors": []}))
    assert list(contract.request().iter_errors({"page": "1"}))
    assert list(contract.request().iter_errors({"eventTimeFrom": "2026-06-01"}))


def test_contract_success_responses(contract: Contract, clock: FakeClock) -> None:
    records = generate_history(1500, end=clock.now(), seed=11, unknown_field_records=5)
    records.append(record(clock.now() - 5, actionId="NEW_ACTION", brandNew={"nested": [1, 2]}))
    with RingCentralStandIn(records=records, clock=clock) as rc:
        client = Client(rc, contract)
        schema = contract.response(200)
        pages = [client.search({"perPage": 1000, "page": p}) for p in (1, 2, 3)]
        default = client.search()  # no body at all: server defaults
        filtered = client.search({"actionIds": ["NEW_ACTION"], "perPage": 10})
        for response in [*pages, default, filtered]:
            assert response.status_code == 200
            assert response.headers["Content-Type"].startswith("application/json")
            assert_valid(schema, response.json())
        assert [len(p.json()["records"]) for p in pages] == [1000, 501, 0]
        assert "page" not in pages[2].json()["paging"]  # past the end: may be omitted
        assert default.json()["paging"] == {
            "page": 1,
            "perPage": 100,
            "total": 16,
            "totalFound": 1501,
        }
        assert filtered.json()["records"][0]["brandNew"] == {"nested": [1, 2]}
        client.close()


def test_contract_error_responses(contract: Contract, clock: FakeClock) -> None:
    with RingCentralStandIn(records=generate_history(20, end=clock.now()), clock=clock) as rc:
        client = Client(rc, contract)
        client.login()
        generic = contract.schema("ApiErrorResponseModel")
        cases = [
            (400, client.search({"perPage": 5000}, validate=False)),
            (400, client.search({"eventTimeFrom": "not a time"}, validate=False)),
            (400, client.search(raw=b"{not json")),
            (404, client.search({}, path="/restapi/v1.0/account/999/audit-trail/search")),
        ]
        for kind in ("500", "503"):
            rc.inject(kind)
            cases.append((int(kind), client.search({})))
        rc.set_permissions(app_scope_has_audit=False)
        cases.append((403, client.search({})))
        rc.set_permissions(user_is_admin=False)
        cases.append((403, client.search({})))
        rc.set_permissions()
        for status, response in cases:
            assert response.status_code == status, response.text
            assert_valid(contract.response(status), response.json())
            assert_valid(generic, response.json())
        # Statuses the description does not list still carry RingCentral's error model.
        rc.inject("502")
        rc.inject("429")
        rc.inject("401_expired")
        extra = [client.search({}) for _ in range(3)]
        extra.append(client.search({}, token="garbage"))
        assert [r.status_code for r in extra] == [502, 429, 401, 401]
        for response in extra:
            assert_valid(generic, response.json())
        # Every search body the client sent (except the deliberately invalid ones) is valid.
        request_schema = contract.request()
        sent = [r["body"] for r in rc.requests if r["endpoint"] == "search" and r["body"]]
        assert sum(not list(request_schema.iter_errors(b)) for b in sent) >= len(sent) - 2
        client.close()


# -- paging, order, bounds, filters ------------------------------------------------------------


def test_paging_and_total_found(clock: FakeClock, history: List[Dict[str, Any]]) -> None:
    with RingCentralStandIn(records=history, clock=clock, rate_limits=False) as rc:
        client = Client(rc)
        _check_paging(rc, client)
        client.close()


def _check_paging(rc: RingCentralStandIn, client: Client) -> None:
    everything = rc.retrievable_ids()
    assert len(everything) == 2345
    seen: List[str] = []
    for page in (1, 2, 3):
        data = client.search({"page": page, "perPage": 1000}).json()
        assert data["paging"] == {
            "page": page,
            "perPage": 1000,
            "total": 3,
            "totalFound": 2345,
        }
        seen.extend(r["id"] for r in data["records"])
    assert len(seen) == 2345 and set(seen) == everything
    past = client.search({"page": 4, "perPage": 1000}).json()
    assert past == {"records": [], "paging": {"perPage": 1000, "total": 3, "totalFound": 2345}}
    zero = client.search({"perPage": 0}).json()
    assert zero == {"records": [], "paging": {"totalFound": 2345}}


@pytest.mark.parametrize("order", ["newest", "oldest", "shuffled"])
def test_orders(order: str, clock: FakeClock, history: List[Dict[str, Any]]) -> None:
    with RingCentralStandIn(records=history, clock=clock, order=order, rate_limits=False) as rc:
        client = Client(rc)
        first = [r["eventTime"] for r in client.search({"perPage": 1000}).json()["records"]]
        again = [r["eventTime"] for r in client.search({"perPage": 1000}).json()["records"]]
        if order == "newest":
            assert first == sorted(first, reverse=True) and first == again
            assert first[0] == history[-1]["eventTime"]
        elif order == "oldest":
            assert first == sorted(first) and first == again
            assert first[0] == history[0]["eventTime"]
        else:
            assert first != again  # a new shuffle on every request
            assert first != sorted(first) and first != sorted(first, reverse=True)
            ids = client.all_ids({"perPage": 1000})
            assert len(ids) == 2345  # pages may overlap or miss records, like an unstable order
        client.close()


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ("[)", {"from", "mid"}),
        ("[]", {"from", "mid", "to"}),
        ("()", {"mid"}),
        ("(]", {"mid", "to"}),
    ],
)
def test_bounds(bounds: str, expected: set, clock: FakeClock) -> None:
    t0 = clock.now() - 10 * DAY
    records = [
        record(t0 - 0.001, comment="before"),
        record(t0, comment="from"),
        record(t0 + 3600, comment="mid"),
        record(t0 + 7200, comment="to"),
        record(t0 + 7200.001, comment="after"),
    ]
    with RingCentralStandIn(records=records, clock=clock, bounds=bounds) as rc:
        client = Client(rc)
        window = {"eventTimeFrom": format_time(t0), "eventTimeTo": format_time(t0 + 7200)}
        data = client.search(window).json()
        assert {r["comment"] for r in data["records"]} == expected
        assert data["paging"]["totalFound"] == len(expected)
        # Offsets other than Z name the same instant.
        shifted = {
            "eventTimeFrom": format_time(t0).replace("Z", "+00:00"),
            "eventTimeTo": format_ms(int((t0 + 7200) * 1000))[:-1] + "000+00:00",
        }
        assert client.search(shifted).json()["paging"]["totalFound"] == len(expected)
        client.close()


def test_filters(clock: FakeClock) -> None:
    now = clock.now()
    records = [
        record(
            now - 50,
            actionId="CHANGE_USER_ROLE",
            initiator={"extensionId": "1", "name": "Zoë Ångström", "role": "Super Admin"},
            target={"objectId": "11", "objectType": "Extension", "name": "Bob", "siteId": "s1"},
            details={"parameters": [{"key": "newRoleName", "value": "Standard"}]},
        ),
        record(
            now - 40,
            actionId="LOGIN_FAILED",
            initiator={"extensionId": "2", "name": "田中太郎", "extensionNumber": "104"},
            target={"objectId": "12", "objectType": "Extension", "name": "田中太郎"},
        ),
        record(
            now - 30,
            actionId="CHANGE_COMPANY_INFO",
            initiator={"extensionId": "1", "name": "Zoë Ångström"},
            target={"objectId": "0", "objectType": "Company", "name": "Some Company"},
            comment="standard",  # comments are not searched
        ),
    ]
    with RingCentralStandIn(records=records, clock=clock, rate_limits=False) as rc:
        client = Client(rc)

        def actions(body: Dict[str, Any]) -> set:
            return {r["actionId"] for r in client.search(body).json()["records"]}

        assert actions({"actionIds": ["LOGIN_FAILED"]}) == {"LOGIN_FAILED"}
        assert actions({"actionIds": []}) == set()
        assert actions({"excludeActionIds": ["LOGIN_FAILED"]}) == {
            "CHANGE_USER_ROLE",
            "CHANGE_COMPANY_INFO",
        }
        assert actions({"actionIds": ["LOGIN"]}) == set()  # exact, not prefix
        assert actions({"initiatorIds": ["1"]}) == {"CHANGE_USER_ROLE", "CHANGE_COMPANY_INFO"}
        assert actions({"targetIds": ["0"]}) == {"CHANGE_COMPANY_INFO"}
        assert actions({"siteId": "s1"}) == {"CHANGE_USER_ROLE"}
        assert actions({"searchString": "STANDARD"}) == {"CHANGE_USER_ROLE"}  # details value
        assert actions({"searchString": "太郎"}) == {"LOGIN_FAILED"}
        assert actions({"searchString": "super adm"}) == {"CHANGE_USER_ROLE"}
        assert actions({"searchString": "104"}) == {"LOGIN_FAILED"}
        assert len(actions({"searchString": ""})) == 3
        client.close()


def test_records_are_served_exactly_as_stored(clock: FakeClock) -> None:
    odd = {
        "target": {"name": "Ünïcödé ☃", "objectType": "Account", "objectId": "1"},
        "eventTime": format_time(clock.now() - 100),
        "zExtra": [None, True, 1.5, {"b": 1, "a": 2}],
        "id": "odd-1",
        "comment": 'quote " backslash \\ newline \n tab \t',
    }
    no_time = {"id": "no-time", "actionId": "CHANGE_USER_INFO"}
    with RingCentralStandIn(records=[odd], clock=clock) as rc:
        rc.add_records([no_time])  # indexed at the time it was added
        odd["id"] = "mutated"  # the stand-in keeps its own copy
        client = Client(rc)
        response = client.search({"eventTimeFrom": format_time(clock.now() - 200)})
        pairs = json.loads(response.text, object_pairs_hook=list)
        served = dict(pairs)["records"]
        assert dict(served[0]) == {"id": "no-time", "actionId": "CHANGE_USER_INFO"}
        first = served[1]
        assert [k for k, _ in first] == ["target", "eventTime", "zExtra", "id", "comment"]
        assert dict(first)["id"] == "odd-1"
        assert [k for k, _ in dict(first)["target"]] == ["name", "objectType", "objectId"]
        assert "Ünïcödé ☃" in response.content.decode("utf-8")
        assert rc.retrievable_ids() == {"odd-1", "no-time"}
        assert [r["id"] for r in rc.records] == ["odd-1", "no-time"]
        assert rc.retrievable_records() == rc.records
        client.close()


# -- retention, late arrivals, caps ------------------------------------------------------------


def test_retention_days(clock: FakeClock) -> None:
    now = clock.now()
    records = [
        record(now - 181 * DAY, comment="gone"),
        record(now - 179 * DAY, comment="old"),
        record(now - DAY, comment="new"),
    ]
    with RingCentralStandIn(records=records, clock=clock) as rc:
        client = Client(rc)
        found = client.search({"eventTimeFrom": format_time(now - 400 * DAY)})
        assert found.status_code == 200  # an old eventTimeFrom is clamped, not refused
        assert [r["comment"] for r in found.json()["records"]] == ["new", "old"]
        clock.advance(2 * DAY)  # "old" is now 181 days old
        client.login()  # (and the access token has long expired)
        assert [r["comment"] for r in client.search({}).json()["records"]] == ["new"]
        assert rc.retrievable_ids() == {records[2]["id"]}
        client.close()


def test_retention_cap_of_10000(clock: FakeClock) -> None:
    records = generate_history(10050, end=clock.now(), span_days=100, seed=5)
    with RingCentralStandIn(records=records, clock=clock, order="oldest") as rc:
        client = Client(rc)
        data = client.search({"perPage": 1000}).json()
        assert data["paging"]["totalFound"] == 10000 and data["paging"]["total"] == 10
        kept = records[50:]
        assert data["records"][0]["id"] == kept[0]["id"]
        assert rc.retrievable_ids() == {r["id"] for r in kept}
        # A new record pushes the oldest kept one out.
        rc.add_records([record(clock.now() - 1)])
        assert kept[0]["id"] not in rc.retrievable_ids()
        assert len(rc.retrievable_ids()) == 10000 and len(rc.records) == 10051
        client.close()


def test_late_arrivals(clock: FakeClock) -> None:
    now = clock.now()
    with RingCentralStandIn(records=[record(now - 600)], clock=clock) as rc:
        client = Client(rc)
        late = record(now - 300)  # happened 5 minutes ago, visible only in 5 minutes
        rc.add_records([late], visible_at=now + 300)
        window = {"eventTimeFrom": format_time(now - 3600), "eventTimeTo": format_time(now)}
        assert client.search(window).json()["paging"]["totalFound"] == 1
        assert late["id"] not in rc.retrievable_ids()
        clock.advance(299)
        assert client.search(window).json()["paging"]["totalFound"] == 1
        clock.advance(1)
        ids = [r["id"] for r in client.search(window).json()["records"]]
        assert late["id"] in ids and len(ids) == 2
        assert late["id"] in rc.retrievable_ids()
        client.close()


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"perPage": 1001}, "perPage"),
        ({"perPage": -1}, "perPage"),
        ({"page": 1001}, "page"),
        ({"page": 0}, "page"),
        ({"page": "2"}, "page"),
        ({"perPage": 10.5}, "perPage"),
        ({"page": True}, "page"),
        ({"eventTimeFrom": "2026-13-01T00:00:00Z"}, "eventTimeFrom"),
        ({"eventTimeFrom": "2026-05-01"}, "eventTimeFrom"),
        ({"eventTimeTo": "2026-05-01T00:00:00"}, "eventTimeTo"),  # no offset
        ({"eventTimeTo": 1780272000}, "eventTimeTo"),
        ({"actionIds": "LOGIN_FAILED"}, "actionIds"),
        ({"excludeActionIds": [1]}, "excludeActionIds"),
        ({"searchString": ["x"]}, "searchString"),
    ],
)
def test_invalid_parameters(
    body: Dict[str, Any], name: str, rc: RingCentralStandIn, client: Client, contract: Contract
) -> None:
    response = client.search(body, validate=False)
    assert response.status_code == 400
    assert_valid(contract.response(400), response.json())
    error = first_error(response)
    assert error["errorCode"] == "CMN-101"
    assert error["parameterName"] == name
    assert error["parameterValue"] == (
        body[name] if isinstance(body[name], str) else json.dumps(body[name])
    )


def test_caps_and_bad_json(clock: FakeClock, contract: Contract) -> None:
    with RingCentralStandIn(clock=clock, max_per_page=50, max_page=3) as rc:
        client = Client(rc, contract)
        assert client.search({"perPage": 50, "page": 3}).status_code == 200
        assert first_error(client.search({"perPage": 51}))["parameterName"] == "perPage"
        assert first_error(client.search({"page": 4}))["parameterName"] == "page"
        for raw in (b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"):
            response = client.search(raw=raw)
            assert response.status_code == 400
            assert first_error(response)["errorCode"] == "CMN-103"
            assert_valid(contract.response(400), response.json())
        assert client.search(raw=b"null").status_code == 200  # same as no body
        # Unknown fields are ignored, like the real service does with undocumented ones.
        assert client.search({"includeAdmins": True}, validate=False).status_code == 200
        client.close()


def test_window_property_matches_a_model(clock: FakeClock) -> None:
    records = generate_history(400, end=clock.now(), span_days=3, seed=9)
    times = {r["id"]: r["eventTime"] for r in records}
    with RingCentralStandIn(records=records, clock=clock, rate_limits=False) as rc:
        client = Client(rc)
        start = clock.now() - 3 * DAY

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(
            st.integers(0, 3 * 86_400_000),
            st.integers(0, 3 * 86_400_000),
            st.sampled_from([1, 7, 100, 1000]),
        )
        def check(a: int, b: int, per_page: int) -> None:
            low, high = sorted((a, b))
            t_from = format_ms(int(start * 1000) + low)
            t_to = format_ms(int(start * 1000) + high)
            expected = {i for i, t in times.items() if t_from <= t < t_to}
            body = {"eventTimeFrom": t_from, "eventTimeTo": t_to, "perPage": per_page}
            if per_page < 100:
                body["page"] = 1
                data = client.search(body).json()
                assert data["paging"]["totalFound"] == len(expected)
                assert {r["id"] for r in data["records"]} <= expected
            else:
                ids = client.all_ids(body)
                assert sorted(ids) == sorted(expected)

        check()
        client.close()


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("500", 500, None),
        ("502", 502, None),
        ("503", 503, None),
        ("401_expired", 401, "OAU-128"),
        ("401_corrupted", 401, "OAU-129"),
    ],
)
def test_error_faults(
    kind: str, status: int, code: Optional[str], rc: RingCentralStandIn, client: Client
) -> None:
    client.login()
    rc.inject(kind, count=2)
    for _ in range(2):
        response = client.search({})
        assert response.status_code == status
        assert response.json()["errors"][0]["errorCode"]
        if code:
            assert first_error(response)["errorCode"] == code
    assert client.search({}).status_code == 200  # consumed
    assert [r["fault"] for r in rc.requests if r["endpoint"] == "search"] == [kind, kind, None]


def test_fault_429_and_retry_after(rc: RingCentralStandIn, client: Client) -> None:
    client.login()
    rc.inject("429")
    rc.inject("429", retry_after=5)
    rc.inject("429", retry_after=None)
    rc.inject("429", error_code="CMN-304", message="Duplicate concurrent request")
    first, second, third, fourth = (client.search({}) for _ in range(4))
    assert first.status_code == 429 and first.headers["Retry-After"] == "60"
    assert first.json() == {
        "errorCode": "CMN-301",
        "message": "Request rate exceeded",
        "errors": [{"errorCode": "CMN-301", "message": "Request rate exceeded"}],
    }
    assert second.headers["Retry-After"] == "5"
    assert third.status_code == 429 and "Retry-After" not in third.headers
    assert first_error(fourth)["errorCode"] == "CMN-304"


def test_fault_slow_drop_truncated(rc: RingCentralStandIn, client: Client) -> None:
    client.login()
    rc.inject("slow", delay=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.search({}, timeout=0.15)
    rc.inject("slow", delay=0.2)
    started = time.monotonic()
    assert client.search({}).status_code == 200
    assert time.monotonic() - started >= 0.2
    rc.inject("drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        client.search({})
    rc.inject("truncated")
    response = client.search({"perPage": 50})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    rc.inject("truncated", declared_full=True)  # announce the full length, send half, hang up
    try:
        response = client.search({"perPage": 50})
    except requests.exceptions.RequestException:
        pass  # a client that enforces Content-Length fails here
    else:  # urllib3 1.26 does not: the short body only shows as bad JSON
        assert len(response.content) < int(response.headers["Content-Length"])
        with pytest.raises(ValueError):
            response.json()
    assert client.search({}).status_code == 200  # the session recovers


def test_fault_body_variants(rc: RingCentralStandIn, client: Client) -> None:
    client.login()
    rc.inject("missing_paging")
    data = client.search({"perPage": 10}).json()
    assert "paging" not in data and len(data["records"]) == 10
    rc.inject("not_json")
    response = client.search({})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_fault_endpoints_and_budget(clock: FakeClock) -> None:
    with RingCentralStandIn(clock=clock, heavy_limit=2) as rc:
        client = Client(rc)
        rc.inject("503", endpoint="token")
        assert client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt}).status_code == 503
        client.login()
        rc.inject("500", endpoint="any", count=2)
        assert client.search({}).status_code == 500
        assert client.token({"grant_type": "nope"}).status_code == 500
        rc.inject("truncated", endpoint="token")
        with pytest.raises(ValueError):
            client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt}).json()
        assert rc.logins == 2  # the server issued the tokens; the client never saw them
        # Faults answered without processing do not use the Heavy budget.
        rc.inject("502", count=3)
        assert [client.search({}).status_code for _ in range(5)] == [502, 502, 502, 200, 200]
        assert client.search({}).status_code == 429
        assert rc.pending_faults() == []
        with pytest.raises(ValueError):
            rc.inject("teapot")
        with pytest.raises(ValueError):
            rc.inject("slow")  # needs a delay
        with pytest.raises(ValueError):
            rc.inject("500", endpoint="nowhere")
        client.close()


# -- OAuth -------------------------------------------------------------------------------------


def test_jwt_grant_and_wrong_credentials(rc: RingCentralStandIn, client: Client) -> None:
    response = client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "scope",
        "owner_id",
        "endpoint_id",
    ]
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["refresh_token_expires_in"] == 604800
    assert body["scope"] == "ReadAuditTrail ReadAccounts"
    again = client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt}).json()
    assert again["access_token"] != body["access_token"]
    assert rc.logins == 2
    assert response.headers["X-Rate-Limit-Group"] == "auth"

    wrong_secret = client.token(
        {"grant_type": JWT_GRANT, "assertion": rc.jwt}, auth=(rc.client_id, "not-the-secret")
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    assert wrong_secret.json()["error_description"] == f"Invalid client: {rc.client_id}"
    assert first_error(wrong_secret)["errorCode"] == "OAU-146"
    assert "not-the-secret" not in wrong_secret.text and rc.client_secret not in wrong_secret.text
    wrong_id = client.token(
        {"grant_type": JWT_GRANT, "assertion": rc.jwt}, auth=("other", rc.client_secret)
    )
    assert wrong_id.status_code == 401 and wrong_id.json()["error"] == "invalid_client"
    assert rc.client_secret not in wrong_id.text
    swapped = client.token(
        {"grant_type": JWT_GRANT, "assertion": rc.jwt}, auth=(rc.client_secret, rc.client_id)
    )
    assert swapped.status_code == 401 and rc.client_secret not in swapped.text
    missing = client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt}, auth=None)
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_client"

    bad_jwt = client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt + "x"})
    assert bad_jwt.status_code == 400
    assert bad_jwt.json()["error"] == "invalid_grant"
    assert first_error(bad_jwt)["errorCode"] == "OAU-140"
    rc.expire_jwt()
    expired = client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt})
    assert expired.status_code == 400 and first_error(expired)["errorCode"] == "OAU-141"
    rc.expire_jwt(False)
    for grant, error, code in (
        ("password", "unauthorized_client", "OAU-251"),
        ("client_credentials", "unauthorized_client", "OAU-251"),
        ("made_up", "invalid_request", "OAU-250"),
    ):
        response = client.token({"grant_type": grant})
        assert response.status_code == 400
        assert response.json()["error"] == error and first_error(response)["errorCode"] == code
    assert rc.logins == 2


def test_refresh_tokens_are_single_use(rc: RingCentralStandIn, client: Client) -> None:
    access = client.login()
    refresh = client.refresh_token
    assert refresh
    response = client.token({"grant_type": "refresh_token", "refresh_token": refresh})
    assert response.status_code == 200
    new_access = response.json()["access_token"]
    assert rc.refreshes == 1
    reused = client.token({"grant_type": "refresh_token", "refresh_token": refresh})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert first_error(reused)["message"] == "Token not found"
    unknown = client.token({"grant_type": "refresh_token", "refresh_token": "nope"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
    # Refreshing replaces the whole pair: the old access token stops working.
    old = client.search({}, token=access)
    assert old.status_code == 401 and first_error(old)["errorCode"] == "OAU-213"
    assert client.search({}, token=new_access).status_code == 200
    rc.expire_refresh_tokens()
    expired = client.token(
        {"grant_type": "refresh_token", "refresh_token": response.json()["refresh_token"]}
    )
    assert expired.status_code == 400 and first_error(expired)["errorCode"] == "OAU-210"
    assert rc.refreshes == 1


def test_requested_ttls_and_no_refresh_tokens(clock: FakeClock) -> None:
    with RingCentralStandIn(clock=clock, issue_refresh_tokens=False) as rc:
        client = Client(rc)
        body = client.token(
            {"grant_type": JWT_GRANT, "assertion": rc.jwt, "access_token_ttl": "600"}
        ).json()
        assert body["expires_in"] == 600
        assert "refresh_token" not in body and "refresh_token_expires_in" not in body
        response = client.token({"grant_type": "refresh_token", "refresh_token": "x"})
        assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
        clock.advance(599)
        assert client.search({}, token=body["access_token"]).status_code == 200
        clock.advance(1)
        expired = client.search({}, token=body["access_token"])
        assert expired.status_code == 401 and first_error(expired)["errorCode"] == "OAU-128"
        client.close()


def test_bearer_token_states(rc: RingCentralStandIn, client: Client) -> None:
    token = client.login()
    lower = client.post(SEARCH, json={}, headers={"Authorization": f"bearer {token}"})
    assert lower.status_code == 200  # the ringcentral SDK sends "bearer"
    missing = client.post(SEARCH, json={})
    assert missing.status_code == 401 and first_error(missing)["errorCode"] == "OAU-123"
    garbage = client.search({}, token="not-a-token")
    assert garbage.status_code == 401 and first_error(garbage)["errorCode"] == "OAU-129"
    rc.expire_tokens()
    expired = client.search({}, token=token)
    assert expired.status_code == 401 and first_error(expired)["errorCode"] == "OAU-128"
    assert expired.json()["errors"][0]["message"] == "Access token expired"
    fresh = client.login()
    revoke = client.post(REVOKE, data={"token": fresh}, auth=(rc.client_id, rc.client_secret))
    assert revoke.status_code == 200 and rc.revocations == 1
    revoked = client.search({}, token=fresh)
    assert revoked.status_code == 401 and first_error(revoked)["errorCode"] == "OAU-213"
    refresh = client.token({"grant_type": "refresh_token", "refresh_token": client.refresh_token})
    assert refresh.status_code == 400  # revoking the access token ended the whole session
    third = client.login()
    rc.revoke_tokens()
    assert client.search({}, token=third).status_code == 401
    assert client.post(REVOKE, data={"token": "x"}).status_code == 401  # needs the client


def test_permissions(rc: RingCentralStandIn, client: Client) -> None:
    client.login()
    rc.set_permissions(app_scope_has_audit=False)
    denied = client.search({})
    assert denied.status_code == 403 and first_error(denied)["errorCode"] == "CMN-401"
    assert "ReadAuditTrail" in first_error(denied)["message"]
    body = client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt}).json()
    assert body["scope"] == "ReadAccounts"
    rc.set_permissions(user_is_admin=False)
    denied = client.search({})
    assert denied.status_code == 403 and first_error(denied)["errorCode"] == "CMN-408"
    rc.set_permissions()
    assert client.search({}).status_code == 200


def test_paths_and_methods(rc: RingCentralStandIn, client: Client) -> None:
    token = client.login()
    own = f"/restapi/v1.0/account/{rc.account_id}/audit-trail/search"
    assert client.search({}, path=own).status_code == 200
    assert client.search({}, path="/restapi/v1.0/account/%7E/audit-trail/search").status_code == 200
    other = client.search({}, path="/restapi/v1.0/account/1/audit-trail/search")
    assert other.status_code == 404 and first_error(other)["errorCode"] == "CMN-102"
    assert client.search({}, path=SEARCH + "/").status_code == 404
    assert client.search({}, path=SEARCH.replace("restapi/", "restapi//")).status_code == 404
    wrong_method = client.session.get(
        rc.base_url + SEARCH, headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert wrong_method.status_code == 405
    assert rc.count("other") == 2 and rc.count("search", 404) == 1


# -- rate limits -------------------------------------------------------------------------------


def test_heavy_limit_with_restarting_penalty(clock: FakeClock) -> None:
    with RingCentralStandIn(records=generate_history(5, end=clock.now()), clock=clock) as rc:
        client = Client(rc)
        client.login()
        remaining = []
        for _ in range(10):
            response = client.search({})
            assert response.status_code == 200
            assert response.headers["X-Rate-Limit-Group"] == "heavy"
            assert response.headers["X-Rate-Limit-Limit"] == "10"
            assert response.headers["X-Rate-Limit-Window"] == "60"
            remaining.append(int(response.headers["X-Rate-Limit-Remaining"]))
            clock.advance(1)
        assert remaining == list(range(9, -1, -1))
        limited = client.search({})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
        assert first_error(limited)["errorCode"] == "CMN-301"
        clock.advance(30)
        assert client.search({}).status_code == 429  # restarts the 60 s penalty
        clock.advance(59)
        assert client.search({}).status_code == 429  # still inside the restarted penalty
        clock.advance(60)
        assert client.search({}).status_code == 200
        assert rc.count("search", 429) == 3 and rc.count("search", 200) == 11
        client.close()


def test_heavy_window_slides_and_can_be_disabled(clock: FakeClock) -> None:
    with RingCentralStandIn(clock=clock, heavy_limit=3, heavy_window=10, heavy_penalty=5) as rc:
        client = Client(rc)
        client.login()
        for _ in range(3):
            assert client.search({}).status_code == 200
            clock.advance(4)
        # Hits at 0, 4, 8: at 12 the first one has left the window.
        assert client.search({}).status_code == 200
        assert client.search({}).status_code == 429
        clock.advance(5)
        assert client.search({}).status_code == 200
        client.close()
    with RingCentralStandIn(clock=clock, rate_limits=False, heavy_limit=2) as rc:
        client = Client(rc)
        responses = [client.search({}) for _ in range(6)]
        assert {r.status_code for r in responses} == {200}
        assert responses[-1].headers["X-Rate-Limit-Remaining"] == "0"
        assert responses[-1].headers["X-Rate-Limit-Group"] == "heavy"
        client.close()


def test_auth_limit(clock: FakeClock) -> None:
    with RingCentralStandIn(clock=clock) as rc:
        client = Client(rc)
        tokens = [client.login() for _ in range(5)]
        limited = client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
        assert limited.headers["X-Rate-Limit-Group"] == "auth"
        assert client.search({}, token=tokens[0]).status_code == 200  # other group
        clock.advance(60)
        client.login()
        assert rc.logins == 6
        client.close()


# -- transport: HTTPS, keep-alive, threads, stop, the SDK --------------------------------------


def test_https_with_trustme_ca(clock: FakeClock) -> None:
    with RingCentralStandIn(clock=clock, tls=True) as rc:
        assert rc.base_url.startswith("https://127.0.0.1:")
        assert rc.ca_file and Path(rc.ca_file).read_text().startswith("-----BEGIN CERTIFICATE")
        client = Client(rc)
        assert client.search({}).status_code == 200
        plain = requests.Session()
        plain.trust_env = False
        with pytest.raises(requests.exceptions.SSLError):
            plain.post(rc.base_url + TOKEN, timeout=5)
        plain.close()
        client.close()
        ca_file = rc.ca_file
    assert not Path(ca_file).exists()


def test_keep_alive_threads_and_prompt_stop(clock: FakeClock) -> None:
    with RingCentralStandIn(
        records=generate_history(50, end=clock.now()), clock=clock, rate_limits=False
    ) as rc:
        client = Client(rc)
        for _ in range(5):
            assert client.search({"perPage": 10}).status_code == 200
        assert rc.connections == 1  # one connection for the login and all searches
        results: List[int] = []

        def worker() -> None:
            c = Client(rc)
            results.extend(c.search({}, token=client.access_token).status_code for _ in range(5))
            c.close()

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [200] * 30
        # A stalled request and an idle keep-alive connection do not hold up stop().
        rc.inject("slow", delay=30)
        failures: List[BaseException] = []

        def stalled() -> None:
            try:
                Client(rc).search({}, token=client.access_token)
            except requests.RequestException as exc:
                failures.append(exc)

        waiting = threading.Thread(target=stalled)
        waiting.start()
        time.sleep(0.2)
        started = time.monotonic()
    assert time.monotonic() - started < 3
    waiting.join(5)
    assert not waiting.is_alive() and len(failures) == 1
    client.close()


def test_ringcentral_sdk_works_against_it(clock: FakeClock) -> None:
    import ringcentral

    records = generate_history(150, end=clock.now() - 10)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        sdk = ringcentral.SDK(rc.client_id, rc.client_secret, rc.base_url)
        platform = sdk.platform()
        platform.login(jwt=rc.jwt)
        data = platform.post(SEARCH, {"perPage": 20}).json_dict()
        assert len(data["records"]) == 20 and data["paging"]["totalFound"] == 150
        defaults = platform.post(SEARCH, {}).json_dict()  # the SDK sends no body for {}
        assert defaults["paging"]["perPage"] == 100
        assert rc.count("search", 200) == 2 and rc.logins == 1


def test_request_log_keeps_no_secrets(rc: RingCentralStandIn, client: Client) -> None:
    client.login()
    seen = [client.access_token, client.refresh_token]
    response = client.token({"grant_type": "refresh_token", "refresh_token": client.refresh_token})
    seen += [response.json()["access_token"], response.json()["refresh_token"]]
    client.token({"grant_type": JWT_GRANT, "assertion": rc.jwt}, auth=(rc.client_id, "wrong"))
    client.post(REVOKE, data={"token": seen[2]}, auth=(rc.client_id, rc.client_secret))
    client.search({"perPage": 1}, token=seen[3])
    log = repr(rc.requests) + repr(rc)
    for secret in [rc.client_secret, rc.jwt, "wrong", *seen]:
        assert secret and secret not in log
    tokens = [r for r in rc.requests if r["endpoint"] == "token"]
    assert tokens[0]["body"] == {"grant_type": JWT_GRANT}
    assert tokens[1]["body"] == {"grant_type": "refresh_token"}
    assert [r["endpoint"] for r in rc.requests] == ["token", "token", "token", "revoke", "search"]
    assert [r["status"] for r in rc.requests] == [200, 200, 401, 200, 401]
    assert rc.requests[-1]["body"] == {"perPage": 1} and rc.requests[-1]["group"] == "heavy"
    assert rc.requests[0]["group"] == "auth" and rc.requests[0]["time"] == rc.clock.now()
    assert rc.count() == 5 and rc.count("token") == 3 and rc.count(status=401) == 2


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        RingCentralStandIn(order="random")
    with pytest.raises(ValueError):
        RingCentralStandIn(bounds="[[")
    a, b = RingCentralStandIn(), RingCentralStandIn()
    assert a.client_secret != b.client_secret and a.jwt != b.jwt
    assert a.jwt.count(".") == 2 and a.client_id == "standin-client-id"
    assert a.clock.now() == pytest.approx(time.time(), abs=5)  # real time by default
