from django.contrib import admin
from django.urls import include, path

from eco12369.open311.api import api as open311_api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("portal/", include("eco12369.portal.urls", namespace="portal")),
    path("open311/v2/", open311_api.urls),
    path("", include("eco12369.workbench.urls")),
]
