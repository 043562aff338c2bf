from django.contrib import admin

from .models import AgencyAlertChannel


@admin.register(AgencyAlertChannel)
class AgencyAlertChannelAdmin(admin.ModelAdmin):
    list_display = ("agency", "wecom_webhook")
    autocomplete_fields = ()
