"""Collection health and Coverage in the browser show a dead input, a never-run input and an
empty index as such (issue 16): the worlds of evidence_world.py, computed in .venv-knowledge
like the samples' results, rendered by Splunk's own dashboard framework. Pictures of each are
kept in output/ui-evidence/ for a human to look at."""

from __future__ import annotations

import json
import subprocess
from typing import Any, Dict

import dashboard_page as page_harness
import pytest

REPO = page_harness.HERE.parents[2]
BUILT = REPO / "output" / "TA-ringcentral-audit"
KNOWLEDGE_PY = REPO / ".venv-knowledge" / "bin" / "python"
PICTURES = REPO / "output" / "ui-evidence"

TABLE_JS = """(id) => {
  const viz = document.querySelector(`[data-test="viz-item"][data-id="${id}"]`);
  const item = viz.closest('[data-test="absolute-item"]') || viz;
  const header = [...item.querySelectorAll('[data-test="main-table"] thead th')].map(c => c.innerText.trim());
  const rows = [...item.querySelectorAll('[data-test="main-table"] tbody tr')].map(
    tr => [...tr.querySelectorAll('td')].map(c => c.innerText.trim()));
  return {header, rows, text: item.innerText};
}"""


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> Dict[str, Any]:
    if not (BUILT / "default" / "data" / "ui" / "views").is_dir():
        pytest.fail(f"{BUILT} is missing: {page_harness.MAKE_HINT}")
    out = tmp_path_factory.mktemp("evidence") / "worlds.json"
    answer = subprocess.run(
        [str(KNOWLEDGE_PY), str(page_harness.HERE / "evidence_world.py"), str(BUILT), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert answer.returncode == 0, answer.stderr[-3000:]
    return json.loads(out.read_text("utf-8"))


def _open(browser_context, view: Dict[str, Any], picture: str):
    results = {source["query"]: source for source in view["sources"].values()}
    rendered = page_harness.open_view(browser_context, view["name"], view["definition"], results)
    PICTURES.mkdir(parents=True, exist_ok=True)
    rendered.page.screenshot(path=str(PICTURES / f"{picture}.png"), full_page=True)
    return rendered


def _table(page, viz_id: str) -> Dict[str, str]:
    table = page.evaluate(TABLE_JS, viz_id)
    column = table["header"].index("State")
    return {row[0]: row[column] for row in table["rows"]}


@pytest.mark.parametrize(
    "view, viz_id",
    [
        ("ringcentral_audit_collection_health", "viz_inputs"),
        ("ringcentral_audit_coverage", "viz_states"),
    ],
)
def test_a_dead_and_a_never_run_input_are_shown_as_such(worlds, browser_context, view, viz_id):
    rendered = _open(browser_context, worlds["dead_and_never"][view], f"{view}-dead-and-never")
    states = _table(rendered.page, viz_id)
    assert states == {"alive": "healthy", "dead": "stalled", "fresh": "never ran"}
    assert not rendered.console_errors, rendered.console_errors


def test_collection_health_headline_counts_the_inputs_needing_attention(worlds, browser_context):
    view = worlds["dead_and_never"]["ringcentral_audit_collection_health"]
    rendered = _open(browser_context, view, "collection-health-headline")
    text = rendered.page.evaluate(
        '() => document.querySelector(\'[data-test="viz-item"][data-id="viz_attention"]\')'
        ".closest('[data-test=\"absolute-item\"]').innerText"
    )
    assert "2" in text.split()  # dead and fresh


@pytest.mark.parametrize(
    "view, viz_ids",
    [
        ("ringcentral_audit_collection_health", ("viz_inputs", "viz_longest", "viz_failed_runs")),
        (
            "ringcentral_audit_coverage",
            ("viz_states", "viz_holes_count", "viz_loss_count", "viz_missing_count"),
        ),
    ],
)
def test_an_empty_index_reads_unknown_never_zero_or_healthy(worlds, browser_context, view, viz_ids):
    rendered = _open(browser_context, worlds["empty"][view], f"{view}-empty")
    for viz_id in viz_ids:
        text = rendered.page.evaluate(TABLE_JS, viz_id)["text"]
        assert "unknown" in text, (viz_id, text[:300])
        assert "healthy" not in text, (viz_id, text[:300])
