"""The sensitive-word list, edited by the system administrator (every change is audited through the admin
log, see audit/signals.py)."""

from __future__ import annotations

from django.contrib import admin

from eco12369.orgs.admin import SystemAdminOnly

from .models import SensitiveWord


@admin.register(SensitiveWord)
class SensitiveWordAdmin(SystemAdminOnly, admin.ModelAdmin):
    list_display = ["word", "category", "active", "note", "updated_at"]
    list_filter = ["category", "active"]
    list_editable = ["active"]
    search_fields = ["word", "note"]
    ordering = ["category", "word"]
