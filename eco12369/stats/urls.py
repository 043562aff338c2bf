"""Staff pages of the monthly reports, mounted under /stats/ (namespace ``stats``)."""

from django.urls import path

from . import views

app_name = "stats"
urlpatterns = [
    path("", views.monthly_list, name="monthly_list"),
    path("generate/", views.generate, name="generate"),
    path("<str:code>/<str:month>/", views.report_detail, name="report"),
    path("<str:code>/<str:month>/export.xlsx", views.export_excel, name="export_excel"),
    path("<str:code>/<str:month>/export.pdf", views.export_pdf, name="export_pdf"),
    path("<str:code>/<str:month>/<str:action>/", views.report_action, name="action"),
]
