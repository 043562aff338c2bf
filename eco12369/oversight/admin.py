"""Admin: the assessment weights are configuration (Art. 14) and editable here as well as on the page.
Case-related oversight data (candidates, spot-check items) is not shown in the admin: the system
administrator sees no case content (Art. 15, 17)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import AssessmentScheme


@admin.register(AssessmentScheme)
class AssessmentSchemeAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "w_confirm_on_time",
        "w_close_on_time",
        "w_extension",
        "w_spot_check",
        "w_supervision",
        "w_repeat",
        "w_satisfaction",
        "repeat_threshold",
        "updated_by",
        "updated_at",
    )
    readonly_fields = ("updated_by", "updated_at")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
