from django.urls import path

from . import views

app_name = "followup"
urlpatterns = [
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:pk>/reopen/", views.review_reopen_view, name="review_reopen"),
    path("reviews/<int:pk>/dismiss/", views.review_dismiss_view, name="review_dismiss"),
    path("reply-templates/", views.templates_list, name="templates"),
    path("reply-templates/new/", views.template_new, name="template_new"),
    path("reply-templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("reply-templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
]
