"""Saved views of the case lists (我的视图, issue 15): a user saves the list they are looking at — /search/
as filtered or a queue as sorted — under a name, and may share it with the people of their own agency.

What is stored is the list's query string as its own form cleans it, so a view never holds a filter the
user could not type (another district, a sort that is not a column's). Views of another agency do not
exist for the user (``view_get_for`` returns ``None``: the page says 404). Only the owner renames, shares
or deletes a view; saving, changing and deleting are written to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, router, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.orgs.models import User

from .forms import SearchForm
from .keyset import POSITION_PARAMS
from .lists import SORTS
from .models import SavedView
from .queues import QUEUES_BY_KEY, queues_for

SEARCH = "search"
NAME_MAX = SavedView._meta.get_field("name").max_length or 40


class ViewRefused(Exception):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ViewMenu:
    mine: list[SavedView]
    shared: list[SavedView]


def views_visible_to(user: User) -> QuerySet[SavedView]:
    """The user's own views and those shared within their agency."""
    if user.agency_id is None:
        return SavedView.objects.filter(owner=user)
    return SavedView.objects.filter(Q(owner=user) | Q(agency_id=user.agency_id, shared=True))


def views_menu(user: User) -> ViewMenu:
    """The 我的视图 menu, in one query, from the primary database even on a page that reads a replica
    (/search/, ``dbrouting``): the view just saved is in the menu of the page the save leads to."""
    views = list(views_visible_to(user).using(router.db_for_write(SavedView)).select_related("owner"))
    return ViewMenu(
        mine=[v for v in views if v.owner_id == user.pk],
        shared=[v for v in views if v.owner_id != user.pk],
    )


def view_get_for(*, user: User, pk: int) -> SavedView | None:
    return views_visible_to(user).filter(pk=pk).first()


def view_url(view: SavedView) -> str:
    if view.list_key == SEARCH:
        base = reverse("workbench:search")
    else:
        base = reverse("workbench:queue_tab", args=[view.list_key])
    return f"{base}?{view.query}" if view.query else base


def query_clean(*, user: User, list_key: str, query: str) -> str:
    """The query string of ``list_key`` as its form cleans it, without the position in the list; refused
    with a Chinese message when the list is not the user's or a filter is not valid."""
    params = QueryDict(query)
    if list_key == SEARCH:
        form = SearchForm(params, user=user)
        if not form.is_valid():
            raise ViewRefused("当前筛选条件有误，请先修正再保存视图。")
        names = list(form.fields)
    else:
        queue = QUEUES_BY_KEY.get(list_key)
        if queue is None or queue not in queues_for(user):
            raise ViewRefused("没有这个列表。", status=404)
        names = ["sort"]
    clean = QueryDict(mutable=True)
    for name in names:
        if name in POSITION_PARAMS:
            continue
        values = [v for v in params.getlist(name) if v.strip()]
        if name == "sort":
            values = [v for v in values if v.removeprefix("-") in SORTS]
        if values:
            clean.setlist(name, values)
    return clean.urlencode()


def _name_clean(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ViewRefused("请填写视图名称。")
    if len(name) > NAME_MAX:
        raise ViewRefused(f"视图名称最多{NAME_MAX}个字。")
    return name


def _audit(
    action: str, *, user: User, view: SavedView, request: HttpRequest | None, **detail: object
) -> None:
    audit_record(
        action=action,
        actor=user,
        object_type="saved_view",
        object_id=view.pk,
        detail={
            "name": view.name,
            "list": view.list_key,
            "query": view.query,
            "shared": view.shared,
            **detail,
        },
        request=request,
    )


def view_save(
    *,
    user: User,
    list_key: str,
    name: str,
    query: str,
    shared: bool = False,
    request: HttpRequest | None = None,
) -> SavedView:
    """Save the list ``list_key`` as filtered by ``query`` under ``name``; the same name again replaces the
    user's view of that name (saving is how a view's filters are changed)."""
    if user.agency_id is None:
        raise ViewRefused("您没有可保存的列表。", status=404)
    name = _name_clean(name)
    query = query_clean(user=user, list_key=list_key, query=query)
    now = timezone.now()
    with transaction.atomic():
        view, created = SavedView.objects.update_or_create(
            owner=user,
            name=name,
            defaults={
                "agency_id": user.agency_id,
                "list_key": list_key,
                "query": query,
                "shared": shared,
                "updated_at": now,
            },
            create_defaults={
                "agency_id": user.agency_id,
                "list_key": list_key,
                "query": query,
                "shared": shared,
                "created_at": now,
                "updated_at": now,
            },
        )
        _audit(AuditAction.SAVED_VIEW_SAVE, user=user, view=view, request=request, created=created)
    return view


def _owned(user: User, view: SavedView) -> None:
    if view.owner_id != user.pk:
        raise ViewRefused("只有创建者可以修改或删除这个视图。", status=403)


def view_change(
    *,
    user: User,
    view: SavedView,
    name: str | None = None,
    shared: bool | None = None,
    request: HttpRequest | None = None,
) -> SavedView:
    """Rename a view or share it (or stop sharing it) with the owner's agency."""
    _owned(user, view)
    before_name, before_shared = view.name, view.shared
    if name is not None:
        view.name = _name_clean(name)
    if shared is not None:
        view.shared = shared
    view.updated_at = timezone.now()
    try:
        with transaction.atomic():
            view.save(update_fields=["name", "shared", "updated_at"])
            _audit(
                AuditAction.SAVED_VIEW_SAVE,
                user=user,
                view=view,
                request=request,
                before={"name": before_name, "shared": before_shared},
            )
    except IntegrityError as exc:
        view.name = before_name
        raise ViewRefused(f"已有名为“{name}”的视图。") from exc
    return view


def view_delete(*, user: User, view: SavedView, request: HttpRequest | None = None) -> None:
    _owned(user, view)
    with transaction.atomic():
        _audit(AuditAction.SAVED_VIEW_DELETE, user=user, view=view, request=request)
        view.delete()
