from django.contrib import admin

from .models import SatisfactionWeight


@admin.register(SatisfactionWeight)
class SatisfactionWeightAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Only the weight: ratings, reviews and follows hold reporter matters (no case content for the
    system administrator, separation of duties); reply templates are managed by the bureaus."""

    list_display = ("weight", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")
