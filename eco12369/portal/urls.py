from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.index, name="index"),
    path("guide/", views.guide, name="guide"),
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("report/", views.report, name="report"),
    path("report/done/<str:number>/", views.report_done, name="report_done"),
    path("report/photo/<str:key>/", views.staged_photo, name="staged_photo"),
    path("report/similar/", views.report_similar, name="report_similar"),
    path("report/follow/", views.report_follow, name="report_follow"),
    path("mine/", views.mine, name="mine"),
    path("mine/<str:number>/", views.mine_detail, name="mine_detail"),
    path("mine/<str:number>/rate/", views.mine_rate, name="mine_rate"),
    path("mine/<str:number>/supplement/", views.mine_supplement, name="mine_supplement"),
    path("mine/<str:number>/withdraw/", views.mine_withdraw, name="mine_withdraw"),
]
