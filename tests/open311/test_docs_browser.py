"""The Open311 API's own pages work on an intranet (issue 12, D18): the documentation page loads Swagger UI
from this server only, and /open311/v2/ leads somewhere instead of a 404."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_docs_page_names_no_other_host(client: Client) -> None:
    text = client.get("/open311/v2/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in text and "/static/ninja/swagger-ui.css" in text
    assert "cdn" not in text.lower() and "https://" not in text and "http://" not in text


def test_api_root_redirects_to_docs_or_discovery(client: Client) -> None:
    browser = client.get("/open311/v2/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.status_code == 302 and browser["Location"] == "docs"
    api = client.get("/open311/v2/", headers={"Accept": "application/json"}, follow=True)
    assert api.status_code == 200 and api.json()["endpoints"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_offline(page: Any, live_server: Any) -> None:
    local = urlparse(live_server.url).netloc
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if urlparse(route.request.url).netloc == local:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(live_server.url + "/open311/v2/")
    assert page.url.endswith("/open311/v2/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Open311" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-summary-path", has_text="/open311/v2/requests.json").first.wait_for()
    assert outside == []
    assert page.console_errors == []
