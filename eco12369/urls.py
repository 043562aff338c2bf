from django.contrib import admin
from django.urls import include, path

from eco12369.open311.api import api as open311_api

urlpatterns = [
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
    path("", include("eco12369.workbench.urls")),
]
