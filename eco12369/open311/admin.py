from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from eco12369.orgs.admin import SystemAdminOnly

from .models import ApiKey
from .services import api_key_create, api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(SystemAdminOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """The system administrator issues and revokes partner keys (by role, like every admin page); a key is
    never edited or deleted: a revoked key stays listed for the record."""

    list_display = ("channel", "prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("channel",)
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        row, key = api_key_create(channel=obj.channel, actor=request.user)
        obj.pk = row.pk
        messages.warning(request, f"已签发接口密钥（仅显示这一次，请立即保存）：{key}")

    @admin.action(description="吊销所选密钥")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for row in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=row, actor=request.user)
        messages.success(request, "已吊销。")
