"""The Activity and Security views as an auditor uses them, at 1280x800 and 1920x1080: every
panel's content inside its box (rows shown or paged, no token split over two lines), human column
labels that mean the same in every table, times with their zone, charts titled in words and
counted from zero; each filter typed and each drilldown clicked changes the numbers to what was
computed for it; and an index without a single record shows what to check, not just zeros."""

from __future__ import annotations

import re
from typing import Any, Dict, List

import dashboard_page as page_harness
import pytest

VIEWS = ("ringcentral_audit_activity", "ringcentral_audit_security")
RESULTS = page_harness.load_results()
BY_NAME = {view["name"]: view for view in RESULTS.get("views", [])}
TIME_LABELS = {"Time", "First seen", "Last seen", "Last failure"}
TIME_CELL = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]{2,5}$")
# labels every table of these views uses for the same field (and no other label for it)
RAW_NAMES = re.compile(r"^[a-z]+(_[a-z]+)+$|^src$|^dest$")


def _view(name: str) -> Dict[str, Any]:
    view = BY_NAME.get(name)
    if view is None:
        pytest.fail(f"{name} not computed: {page_harness.MAKE_HINT}")
    return view


def _open(browser: Any, name: str, size: str, results: Any = None) -> Any:
    view = _view(name)
    context = browser.new_context(
        viewport=page_harness.VIEWPORTS[size], locale="en-US", timezone_id="UTC"
    )
    first = [s["query"] for s in (results or view["sources"]).values()]
    answers = {s["query"]: s for s in results.values()} if results else page_harness.answers(view)
    rendered = page_harness.open_view(context, name, view["definition"], answers, first_asked=first)
    return context, rendered


BOXES_JS = """() => [...document.querySelectorAll('[data-test="viz-item"]')].map(viz => {
  const item = viz.closest('[data-test="absolute-item"]') || viz;
  const box = item.getBoundingClientRect();
  const rows = [...item.querySelectorAll('[data-test="main-table"] tbody tr')];
  const split = [];
  for (const cell of item.querySelectorAll('[data-test="main-table"] td, [data-test="main-table"] th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /\\S+/g; let m;
      while ((m = re.exec(node.data))) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) split.push(m[0]);
      }
    }
  }
  return {
    id: viz.dataset.id, type: viz.dataset.vizType,
    box: {top: box.top, bottom: box.bottom, left: box.left, right: box.right},
    rowsShown: rows.length,
    rowsOutside: rows.filter(r => { const b = r.getBoundingClientRect();
      return b.bottom > box.bottom + 1 || b.right > box.right + 1; }).length,
    paged: Boolean(item.querySelector('[data-test="paginator"], [data-test="page-control"], nav button')),
    header: [...item.querySelectorAll('[data-test="main-table"] thead th')].map(c => c.innerText.trim()),
    cells: rows.map(r => [...r.querySelectorAll('td')].map(c => c.innerText.trim())),
    split,
    svgOutside: [...item.querySelectorAll('svg')].filter(s => { const b = s.getBoundingClientRect();
      return b.width > 0 && (b.bottom > box.bottom + 1 || b.right > box.right + 1); }).length,
    chartText: [...item.querySelectorAll('svg text')].map(t => t.textContent.trim()),
  };
})"""


def _rows(source: Dict[str, Any]) -> int:
    return len(source["columns"][0]) if source.get("columns") else 0


