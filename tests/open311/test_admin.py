"""The system administrator (the admin role, not a superuser) issues and revokes partner API keys in the
Django admin; nobody else reaches those pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from eco12369.audit.models import AuditEntry
from eco12369.open311.models import ApiKey
from eco12369.open311.services import api_key_check, api_key_create
from eco12369.orgs.models import User

pytestmark = pytest.mark.django_db

PAGE = "/admin/open311/apikey/"


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_administrator_lists_adds_and_revokes_keys(make_user: Callable[..., User]) -> None:
    admin_user = make_user("admin", district_name=None)
    assert not admin_user.is_superuser
    client = client_of(admin_user)
    api_key_create(channel="12345热线")
    listing = client.get(PAGE)
    assert listing.status_code == 200 and "12345热线" in listing.content.decode()

    added = client.post(f"{PAGE}add/", {"channel": "市长信箱"}, follow=True)
    assert added.status_code == 200
    row = ApiKey.objects.get(channel="市长信箱")
    shown = [str(m) for m in added.context["messages"]]
    key = next(m.rsplit("：", 1)[1] for m in shown if "已签发接口密钥" in m)
    assert key.startswith("eco_") and key not in (row.digest, row.prefix)
    assert api_key_check(key=key) == row and row.created_by == admin_user

    revoked = client.post(PAGE, {"action": "revoke", "_selected_action": [row.pk]}, follow=True)
    assert revoked.status_code == 200
    row.refresh_from_db()
    assert row.revoked_at is not None and api_key_check(key=key) is None
    assert AuditEntry.objects.filter(action="api_key_revoke", actor=admin_user).count() == 1
    # Keys are never edited or deleted: a revoked key stays on the record.
    assert client.post(f"{PAGE}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ApiKey.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("role", ["operator", "auditor", "head"])
def test_no_one_else_sees_or_issues_keys(make_user: Callable[..., User], role: str) -> None:
    row, key = api_key_create(channel="12345热线")
    client = client_of(make_user(role, district_name=None))
    assert client.get(PAGE).status_code in (302, 403)
    client.post(f"{PAGE}add/", {"channel": "冒充渠道"})
    client.post(PAGE, {"action": "revoke", "_selected_action": [row.pk]})
    assert not ApiKey.objects.filter(channel="冒充渠道").exists()
    assert api_key_check(key=key) == row  # still active


def test_a_staff_user_without_the_admin_role_is_refused(make_user: Callable[..., User]) -> None:
    """Django's is_staff alone is not the administrator role: the page answers 403, not the list."""
    user = make_user("auditor", district_name=None)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    row, _ = api_key_create(channel="12345热线")
    client = client_of(user)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"action": "revoke", "_selected_action": [row.pk]}).status_code == 403
    row.refresh_from_db()
    assert row.revoked_at is None
