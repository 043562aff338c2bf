from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path

from eco12369.open311.api import api as open311_api
from eco12369.wechat import views as wechat_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("account/", include("eco12369.accounts.urls", namespace="accounts")),
    path("audit/", include("eco12369.audit.urls", namespace="audit")),
    path("portal/", include("eco12369.portal.urls", namespace="portal")),
    path("wechat/", include("eco12369.wechat.urls", namespace="wechat")),
    path("open311/v2/", open311_api.urls),
    path("stats/", include("eco12369.stats.urls", namespace="stats")),
    path("oversight/", include("eco12369.oversight.urls", namespace="oversight")),
    path("disclosure/", include("eco12369.stats.disclosure_urls", namespace="disclosure")),
    path("followup/", include("eco12369.followup.urls", namespace="followup")),
    path("hotline/", include("eco12369.hotline.urls", namespace="hotline")),
    path("", include("eco12369.workbench.urls")),
]

if settings.ECO_BENCH:
    # bench/run.py only (docs/scale.md), never mounted otherwise: the ceilings the WeChat callback is
    # measured against. /bench/ping/: a bare Django view through the whole middleware stack (issue 6);
    # /bench/callback-reference/: the least a durable callback must do (issue 16).
    def bench_ping(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"pong", content_type="text/plain")

    urlpatterns[:0] = [
        path("bench/ping/", bench_ping),
        path("bench/callback-reference/", wechat_views.callback_reference),
    ]

# The error pages in the site's layout, with the reason in Chinese (issue 12, D5).
handler400 = "eco12369.errors.bad_request"
handler403 = "eco12369.errors.permission_denied"
handler404 = "eco12369.errors.page_not_found"
handler500 = "eco12369.errors.server_error"
