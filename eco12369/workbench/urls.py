from django.urls import URLPattern, path

from . import desk, holidays, list_pages, outbox, views

app_name = "workbench"


def _action_urls() -> list[URLPattern]:
    return [
        path(
            f"cases/<str:number>/{action.value.replace('_', '-')}/",
            view.as_view(),
            name=f"case_{action.value}",
        )
        for action, view in views.ACTION_VIEWS.items()
    ]


urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("queues/", views.queue, name="queue"),
    path("queues/<slug:key>/", views.queue, name="queue_tab"),
    path("search/", views.search, name="search"),
    path("views/", list_pages.saved_view_save, name="saved_view_save"),
    path("views/<int:pk>/", list_pages.saved_view_open, name="saved_view_open"),
    path("views/<int:pk>/change/", list_pages.saved_view_change, name="saved_view_change"),
    path("districts.geojson", views.districts_geojson, name="districts_geojson"),
    path("calendar/import/", holidays.calendar_import, name="calendar_import"),
    path("notices/", outbox.notices, name="notices"),
    path("notices/<int:pk>/retry/", outbox.notice_retry, name="notice_retry"),
    path("cases/<str:number>/", views.case_detail, name="case"),
    path("cases/<str:number>/preview/", list_pages.case_preview, name="case_preview"),
    path("notifications/", desk.notifications, name="notifications"),
    path("notifications/badge/", desk.notifications_badge, name="notifications_badge"),
    path("notifications/read-all/", desk.notifications_read_all, name="notifications_read_all"),
    path("notifications/settings/", desk.notification_preferences, name="notification_preferences"),
    path("notifications/<int:pk>/open/", desk.notification_open, name="notification_open"),
    path("cases/<str:number>/notes/", views.case_note_add, name="case_note_add"),
    path("cases/<str:number>/notes/people/", views.case_mentionable, name="case_mentionable"),
    path("cases/<str:number>/photos/<int:pk>/", views.case_photo, name="case_photo"),
    path("cases/<str:number>/reporter/reveal/", views.case_reporter_reveal, name="case_reporter_reveal"),
    path("cases/<str:number>/reply-draft/", views.case_reply_draft, name="case_reply_draft"),
    path("cases/<str:number>/evidence/", views.case_evidence, name="case_evidence"),
    *_action_urls(),
]
