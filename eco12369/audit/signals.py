"""Logins, failed logins, logouts, account creation, role grants and revocations, and every change made
in the Django admin go to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .middleware import current_request
from .models import AuditAction
from .services import audit_record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.LOGIN, actor=user, object_type="user", object_id=user.pk, request=request)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(
            action=AuditAction.LOGOUT, actor=user, object_type="user", object_id=user.pk, request=request
        )


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action=AuditAction.LOGIN_FAILED, actor_label=username, object_type="user", detail={}, request=request
    )


# ------------------------------------------------------------------------------- accounts and roles
def _request_actor() -> tuple[Any, Any]:
    request = current_request()
    user = getattr(request, "user", None) if request is not None else None
    return (user if user is not None and user.is_authenticated else None), request


def _record_account_change(action: AuditAction, object_id: Any, detail: dict[str, Any]) -> None:
    """An account or role change, by the signed-in user of the current request (else "system")."""
    actor, request = _request_actor()
    audit_record(
        action=action,
        actor=actor,
        actor_label="" if actor else "system",
        object_type="user",
        object_id=object_id,
        detail=detail,
        request=request,
    )


@receiver(post_save, sender="orgs.RoleGrant")
def _role_granted(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        _record_account_change(
            AuditAction.ROLE_CHANGE,
            instance.user_id,
            {"change": "grant", "role": instance.role, "user": instance.user.username},
        )


@receiver(post_delete, sender="orgs.RoleGrant")
def _role_revoked(sender: Any, instance: Any, **kwargs: Any) -> None:
    _record_account_change(
        AuditAction.ROLE_CHANGE, instance.user_id, {"change": "revoke", "role": instance.role}
    )


@receiver(post_save, sender="orgs.User")
def _account_created(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        _record_account_change(
            AuditAction.USER_CREATE, instance.pk, {"user": instance.username, "agency": instance.agency_id}
        )


@receiver(post_save, sender="admin.LogEntry")
def _admin_change(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """Every change made in the Django admin (accounts, agencies, calendar, sensitive words…), by whom."""
    if not created or raw:
        return
    _actor, request = _request_actor()
    kinds = {1: "add", 2: "change", 3: "delete"}
    audit_record(
        action=AuditAction.ADMIN_CHANGE,
        actor=instance.user,
        object_type=instance.content_type.model if instance.content_type_id else "",
        object_id=instance.object_id or "",
        detail={
            "change": kinds.get(instance.action_flag, str(instance.action_flag)),
            "object": instance.object_repr,
            "message": instance.get_change_message(),
        },
        request=request,
    )
