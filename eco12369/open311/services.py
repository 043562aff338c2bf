"""Open311 writes: API keys and request intake (through the one intake service)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.cases.models import Case
from eco12369.cases.services import Intake, case_create
from eco12369.clientip import client_ip

from .models import ApiKey, RequestToken


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, channel: str, actor: Any = None) -> tuple[ApiKey, str]:
    """Create a key bound to ``channel``; returns the row and the clear key (shown once, never stored)."""
    channel = channel.strip()
    if not channel:
        raise ValueError("请填写渠道名称。")
    # Hex, not URL-safe base64: a prefix starting with "-" would read as an option on the command line.
    key = "eco_" + secrets.token_hex(32)
    with transaction.atomic():
        row = ApiKey.objects.create(channel=channel, prefix=key[4:12], digest=_digest(key), created_by=actor)
        audit_record(
            action=AuditAction.API_KEY_CREATE,
            actor=actor,
            object_type="api_key",
            object_id=row.pk,
            detail={"channel": channel, "prefix": row.prefix},
        )
    return row, key


def api_key_revoke(*, api_key: ApiKey, actor: Any = None) -> ApiKey:
    with transaction.atomic():
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditAction.API_KEY_REVOKE,
            actor=actor,
            object_type="api_key",
            object_id=api_key.pk,
            detail={"channel": api_key.channel, "prefix": api_key.prefix},
        )
    return api_key


def api_key_check(*, key: str) -> ApiKey | None:
    """The active key matching ``key``, or None."""
    if not key:
        return None
    row = ApiKey.objects.filter(digest=_digest(key), revoked_at__isnull=True).first()
    if row is not None:
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row


def anonymous_read_allowed(*, request: HttpRequest) -> bool:
    """Count one keyless read of the request list for the client (its address through the trusted proxies,
    ``eco12369.clientip``) in the Django cache; False once it passed ``OPEN311_ANONYMOUS_READS_PER_MINUTE``
    this minute. A request with a valid api_key is not counted. (With several server processes, point
    CACHES at Redis so they share the count.)"""
    if api_key_check(key=request.GET.get("api_key", "")) is not None:
        return True
    limit = settings.OPEN311_ANONYMOUS_READS_PER_MINUTE
    minute = int(timezone.now().timestamp() // 60)
    key = f"open311:anon:{client_ip(request)}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    return count <= limit


def request_create(*, api_key: ApiKey, intake: Intake) -> RequestToken:
    """File a case for a partner channel; the token ties it to the key (and so the channel)."""
    with transaction.atomic():
        case: Case = case_create(intake=intake)
        token = RequestToken.objects.create(token=secrets.token_hex(16), case=case, api_key=api_key)
    return token
