"""One error class for a refused action (issue 10, item 3): every area's refusal is a ``Refused`` carrying
its Chinese message and its HTTP status, and an uncaught one becomes an error page with that status."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from eco12369.cases.evidence import EvidenceRejected
from eco12369.cases.privacy import RevealRefused
from eco12369.cases.workflow import TransitionError
from eco12369.demo.services import DemoResetRefused
from eco12369.errors import Refused, RefusedMiddleware
from eco12369.followup.services import FollowupError
from eco12369.hotline.services import HotlineError
from eco12369.oversight.services import OversightError
from eco12369.stats.exports import ExportUnavailable
from eco12369.workbench.notes import NoteRefused


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (TransitionError("举报件已办结，不能受理。"), 409),
        (FollowupError("该举报已办结，不能再关注。"), 409),
        (OversightError("本月已抽取过抽查件。"), 409),
        (RevealRefused("您无权查看该举报人的完整信息。"), 403),
        (RevealRefused("请填写查看理由。", status=422), 422),
        (ExportUnavailable("服务器未安装中文字体，无法生成PDF。"), 503),
        (DemoResetRefused("数据库里有不是演示数据的举报件。"), 409),
        (NoteRefused("备注内容不能为空。"), 422),
        (EvidenceRejected("文件超过 10 MB 的上限，请压缩或分页扫描后上传。"), 422),
        (HotlineError("来电时间不能晚于当前时间。"), 422),
        (HotlineError("该文件已确认导入。", status=409), 409),
    ],
)
def test_every_refusal_is_one_class_with_a_message_and_a_status(refusal: Refused, status: int) -> None:
    assert isinstance(refusal, Refused)
    assert refusal.status == status
    assert refusal.message == str(refusal)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (ExportUnavailable("服务器缺少生成PDF所需的系统库（Pango）。"), 503),
        (TransitionError("<b>已被他人处理</b>"), 409),
    ],
)
def test_an_uncaught_refusal_is_a_page_with_its_status_and_message(refusal: Refused, status: int) -> None:
    request = RequestFactory().get("/workbench/")
    request.user = AnonymousUser()

    def view(request: HttpRequest) -> HttpResponse:
        raise refusal

    middleware = RefusedMiddleware(view)
    response = middleware.process_exception(request, refusal)
    assert response is not None
    assert response.status_code == status
    page = response.content.decode()
    assert str(refusal.message).replace("<", "&lt;").replace(">", "&gt;") in page
    assert "<b>" not in page  # escaped, never markup
    assert middleware.process_exception(request, ValueError("不是拒绝")) is None
