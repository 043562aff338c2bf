"""Saved views (我的视图) of the case lists, the 经办人 filter and the preview pane (issue 15), over HTTP:
scoped to the user's agency, checked by the list's form, audited."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.workbench.models import SavedView

from .conftest import advance
from .test_queues import numbers_on

pytestmark = pytest.mark.django_db


def save(client, name: str, query: str, *, list_key: str = "search", shared: bool = False):
    data = {"list": list_key, "name": name, "query": query, "next": "/search/?" + query}
    if shared:
        data["shared"] = "1"
    return client.post(reverse("workbench:saved_view_save"), data)


def menu(response) -> list[str]:
    return re.findall(
        r'class="saved-view-link" href="/views/\d+/"[^>]*>([^<]+)</a>', response.content.decode()
    )


def test_save_and_open_a_search_view(client, heping, make_case) -> None:
    air = make_case("和平区", category="air", reported_party="鑫源化工", description="晚上一股刺鼻的化学味儿")
    make_case("和平区", category="noise", reported_party="某某工地", description="半夜打桩")
    client.force_login(heping.operator)
    # The position in the list and the export switch are not part of a view; empty fields are dropped.
    response = save(
        client,
        "  刺鼻  的气味 ",
        "q=%E5%88%BA%E9%BC%BB&category=air&state=&sort=-received&after=abc&format=xlsx",
    )
    view = SavedView.objects.get(owner=heping.operator)
    assert view.name == "刺鼻 的气味"
    assert parse_qs(view.query) == {"q": ["刺鼻"], "category": ["air"], "sort": ["-received"]}
    assert response.status_code == 303 and response["Location"] == "/search/?" + view.query
    opened = client.get(reverse("workbench:saved_view_open", args=[view.pk]))
    assert opened.status_code == 302
    listed = client.get(opened["Location"])
    assert numbers_on(listed) == {air.number}
    assert menu(listed) == ["刺鼻 的气味"]
    entry = AuditEntry.objects.get(action="saved_view.save")
    assert entry.actor == heping.operator and entry.object_id == str(view.pk)
    assert entry.detail["query"] == view.query and entry.detail["created"] is True


def test_a_view_holds_only_what_the_form_accepts(client, heping, hexi) -> None:
    client.force_login(heping.operator)
    hexi_district = hexi.operator.agency.region_id
    response = save(client, "河西的件", f"district={hexi_district}")
    assert response.status_code == 303 and response["Location"].startswith("/search/")
    assert not SavedView.objects.exists()
    assert "当前筛选条件有误" in client.get(response["Location"]).content.decode()
    # A sort that is not a column's, and fields the form does not have, are left out.
    save(client, "按电话排", "sort=reporter_phone&reporter_phone=138&kind=report")
    assert SavedView.objects.get().query == "kind=report"
    # Nameless, or too long.
    save(client, "   ", "kind=report")
    save(client, "很长" * 30, "kind=report")
    assert SavedView.objects.count() == 1


def test_queue_views_keep_the_sort(client, heping) -> None:
    client.force_login(heping.operator)
    response = save(client, "待确认按区", "sort=-region&page=3", list_key="confirm")
    view = SavedView.objects.get()
    assert (view.list_key, view.query) == ("confirm", "sort=-region")
    assert response["Location"] == "/queues/confirm/?sort=-region"
    # A queue the user does not have is not a list they can save.
    client.force_login(heping.handler)
    assert save(client, "待确认", "", list_key="confirm").status_code == 404
    assert save(client, "乱写", "", list_key="../admin").status_code == 404


def test_shared_within_the_agency_only(client, heping, hexi, make_user) -> None:
    client.force_login(heping.operator)
    save(client, "全区超期件", "timing=overdue", shared=True)
    save(client, "我自己的", "kind=report")
    shared = SavedView.objects.get(name="全区超期件")
    own = SavedView.objects.get(name="我自己的")
    # A colleague of the same bureau sees the shared view, not the private one, and may open it.
    client.force_login(heping.head)
    page = client.get(reverse("workbench:search"))
    assert menu(page) == ["全区超期件"]
    assert client.get(reverse("workbench:saved_view_open", args=[shared.pk])).status_code == 302
    assert client.get(reverse("workbench:saved_view_open", args=[own.pk])).status_code == 404
    # Only the owner renames or deletes it.
    url = reverse("workbench:saved_view_change", args=[shared.pk])
    assert client.post(url, {"name": "改个名"}).status_code == 403
    assert client.post(url, {"delete": "1"}).status_code == 403
    assert SavedView.objects.get(pk=shared.pk).name == "全区超期件"
    # Another district's staff and the city centre: the view does not exist for them.
    for other in (hexi.operator, make_user("operator", district_name=None)):
        client.force_login(other)
        assert menu(client.get(reverse("workbench:search"))) == []
        assert client.get(reverse("workbench:saved_view_open", args=[shared.pk])).status_code == 404
        assert client.post(url, {"delete": "1"}).status_code == 404
    assert SavedView.objects.filter(pk=shared.pk).exists()


def test_rename_share_and_delete_are_audited(client, heping) -> None:
    client.force_login(heping.operator)
    save(client, "噪声件", "category=noise")
    save(client, "大气件", "category=air")
    view = SavedView.objects.get(name="噪声件")
    url = reverse("workbench:saved_view_change", args=[view.pk])
    response = client.post(url, {"name": "夜间噪声", "next": "/search/?category=noise"})
    assert response.status_code == 303 and response["Location"] == "/search/?category=noise"
    client.post(url, {"shared": "1"})
    view.refresh_from_db()
    assert (view.name, view.shared) == ("夜间噪声", True)
    # A name already taken is refused with its reason, and nothing changes.
    response = client.post(url, {"name": "大气件"}, follow=True)
    assert "已有名为“大气件”的视图" in response.content.decode()
    view.refresh_from_db()
    assert view.name == "夜间噪声"
    # An outside address in ``next`` is not followed.
    response = client.post(url, {"delete": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/search/"
    assert not SavedView.objects.filter(pk=view.pk).exists()
    entries = list(AuditEntry.objects.filter(object_type="saved_view", object_id=str(view.pk)).order_by("id"))
    assert [e.action for e in entries] == [
        "saved_view.save",
        "saved_view.save",
        "saved_view.save",
        "saved_view.delete",
    ]
    assert entries[1].detail["before"] == {"name": "噪声件", "shared": False}
    assert entries[-1].detail["name"] == "夜间噪声"


# ------------------------------------------------------------------------------------ 经办人 filter
def test_person_filter_finds_the_cases_a_person_worked_on(client, heping, make_case, make_user) -> None:
    colleague = make_user("operator", district_name="和平区", display_name="王某")
    mine = advance(make_case("和平区", reported_party="XX烧烤店"), heping, "handling")  # heping.operator
    theirs = services.case_accept(case=make_case("和平区", reported_party="某洗车行"), actor=colleague)
    untouched = make_case("和平区", reported_party="某某工地")
    client.force_login(heping.head)
    url = reverse("workbench:search")
    assert numbers_on(client.get(url, {"person": colleague.pk})) == {theirs.number}
    assert numbers_on(client.get(url, {"person": heping.operator.pk})) == {mine.number}
    assert numbers_on(client.get(url, {"person": heping.handler.pk})) == set()  # assigned, not acted yet
    assert untouched.number not in numbers_on(client.get(url, {"person": heping.operator.pk}))
    page = client.get(url).content.decode()
    assert "王某（" in page and "和平区操作员（" in page


def test_person_filter_offers_only_the_users_agency(client, heping, hexi, make_case) -> None:
    case = services.case_accept(case=make_case("河西区"), actor=hexi.operator)
    client.force_login(heping.head)
    response = client.get(reverse("workbench:search"), {"person": hexi.operator.pk})
    assert numbers_on(response) == set() and "has-error" in response.content.decode()
    assert "河西区操作员" not in response.content.decode()
    assert case.number not in response.content.decode()


# ------------------------------------------------------------------------------------ preview pane
def test_preview_shows_the_case_without_the_reporter(client, heping, hexi, make_case) -> None:
    case = advance(
        make_case(
            "和平区",
            reported_party="天津市鑫源化工有限公司",
            address="和平区解放南路188号",
            description="晚上十点以后一股刺鼻的化学味儿<script>alert(1)</script>",
            reporter_name="欧阳娜娜",
            reporter_phone="13812341234",
        ),
        heping,
        "handling",
    )
    client.force_login(heping.operator)
    response = client.get(reverse("workbench:case_preview", args=[case.number]))
    text = response.content.decode()
    assert response.status_code == 200 and "<html" not in text
    assert case.number in text and "天津市鑫源化工有限公司" in text and "和平区解放南路188号" in text
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "批转" in text  # the last steps
    for identity in ("欧阳", "欧***", "13812341234", "138****1234", "1234", case.reporter_openid):
        assert identity not in text
    assert response["Cache-Control"] == "private, no-store"
    assert not AuditEntry.objects.filter(action="reveal").exists()
    # Another district's case, and an unknown number, do not exist for the user.
    other = make_case("河西区")
    assert client.get(reverse("workbench:case_preview", args=[other.number])).status_code == 404
    client.force_login(hexi.operator)
    assert client.get(reverse("workbench:case_preview", args=[case.number])).status_code == 404


def test_preview_queries_are_exact(client, heping, make_case, django_assert_num_queries) -> None:
    case = advance(make_case("和平区"), heping, "closed")
    client.force_login(heping.operator)
    # session, user, roles, agency; the case with its region, agency and department; its last three
    # events with their actors; the session save (savepoint, update, release).
    with django_assert_num_queries(9):
        response = client.get(reverse("workbench:case_preview", args=[case.number]))
    assert response.status_code == 200


def test_list_rows_point_to_their_preview(client, heping, make_case) -> None:
    case = make_case("和平区")
    client.force_login(heping.operator)
    page = client.get(reverse("workbench:search")).content.decode()
    assert f'data-preview="/cases/{case.number}/preview/"' in page and 'id="case-preview"' in page
    assert urlsplit(reverse("workbench:case_preview", args=[case.number])).path.endswith("/preview/")
