from django.urls import path

from .views import assessment, duplicates, guidance, merits, performance, spot_checks, supervision

app_name = "oversight"
urlpatterns = [
    path("supervision/", supervision.supervision, name="supervision"),
    path("cases/<str:number>/duplicates/", duplicates.duplicates, name="duplicates"),
    path("repeats/", duplicates.repeats, name="repeats"),
    path("spot-checks/", spot_checks.spot_checks, name="spot_checks"),
    path("spot-checks/<int:pk>/", spot_checks.spot_check, name="spot_check"),
    path("spot-checks/items/<int:pk>/", spot_checks.spot_check_item, name="spot_check_item"),
    path("assessment/", assessment.assessment, name="assessment"),
    path("assessment/export/", assessment.assessment_export, name="assessment_export"),
    path("assessment/weights/", assessment.assessment_weights, name="assessment_weights"),
    path("performance/", performance.performance, name="performance"),
    path("performance/staff/<int:pk>/merits/new/", merits.staff_merit_new, name="staff_merit_new"),
    path("my-merits/", merits.my_merits, name="my_merits"),
    path("guidance/", guidance.guidance, name="guidance"),
    path("guidance/new/", guidance.guidance_new, name="guidance_new"),
    path("guidance/<int:pk>/", guidance.guidance_detail, name="guidance_detail"),
]
