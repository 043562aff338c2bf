"""The 403, 404 and 500 pages: the site's layout, the menu when signed in, and why in Chinese (issue 12,
D5). Django's English defaults ("Not Found", "Forbidden", "Server Error (500)") never show."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from eco12369.cases.models import Case
from eco12369.orgs.models import User

from .conftest import Bureau

pytestmark = pytest.mark.django_db

ENGLISH = ("Not Found", "Forbidden", "Server Error", "The requested resource", "Bad Request")


def assert_site_page(text: str, *, reason: str, menu: bool) -> None:
    """``menu``: the signed-in staff member's menu; the public sees only the public pages' item."""
    assert '<html lang="zh-CN">' in text
    assert "12369环保微信举报管理平台" in text and 'class="footer"' in text
    assert reason in text
    assert '<nav class="sidenav"' in text
    assert ("退出" in text) is menu
    for english in ENGLISH:
        assert english not in text


def test_another_districts_case_is_a_chinese_404_with_the_menu(
    client: Client, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    theirs = make_case("河东区", description="河东区某厂半夜偷偷排废水，味道冲得很")
    client.force_login(heping.operator)
    response = client.get(f"/cases/{theirs.number}/")
    assert response.status_code == 404
    text = response.content.decode()
    assert_site_page(text, reason="举报件不存在或您无权查看。", menu=True)
    assert "待办队列" in text and "河东区某厂" not in text


def test_unknown_queue_says_so(client: Client, heping: Bureau) -> None:
    client.force_login(heping.handler)
    response = client.get("/queues/bogus/")
    assert response.status_code == 404
    assert_site_page(response.content.decode(), reason="没有这个队列。", menu=True)


def test_bad_disclosure_month_for_the_public(client: Client) -> None:
    response = client.get("/disclosure/2026-13/")
    assert response.status_code == 404
    text = response.content.decode()
    assert_site_page(text, reason="月份格式不正确", menu=False)
    assert 'href="/disclosure/"' in text and "待办队列" not in text


def test_unknown_address_gets_a_general_chinese_reason(client: Client) -> None:
    response = client.get("/no-such-page/<script>/")
    assert response.status_code == 404
    text = response.content.decode()
    assert_site_page(text, reason="您要找的页面不存在", menu=False)
    assert "<script>" not in text


def test_sysadmin_on_the_audit_log_keeps_the_chinese_reason(
    client: Client, make_user: Callable[..., User]
) -> None:
    client.force_login(make_user("admin", district_name=None))
    response = client.get("/audit/")
    assert response.status_code == 403
    text = response.content.decode()
    assert_site_page(text, reason="只有安全审计员可以查看审计日志。", menu=True)
    assert re.search(r"<h1[^>]*>.*403.*无权访问", text, re.S)


def test_htmx_part_request_gets_the_message_alone(client: Client, heping: Bureau) -> None:
    client.force_login(heping.handler)
    response = client.get("/queues/bogus/", headers={"HX-Request": "true", "HX-Target": "queue-panel"})
    assert response.status_code == 404
    text = response.content.decode()
    assert "没有这个队列。" in text and "<html" not in text


@pytest.mark.urls("tests.workbench.error_urls")
def test_server_error_page(heping: Bureau) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(heping.operator)
    response = client.get("/boom/")
    assert response.status_code == 500
    text = response.content.decode()
    assert_site_page(text, reason="系统处理时出现错误", menu=True)
    assert "token=abc" not in text and "RuntimeError" not in text
