"""Sign-in and sign-out of the workbench."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese(client: Client) -> None:
    response = client.get(reverse("workbench:login"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "12369环保微信举报管理平台" in text
    assert "用户名" in text and "密码" in text


def test_anonymous_is_sent_to_login(client: Client, heping) -> None:
    for url in (reverse("workbench:home"), reverse("workbench:queue"), reverse("workbench:search")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("workbench:login"))


def test_login_then_queue_then_logout(client: Client, heping) -> None:
    response = client.post(
        reverse("workbench:login"), {"username": heping.operator.username, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("workbench:home")  # the dashboard (issue 15)
    text = response.content.decode()
    assert "和平区操作员" in text
    assert "和平区生态环境局" in text
    assert "平台操作人员" in text
    # Logout is POST only: a link (GET) cannot log anyone out.
    assert client.get(reverse("workbench:logout")).status_code == 405
    response = client.post(reverse("workbench:logout"))
    assert response.status_code == 302
    assert client.get(reverse("workbench:queue")).status_code == 302


def test_wrong_password_is_refused_in_chinese(client: Client, heping) -> None:
    response = client.post(
        reverse("workbench:login"), {"username": heping.operator.username, "password": "nope"}
    )
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_without_case_roles_sees_no_cases(client: Client, make_user, make_case) -> None:
    make_case("和平区")
    admin = make_user("admin", district_name=None)
    client.force_login(admin)
    response = client.get(reverse("workbench:home"))
    assert response.status_code == 200
    assert "没有办理举报件的角色" in response.content.decode()
    assert client.get(reverse("workbench:search")).status_code == 404
