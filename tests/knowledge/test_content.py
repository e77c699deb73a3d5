"""Macros, dashboards and alerts: they parse, use the add-on's macros, and their searches find
the sample data."""

import pytest

from . import checks, content

APP = checks.PACKAGE
VIEWS = content.views(APP)
SAVED = checks.search_time_conf(APP, "savedsearches")
MACROS = content.macro_definitions(APP)
VIEW_NAMES = {
    "ringcentral_audit_activity",
    "ringcentral_audit_security",
    "ringcentral_audit_collection_health",
    "ringcentral_audit_coverage",
}


def test_index_macro_exists_and_only_macros_name_indexes():
    assert MACROS["ringcentral_audit_index"].startswith("index=")
    assert "index=_internal" in MACROS["ringcentral_audit_addon_logs"]
    for conf in ("eventtypes", "savedsearches", "props", "transforms", "tags"):
        text = (APP / "default" / f"{conf}.conf").read_text(encoding="utf-8")
        assert "index=" not in text.replace(" ", ""), f"{conf}.conf names an index"


def test_the_dashboards_exist():
    assert {path.stem for path in VIEWS} == VIEW_NAMES


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.stem)
def test_dashboard_is_a_valid_dashboard_studio_definition(path):
    board = content.load_dashboard(path)
    assert content.dashboard_structure_problems(board) == []
    assert board.queries()


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.stem)
def test_dashboard_searches_use_the_macros_and_find_sample_data(path):
    board = content.load_dashboard(path)
    macros_used = {content.first_macro(q.text) for q in board.queries()}
    if path.stem == "ringcentral_audit_collection_health":
        assert content.LOGS_MACRO in macros_used
    elif path.stem == "ringcentral_audit_coverage":
        assert {content.AUDIT_MACRO, content.STATES_MACRO + "*)`"} == macros_used
    else:
        assert macros_used == {content.AUDIT_MACRO}
    audit = [event.search_fields() for event in checks.events(APP)]
    logs = content.log_events(checks.LOG_SAMPLE)
    problems = [p for q in board.queries() for p in content.query_problems(q, MACROS, audit + logs)]
    assert problems == []


def test_the_security_alerts_exist():
    names = " | ".join(SAVED).lower()
    for topic in (
        "privileged role",
        "failed logins",
        "account locked",
        "secret",
        "new client ip",
        "new country",
    ):
        assert topic in names


@pytest.mark.parametrize("name", sorted(n for n in SAVED if not content.is_report(SAVED[n])))
def test_alert_ships_disabled_scheduled_and_finds_sample_data(name):
    stanza = SAVED[name]
    assert stanza["disabled"] == "1"
    assert content.saved_search_problems(name, stanza) == []
    audit = [event.search_fields() for event in checks.events(APP)]
    logs = content.log_events(checks.LOG_SAMPLE)
    query = content.Query(f"saved search {name!r}", stanza["search"])
    assert content.query_problems(query, MACROS, audit + logs) == []


def test_content_checks_pass_as_a_whole():
    assert checks.content_problems(APP) == []


def _board(name: str) -> content.Dashboard:
    return content.load_dashboard(next(path for path in VIEWS if path.stem == name))


def test_security_dashboard_maps_activity_by_client_ip_location():
    board = _board("ringcentral_audit_security")
    queries = {q.where.split(", ")[1]: q.text for q in board.queries()}
    maps = [v for v in board.definition["visualizations"].values() if v["type"] == "splunk.map"]
    assert len(maps) == 1
    map_query = queries[maps[0]["dataSources"]["primary"]]
    assert "| iplocation src" in map_query and "| geostats latfield=lat longfield=lon" in map_query
    layer = maps[0]["options"]["layers"][0]
    assert "latitude" in layer["latitude"] and "longitude" in layer["longitude"]
    new_country = [q for q in queries.values() if "iplocation" in q and "dc(Country)" in q]
    assert new_country, "activity from a country new for a person is shown"


def test_dashboards_share_a_base_search():
    # each view runs at most three raw searches (Coverage four: the index reconciliation reads
    # the records); the rest post-process a shared base search
    for path in VIEWS:
        sources = content.load_dashboard(path).definition["dataSources"]
        raw = [k for k, s in sources.items() if s["type"] == "ds.search"]
        chained = [k for k, s in sources.items() if s["type"] == "ds.chain"]
        most = 4 if path.stem == "ringcentral_audit_coverage" else 3
        assert len(raw) <= most and len(chained) >= 8, (path.stem, raw)


def test_every_input_is_listed_with_a_state_whatever_the_time_range():
    for name in ("ringcentral_audit_collection_health", "ringcentral_audit_coverage"):
        source = _board(name).definition["dataSources"]["ds_states"]
        # the time picker's range must not hide an input: the states look back 30 days
        assert source["options"]["queryParameters"]["earliest"] == "-30d@d"
        assert source["options"]["query"].startswith(content.STATES_MACRO)


def test_role_changes_show_the_role():
    board = _board("ringcentral_audit_security")
    query = next(q.text for q in board.queries() if q.where.endswith("ds_role_changes"))
    assert "role=coalesce(param_roleName, param_newRoleName)" in query
    assert " role " in query.split("| table", 1)[1] + " "
