"""What every staff page's view needs, written once: the signed-in user, a permission check, and lists
paged with the fewest counts (workbench, oversight, follow-up, monthly reports)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

from eco12369.orgs.models import User

# Lists that can hold a province's ten years (closed cases, search results) are counted up to this many:
# counting every row of a million costs a scan of them all on each page view (issue #6). Above it the
# page says "1000+" and pages to the cap; the search narrows it down.
COUNT_CAP = 1000


def request_user(request: HttpRequest) -> User:
    """The signed-in staff member (the view is behind ``login_required``)."""
    user = request.user
    assert isinstance(user, User)
    return user


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("您没有查看此页面的权限。")


def capped_count(qs: QuerySet[Any], cap: int = COUNT_CAP) -> int:
    """The exact count up to ``cap``; ``cap + 1`` means more."""
    return qs.order_by()[: cap + 1].count()


def count_label(count: int, cap: int = COUNT_CAP) -> str:
    return f"{cap}+" if count > cap else str(count)


class CountedPaginator(Paginator):
    """A paginator that reuses a count already made (a tab's), saving one query, or a capped count
    (``capped_count``): then it pages to the cap and ``count_label`` says "1000+"."""

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *,
        known_count: int | None = None,
        capped: bool = False,
        cap: int = COUNT_CAP,
    ) -> None:
        super().__init__(object_list, per_page)
        self.more = False
        if capped and known_count is None:
            known_count = capped_count(object_list, cap)
        if known_count is not None:
            self.more = capped and known_count > cap
            self.__dict__["count"] = min(known_count, cap) if capped else known_count

    @property
    def count_label(self) -> str:
        return f"{self.count}+" if self.more else str(self.count)


def page_of(
    request: HttpRequest,
    qs: Any,
    per_page: int,
    *,
    known_count: int | None = None,
    capped: bool = False,
) -> Page:
    """The page the request asks for (``?page=``; out of range: the nearest)."""
    paginator = CountedPaginator(qs, per_page, known_count=known_count, capped=capped)
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The request's query string without ``page``, for the pager's links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