@pytest.mark.parametrize("size", sorted(page_harness.VIEWPORTS))
@pytest.mark.parametrize("name", VIEWS)
def test_every_panel_fits_its_box_with_human_labels(browser, name, size):
    view = _view(name)
    context, rendered = _open(browser, name, size)
    try:
        page = rendered.page
        page.evaluate("window.scrollTo(0, 0)")
        boxes = page.evaluate(BOXES_JS)
        problems: List[str] = []
        definition = view["definition"]
        for box in boxes:
            viz = definition["visualizations"][box["id"]]
            source = view["sources"][viz["dataSources"]["primary"]]
            where = f"{box['id']} at {size}"
            if box["rowsOutside"]:
                problems.append(f"{where}: {box['rowsOutside']} table rows drawn outside its box")
            if box["svgOutside"]:
                problems.append(f"{where}: chart drawn outside its box")
            if box["split"]:
                problems.append(f"{where}: words split over two lines: {box['split'][:5]}")
            if viz["type"] == "splunk.table" and _rows(source):
                computed = _rows(source)
                if box["rowsShown"] < min(computed, viz["options"].get("count", 10)):
                    problems.append(f"{where}: shows {box['rowsShown']} of {computed} rows")
                if box["rowsShown"] < computed and not box["paged"]:
                    problems.append(f"{where}: {computed} rows, {box['rowsShown']} shown, no pages")
                raw = [h for h in box["header"] if RAW_NAMES.match(h)]
                if raw or box["header"] != viz["options"].get("headers"):
                    problems.append(f"{where}: column labels {box['header']}")
                for row in box["cells"]:
                    for label, cell in zip(box["header"], row):
                        if label in TIME_LABELS and not TIME_CELL.match(cell):
                            problems.append(f"{where}: {label} {cell!r} has no zone")
            if viz["type"] in ("splunk.column", "splunk.bar", "splunk.line"):
                texts = box["chartText"]
                if "_time" in texts or "count" in texts:
                    problems.append(f"{where}: axis titled with a field name: {texts[:12]}")
                for title in ("xAxisTitleText", "yAxisTitleText"):
                    if viz["options"].get(title) not in texts:
                        problems.append(
                            f"{where}: axis title {viz['options'].get(title)!r} not drawn"
                        )
                if "0" not in texts:
                    problems.append(f"{where}: the count axis does not start at 0: {texts[:12]}")
        problems += [f"console: {e}" for e in rendered.console_errors]
        problems += [f"unanswered: {u}" for u in rendered.unanswered]
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_a_field_has_one_label_in_every_table():
    labels: Dict[str, set] = {}
    for name in VIEWS:
        view = _view(name)
        for viz in view["definition"]["visualizations"].values():
            if viz["type"] != "splunk.table":
                continue
            fields = view["sources"][viz["dataSources"]["primary"]].get("fields") or []
            for field, label in zip(fields, viz["options"].get("headers") or []):
                labels.setdefault(field, set()).add(label)
    # the same field under two names would make two tables disagree on what a column means
    assert {f: ls for f, ls in labels.items() if len(ls) > 1} == {}
    assert "RingCentral account" in labels.get("account", set())


