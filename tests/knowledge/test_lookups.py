"""The actionId lookups: consistent rows, sensible fallbacks, wired into props and transforms."""

from . import checks

APP = checks.PACKAGE


def test_lookup_tables_are_consistent():
    assert checks.lookup_problems(APP) == []


def test_every_lookup_file_is_used_and_every_used_file_exists():
    transforms = checks.search_time_conf(APP, "transforms")
    files = {stanza["filename"] for stanza in transforms.values() if "filename" in stanza}
    shipped = {path.name for path in (APP / "lookups").glob("*.csv")}
    assert files == shipped
    applied = {lookup.table.name for lookup in checks.search_time(APP).lookups}
    assert applied == {name for name, stanza in transforms.items() if "filename" in stanza}


def test_a_broad_set_of_action_ids_is_classified():
    _, rows = checks.read_csv(APP / "lookups" / "ringcentral_audit_actions.csv")
    areas = {row["ringcentral_area"] for row in rows}
    for area in (
        "user",
        "role",
        "secret",
        "login",
        "lockout",
        "phone_number",
        "call_queue",
        "ivr",
        "company",
        "site",
        "device",
        "meeting",
        "app_settings",
        "billing",
    ):
        assert area in areas, f"no actionId of area {area}"
    assert len(rows) >= 60
