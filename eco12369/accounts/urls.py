from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("otp/setup/", views.otp_setup, name="otp_setup"),
    path("otp/verify/", views.otp_verify, name="otp_verify"),
]