def _single_values(page: Any) -> Dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-test="viz-item"]')]
          .filter(v => v.dataset.vizType === 'splunk.singlevalue')
          .map(v => [v.dataset.id, v.innerText.split('\\n').map(s => s.trim()).filter(Boolean).pop()]))"""
    )


def _expected_singles(view: Dict[str, Any], sources: Dict[str, Any]) -> Dict[str, str]:
    out = {}
    for key, viz in view["definition"]["visualizations"].items():
        if viz["type"] == "splunk.singlevalue":
            source = sources[viz["dataSources"]["primary"]]
            out[key] = str(source["columns"][0][-1]) if _rows(source) else ""
    return out


def _wait_for(page: Any, view: Dict[str, Any], sources: Dict[str, Any]) -> Dict[str, str]:
    expected = _expected_singles(view, sources)
    shown: Dict[str, str] = {}
    for _ in range(60):
        shown = _single_values(page)
        if shown == expected:
            break
        page.wait_for_timeout(250)
    return {
        k: f"shows {shown.get(k)!r}, computed {v!r}"
        for k, v in expected.items()
        if shown.get(k) != v
    }


def _input(page: Any, input_id: str) -> Any:
    return page.locator(f'[data-test="input-item"][data-input-id="{input_id}"] input')


def _variant(view: Dict[str, Any], tokens: Dict[str, str]) -> Dict[str, Any]:
    wanted = {**view["tokens"], **tokens}
    return next(v for v in view["variants"] if v["tokens"] == wanted)


@pytest.mark.parametrize("name", VIEWS)
def test_each_filter_changes_the_numbers_as_computed(browser, name):
    view = _view(name)
    token_input = {
        item["options"]["token"]: key
        for key, item in view["definition"]["inputs"].items()
        if item["type"] == "input.text"
    }
    context, rendered = _open(browser, name, "1280x800")
    try:
        page = rendered.page
        problems = [f"defaults: {p}" for p in _wait_for(page, view, view["sources"]).values()]
        changed = 0
        for tokens in view["filters"]:
            variant = _variant(view, tokens)
            ((token, value),) = tokens.items()
            box = _input(page, token_input[token])
            box.fill(value)
            box.press("Enter")
            wrong = _wait_for(page, view, variant["sources"])
            problems += [f"{token}={value}: {k} {v}" for k, v in wrong.items()]
            if _expected_singles(view, variant["sources"]) != _expected_singles(
                view, view["sources"]
            ):
                changed += 1
            box.fill("*")
            box.press("Enter")
            problems += [f"back to *: {p}" for p in _wait_for(page, view, view["sources"]).values()]
        problems += [f"console: {e}" for e in rendered.console_errors]
        assert not problems, "\n".join(problems)
        assert changed >= len(view["filters"]) - 1, "the filters hardly change anything"
    finally:
        context.close()


DRILLS = {
    # (view, visualization) -> the tokens its first row sets
    ("ringcentral_audit_activity", "viz_top_initiators"): ("account", "user"),
    ("ringcentral_audit_activity", "viz_top_targets"): ("account", "target"),
    ("ringcentral_audit_activity", "viz_unlisted_action_ids"): ("action_id",),
    ("ringcentral_audit_security", "viz_failed_logins_by_user"): ("account", "user"),
    ("ringcentral_audit_security", "viz_role_changes"): ("account", "user"),
}


@pytest.mark.parametrize("name,viz", sorted(DRILLS), ids=lambda x: str(x))
def test_a_row_click_filters_the_view_to_its_records(browser, name, viz):
    view = _view(name)
    definition = view["definition"]
    source = view["sources"][definition["visualizations"][viz]["dataSources"]["primary"]]
    handler = definition["visualizations"][viz]["eventHandlers"][0]["options"]["tokens"]
    fields = source["fields"]
    # a table names a clicked row's cells by its column labels
    labels = dict(zip(definition["visualizations"][viz]["options"]["headers"], fields))
    expected = {
        t["token"]: source["columns"][fields.index(labels[t["key"][4:-6]])][0] for t in handler
    }
    assert tuple(expected) == DRILLS[(name, viz)]
    variant = _variant(view, expected)
    context, rendered = _open(browser, name, "1280x800")
    try:
        page = rendered.page
        cell = page.locator(
            f'[data-test="viz-item"][data-id="{viz}"] [data-test="main-table"] tbody tr'
        )
        cell.first.locator("td").first.click()
        wrong = _wait_for(page, view, variant["sources"])
        token_input = {
            item["options"]["token"]: key
            for key, item in definition["inputs"].items()
            if item["type"] == "input.text"
        }
        shown = {t: _input(page, token_input[t]).input_value() for t in expected}
        assert shown == expected
        assert not wrong, wrong
        # the records behind the row: the view's record table now lists only them
        records = "ds_recent_changes" if name.endswith("activity") else None
        if records:
            rows = variant["sources"][records]
            assert 0 < _rows(rows) < _rows(view["sources"][records])
        assert not rendered.console_errors
    finally:
        context.close()


@pytest.mark.parametrize("name", VIEWS)
def test_an_empty_index_says_what_to_check(browser, name):
    view = _view(name)
    context, rendered = _open(browser, name, "1280x800", view["empty"])
    try:
        page = rendered.page
        notice = page.locator('[data-test="viz-item"][data-id="viz_no_data"]')
        notice.wait_for(state="visible", timeout=30_000)
        text = notice.inner_text()
        for needed in (
            "ringcentral_audit_index",
            "the index main",
            "Search macros",
            "collection health",
        ):
            assert needed in text, f"{needed!r} missing from the notice: {text}"
    finally:
        context.close()
    # with records, the notice is not drawn at all
    context, rendered = _open(browser, name, "1280x800")
    try:
        page = rendered.page
        assert page.locator('[data-test="viz-item"][data-id="viz_no_data"]').count() == 0
    finally:
        context.close()
