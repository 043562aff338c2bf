"""The project's URLs plus one view that fails, to see the 500 page (tests/workbench/test_error_pages.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from eco12369.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("数据库连接中断 (secret detail: token=abc)")


urlpatterns = [path("boom/", boom), *urlpatterns]
