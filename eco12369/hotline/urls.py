from django.urls import path

from . import views

app_name = "hotline"
urlpatterns = [
    path("call/", views.call, name="call"),
    path("call/attach/", views.call_attach, name="call_attach"),
    path("call/candidates/", views.call_candidates, name="call_candidates"),
    path("call/category/", views.call_category, name="call_category"),
    path("call/done/<str:number>/", views.call_done, name="call_done"),
    path("call/followed/<str:number>/", views.call_followed, name="call_followed"),
    path("districts.geojson", views.districts_geojson, name="districts_geojson"),
    path("imports/", views.imports, name="imports"),
    path("imports/template.xlsx", views.import_template, name="import_template"),
    path("imports/replies.xlsx", views.replies_export, name="replies_export"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("imports/<int:pk>/", views.import_progress, name="import_progress"),
]
