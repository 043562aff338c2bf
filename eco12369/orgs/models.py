"""Regions, agencies, handling departments and staff (DESIGN §1, Art. 5)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    class Level(models.TextChoices):
        CITY = "city", _("市")
        DISTRICT = "district", _("区")

    code = models.CharField(_("行政区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("行政区")
        verbose_name_plural = _("行政区")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Agency(models.Model):
    class Kind(models.TextChoices):
        CITY_CENTRE = "city_centre", _("市举报受理中心")
        DISTRICT_BUREAU = "district_bureau", _("区环境保护主管部门")
        OUTSIDE = "outside", _("其他部门")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    region = models.ForeignKey(
        Region, verbose_name=_("行政区"), on_delete=models.PROTECT, related_name="agencies"
    )
    phone = models.CharField(_("联系电话"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["region__code", "kind", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_city_centre(self) -> bool:
        return self.kind == self.Kind.CITY_CENTRE

    @property
    def handles_cases(self) -> bool:
        return self.kind in (self.Kind.CITY_CENTRE, self.Kind.DISTRICT_BUREAU)


class Department(models.Model):
    """A handling department (承办部门) inside a bureau (Art. 8, 9)."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("机构"), on_delete=models.PROTECT, related_name="departments"
    )
    name = models.CharField(_("名称"), max_length=100)

    class Meta:
        verbose_name = _("承办部门")
        verbose_name_plural = _("承办部门")
        ordering = ["agency_id", "name"]
        constraints = [models.UniqueConstraint(fields=["agency", "name"], name="department_unique_name")]

    def __str__(self) -> str:
        return f"{self.agency.short_name or self.agency.name}·{self.name}"


class Role(models.TextChoices):
    OPERATOR = "operator", _("平台操作人员")
    HANDLER = "handler", _("承办人员")
    REVIEWER = "reviewer", _("分管领导")
    HEAD = "head", _("负责人")
    ADMIN = "admin", _("系统管理员")
    AUDITOR = "auditor", _("安全审计员")


class User(AbstractUser):
    """A member of staff. Reporters are not users: they are identified by their WeChat openid."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("承办部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")

    def __str__(self) -> str:
        return self.display_name or self.username

    @cached_property
    def role_set(self) -> frozenset[str]:
        return frozenset(self.roles.values_list("role", flat=True))

    def has_role(self, role: str) -> bool:
        return role in self.role_set

    @property
    def is_city_centre(self) -> bool:
        return self.agency is not None and self.agency.kind == Agency.Kind.CITY_CENTRE

    @property
    def is_system_admin(self) -> bool:
        """A superuser or a holder of the system-administrator role (DESIGN §1)."""
        return bool(self.is_superuser or self.has_role(Role.ADMIN))

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(r).label) for r in Role.values if r in self.role_set]


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    granted_at = models.DateTimeField(_("授予时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="role_grant_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"
