"""``Refused``, the one error class of a refused action, and the 400, 403, 404 and 500 pages: the site's layout (with the menu when signed in) and the reason in
Chinese. A refusal's own Chinese reason (``PermissionDenied("只有安全审计员…")``, ``Http404("没有这个队列。")``)
is shown as it is; Django's English internals ("No Case matches the given query.") give way to a general
sentence. An htmx request that swaps one part of a page gets the message alone, not a page in a page.

Every service refuses an action the same way: it raises a ``Refused`` (or one of its named subclasses:
``TransitionError``, ``FollowupError``, ``OversightError``, ``RevealRefused``, ``ExportUnavailable``,
``DemoResetRefused``, ``NoteRefused``, ``EvidenceRejected``, ``HotlineError``) with the Chinese message to
show and the HTTP status that fits: 403 when the user may not do it, 422 when what was typed does not pass,
409 (the default) when the case or the data does not allow it now. A view that shows the message in its own
page answers with ``answer_status(refused=exc)``, the one way a view turns a refusal (or a form with errors)
into a status; one that does not catch it gets ``refused_page`` through ``RefusedMiddleware``: the message
on the error page, with the status.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger(__name__)


class Refused(Exception):
    """A refused action: ``message`` is shown to the user as is (Chinese); ``status`` is the HTTP status
    of the answer (409 by default: the request was understood, but the case or the data does not allow it
    now). A subclass names its area and may change the default status."""

    status: int = 409

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


def answer_status(*, refused: Refused | None = None, form: BaseForm | None = None) -> int:
    """The HTTP status of a page shown again after a POST, worked out one way by every view: a refusal's
    own ``status``; else 422 when the form has errors (what was typed does not pass its checks); else 200."""
    if refused is not None:
        return refused.status
    if form is not None and form.is_bound and form.errors:
        return HTTPStatus.UNPROCESSABLE_ENTITY
    return HTTPStatus.OK


CJK = re.compile(r"[\u4e00-\u9fff]")


def _reason(exception: BaseException | None, default: str) -> str:
    message = exception.args[0] if exception is not None and exception.args else ""
    return message if isinstance(message, str) and CJK.search(message) else default


def _render(request: HttpRequest, status: int, title: str, reason: str) -> HttpResponse:
    htmx = getattr(request, "htmx", None)
    template = "_error.html" if htmx and not htmx.boosted else "error.html"
    context: dict[str, Any] = {"status": status, "title": title, "reason": reason}
    try:
        body = loader.render_to_string(template, context, request)
    except Exception:  # the menu needs the database: a 500 may come from it being down
        if status != 500:
            raise
        logger.exception("error page rendered without the menu")
        body = loader.render_to_string(template, {**context, "plain": True})
    return HttpResponse(body, status=status)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: BaseException) -> HttpResponse:
    return _render(request, 400, _("请求无效"), _("请求的内容无法处理，请返回上一页检查后重试。"))


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: BaseException) -> HttpResponse:
    return _render(request, 403, _("无权访问"), _reason(exception, _("您没有访问此页面的权限。")))


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: BaseException) -> HttpResponse:
    default = _("您要找的页面不存在，可能是网址有误或内容已被移除。")
    return _render(request, 404, _("页面不存在"), _reason(exception, default))


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    reason = _("系统处理时出现错误，已记录下来。请稍后重试；如仍不行，请联系系统管理员。")
    return _render(request, 500, _("系统错误"), reason)


TITLES = {
    400: gettext_lazy("请求无效"),
    403: gettext_lazy("无权访问"),
    404: gettext_lazy("页面不存在"),
    503: gettext_lazy("暂时无法处理"),
}


def refused_page(request: HttpRequest, exc: Refused) -> HttpResponse:
    """The error page of a ``Refused`` no view caught: its message, with its status."""
    return _render(request, exc.status, str(TITLES.get(exc.status, gettext_lazy("无法办理"))), exc.message)


class RefusedMiddleware:
    """Maps an uncaught ``Refused`` to its HTTP status and message, in this one place."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return refused_page(request, exception) if isinstance(exception, Refused) else None
