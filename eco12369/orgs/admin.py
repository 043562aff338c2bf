"""Django admin for the system administrator (系统管理员): regions, agencies, handling departments, staff
accounts and their roles (Art. 15, 17).

Access follows the platform's roles, not Django's permission tables: only an active user with the
administrator role (or a superuser created on the command line) may use these pages. No case content is
registered anywhere in the admin (separation of duties, DESIGN §1): administrators manage accounts, not
reports.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm, UsernameField
from django.db.models import Model
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from .models import Agency, Department, Region, Role, RoleGrant, User

admin.site.site_header = "12369环保微信举报管理平台 · 系统管理"
admin.site.site_title = "12369 系统管理"
admin.site.index_title = "账号、机构与工作日历"

CASE_ROLES = frozenset({Role.OPERATOR, Role.HANDLER, Role.REVIEWER, Role.HEAD})
ADMIN_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})


def is_system_admin(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or (isinstance(user, User) and user.is_system_admin)


class SystemAdminOnly:
    """Every permission of the page is the administrator role (or superuser)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_system_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_system_admin(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_system_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_system_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_system_admin(request)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, list[str]]:
        """The delete page names what blocks a deletion by kind and number only: the objects' own names
        would list case numbers (a district's cases protect its region and bureau) to the administrator,
        who sees no case content (separation of duties)."""
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(  # type: ignore[misc]
            objs, request
        )
        counts = Counter(str(item).split(": ", 1)[0] for item in protected)
        return to_delete, model_count, perms_needed, [f"{label}（{n}）" for label, n in counts.items()]


# ------------------------------------------------------------------------------------ organisations
@admin.register(Region)
class RegionAdmin(SystemAdminOnly, admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    ordering = ["code"]


class DepartmentInline(SystemAdminOnly, admin.TabularInline):
    model = Department
    extra = 0
    fields = ["name"]


@admin.register(Agency)
class AgencyAdmin(SystemAdminOnly, admin.ModelAdmin):
    list_display = ["name", "short_name", "kind", "region", "phone"]
    list_filter = ["kind"]
    search_fields = ["name", "short_name"]
    list_select_related = ["region"]
    inlines = [DepartmentInline]


@admin.register(Department)
class DepartmentAdmin(SystemAdminOnly, admin.ModelAdmin):
    list_display = ["name", "agency"]
    list_filter = ["agency__kind"]
    search_fields = ["name", "agency__name"]
    list_select_related = ["agency"]


# ------------------------------------------------------------------------------------------ staff
class RoleGrantFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        roles: set[str] = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            role = form.cleaned_data.get("role")
            if role in roles:
                raise forms.ValidationError("同一角色不能重复授予。")
            if role:
                roles.add(role)
        if roles & ADMIN_ROLES and roles & CASE_ROLES:
            raise forms.ValidationError(
                "系统管理员、安全审计员不能同时担任业务角色（平台操作人员、承办人员、分管领导、负责人），"
                "以保证三员分立、管理员不接触举报内容。"
            )


class RoleGrantInline(SystemAdminOnly, admin.TabularInline):
    model = RoleGrant
    formset = RoleGrantFormSet
    extra = 1
    fields = ["role", "granted_at"]
    readonly_fields = ["granted_at"]
    verbose_name = "角色"
    verbose_name_plural = "角色"


def _check_department(data: dict[str, Any]) -> None:
    agency, department = data.get("agency"), data.get("department")
    if department is not None and (agency is None or department.agency_id != agency.pk):
        raise forms.ValidationError("承办部门必须属于所选机构。")


class StaffCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "display_name", "agency", "department")
        field_classes = {"username": UsernameField}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_department(data)
        return data


class StaffChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"username": UsernameField}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_department(data)
        return data


@admin.register(User)
class StaffAdmin(SystemAdminOnly, DjangoUserAdmin):
    form = StaffChangeForm
    add_form = StaffCreationForm
    inlines = [RoleGrantInline]
    list_display = [
        "username",
        "display_name",
        "agency",
        "department",
        "roles_display",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_active", "agency__kind", "roles__role"]
    search_fields = ["username", "display_name", "agency__name"]
    list_select_related = ["agency", "department"]
    ordering = ["agency__region__code", "username"]
    # No superuser flag, groups or Django permissions here: access comes from the roles below.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("个人信息", {"fields": ("display_name", "phone", "email")}),
        ("所属机构", {"fields": ("agency", "department")}),
        ("状态", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "display_name", "agency", "department", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ["last_login", "date_joined"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("roles")

    @admin.display(description="角色")
    def roles_display(self, obj: User) -> str:
        labels = [str(Role(grant.role).label) for grant in obj.roles.all()]
        return "、".join(labels) or "—"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user: User = form.instance
        # Only the administrator role opens the admin site.
        is_staff = user.is_superuser or user.roles.filter(role=Role.ADMIN).exists()
        if user.is_staff != is_staff:
            User.objects.filter(pk=user.pk).update(is_staff=is_staff)
