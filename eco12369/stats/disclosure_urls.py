"""Public disclosure of the monthly reports (Art. 13), mounted under /disclosure/ (namespace ``disclosure``)."""

from django.urls import path

from . import public_views

app_name = "disclosure"
urlpatterns = [
    path("", public_views.index, name="index"),
    path("<str:month>/", public_views.month, name="month"),
]
