from django.urls import path

from . import views

app_name = "oversight"
urlpatterns = [
    path("supervision/", views.supervision, name="supervision"),
    path("supervision/cases/<str:number>/", views.supervise, name="supervise"),
    path("supervision/orders/<int:pk>/answer/", views.answer_order, name="answer_order"),
    path("cases/<str:number>/duplicates/", views.duplicates, name="duplicates"),
    path("repeats/", views.repeats, name="repeats"),
    path("spot-checks/", views.spot_checks, name="spot_checks"),
    path("spot-checks/<int:pk>/", views.spot_check, name="spot_check"),
    path("spot-checks/items/<int:pk>/", views.spot_check_item, name="spot_check_item"),
    path("assessment/", views.assessment, name="assessment"),
    path("assessment/export/", views.assessment_export, name="assessment_export"),
    path("assessment/weights/", views.assessment_weights, name="assessment_weights"),
    path("performance/", views.performance, name="performance"),
    path("performance/staff/<int:pk>/merits/new/", views.staff_merit_new, name="staff_merit_new"),
    path("my-merits/", views.my_merits, name="my_merits"),
    path("guidance/", views.guidance, name="guidance"),
    path("guidance/new/", views.guidance_new, name="guidance_new"),
    path("guidance/<int:pk>/", views.guidance_detail, name="guidance_detail"),
]
