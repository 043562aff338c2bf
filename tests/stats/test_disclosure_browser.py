"""The public disclosure page in a real browser: the ECharts charts render (a canvas inside every chart
container) with no console error, on a desktop and on a phone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import Scenario
from .test_disclosure import approved

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("ECO_STATS_SCREENSHOTS", "")


def _shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def _charts_render(page: Any) -> None:
    containers = page.locator(".pub-chart")
    assert containers.count() == 4
    page.wait_for_function(
        "() => [...document.querySelectorAll('.pub-chart')].every(el => el.querySelector('canvas'))"
    )
    for i in range(containers.count()):
        box = containers.nth(i).locator("canvas").first.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 150


def test_disclosure_page_renders_its_charts(
    page: Any, phone_page: Any, live_server: Any, scenario: Scenario
) -> None:
    approved(scenario)
    approved(scenario, region="hd")
    approved(scenario, region="city", analysis="全市汇总分析。")

    page.goto(f"{live_server.url}/disclosure/")
    page.get_by_role("link", name="2025年3月").click()
    page.wait_for_url("**/disclosure/2025-03/")
    assert page.get_by_role("heading", name="2025年3月 12369环保举报办理情况").is_visible()
    _charts_render(page)
    _shot(page, "disclosure-desktop")
    assert page.console_errors == []

    phone_page.goto(f"{live_server.url}/disclosure/2025-03/")
    _charts_render(phone_page)
    width = phone_page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone: wide tables scroll inside their own box
    _shot(phone_page, "disclosure-phone")
    assert phone_page.console_errors == []
