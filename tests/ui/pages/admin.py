"""What an admin does on the setup pages, in the words of the page (labels, buttons, dialogs).

UCC renders each form field as ``[data-test="control-group"][data-name="<field>"]``; text fields
hold an ``input`` (or ``textarea``), single selects a ``[data-test="select"]`` button whose
options open in a popover.
"""

from __future__ import annotations

from typing import Any, Mapping

TIMEOUT = 30_000  # ms; a save runs the add-on's handler, which may log in to RingCentral


def field(scope: Any, name: str) -> Any:
    return scope.locator(f'[data-test="control-group"][data-name="{name}"]')


def fill(scope: Any, values: Mapping[str, str]) -> None:
    """Type each value into its field; a value for a select picks the option with that label."""
    page = scope.page if hasattr(scope, "page") else scope
    for name, value in values.items():
        group = field(scope, name)
        group.locator("input, textarea, [data-test='select']").first.wait_for()
        select = group.locator('[data-test="select"]')
        if select.count():
            select.click()
            page.get_by_role("option", name=value, exact=True).click()
        else:
            box = group.locator("input, textarea").first
            box.fill(value)


def dialog(page: Any) -> Any:
    return page.locator('[role="dialog"]')


def open_configuration(page: Any, stack: Any, tab: str = "Accounts") -> None:
    page.goto(stack.web.page_url("configuration"))
    page.get_by_role("tab", name=tab).click()


def open_inputs(page: Any, stack: Any) -> None:
    page.goto(stack.web.page_url("inputs"))
    page.get_by_role("button", name="Create New Input").wait_for()


def table_row(page: Any, name: str) -> Any:
    return page.locator('[data-test="row"]', has=page.get_by_text(name, exact=True))
