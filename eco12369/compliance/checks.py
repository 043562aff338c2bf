"""System checks of the platform's own security settings.

Deploy-tagged (``manage.py check --deploy``): production must set its own field-encryption and
blind-index keys; the keys derived from ``SECRET_KEY`` are for development and the demo only (changing
``SECRET_KEY`` would then make every stored reporter identity unreadable), and an audit anchor file
(``ECO_AUDIT_ANCHOR_FILE``: without it a cut-back audit chain goes unnoticed), and the benchmark's
reference views off (``ECO_BENCH``). Always: a malformed
``ECO_FIELD_KEYS`` is an error (nothing could be written).
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from eco12369.crypto import configured_keys
from eco12369.devkeys import KNOWN_SECRETS


@register(Tags.security, deploy=True)
def field_keys_set(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if not configured_keys():
        messages.append(
            Warning(
                "ECO_FIELD_KEYS is not set: reporter identity is encrypted with a key derived from SECRET_KEY.",
                hint="Set ECO_FIELD_KEYS to a Fernet key (python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'); see docs/field-encryption.md.",
                id="eco12369.W001",
            )
        )
    if not (getattr(settings, "ECO_INDEX_KEY", "") or ""):
        messages.append(
            Warning(
                "ECO_INDEX_KEY is not set: the reporter openid's blind index uses a key derived from SECRET_KEY.",
                hint="Set ECO_INDEX_KEY to a long random string and keep it; see docs/field-encryption.md.",
                id="eco12369.W002",
            )
        )
    return messages


@register(Tags.security, deploy=True)
def audit_anchor_file_set(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if getattr(settings, "ECO_AUDIT_ANCHOR_FILE_SET", False):
        return []
    return [
        Warning(
            "ECO_AUDIT_ANCHOR_FILE is not set: the audit chain's anchors go to var/ on this host, where whoever "
            "can rewrite the database may also rewrite them.",
            hint="Set ECO_AUDIT_ANCHOR_FILE to a file on append-only storage off the database host; "
            "see docs/audit.md.",
            id="eco12369.W003",
        )
    ]


@register(Tags.security, deploy=True)
def bench_views_off(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if not getattr(settings, "ECO_BENCH", False):
        return []
    return [
        Warning(
            "ECO_BENCH is on: the benchmark's reference views (/bench/ping/, /bench/callback-reference/) are "
            "mounted.",
            hint="Unset ECO_BENCH outside bench/run.py; see docs/scale.md.",
            id="eco12369.W004",
        )
    ]


@register(Tags.security)
def field_keys_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    for position, key in enumerate(configured_keys(), start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            return [
                Error(
                    f"ECO_FIELD_KEYS: key #{position} is not a valid Fernet key (32 url-safe base64-encoded bytes).",
                    id="eco12369.E001",
                )
            ]
    return []


def _known(value: str) -> bool:
    return value in KNOWN_SECRETS or value.startswith(("django-insecure", "dev-insecure", "change-me"))


@register(Tags.security, deploy=True)
def no_known_secrets(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A key written in the source (the DEBUG fallback, the test suite's) or too short is no secret."""
    messages: list[CheckMessage] = []
    secret = str(settings.SECRET_KEY or "")
    if _known(secret) or len(secret) < 50:
        messages.append(
            Error(
                "ECO_SECRET_KEY is a built-in, known or short value (内置或已公开的密钥).",
                hint="Set ECO_SECRET_KEY to 50+ random characters of your own; see docs/deploy.md.",
                id="eco12369.E002",
            )
        )
    if any(_known(key) for key in configured_keys()):
        messages.append(
            Error(
                "ECO_FIELD_KEYS holds a built-in, known key (字段加密密钥是公开的测试密钥).",
                hint="Generate your own key (docs/deploy.md), put it first and run manage.py rotate_field_key.",
                id="eco12369.E003",
            )
        )
    return messages


@register(Tags.security, deploy=True)
def sign_in_protection_on(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """MLPS level 3: a second factor for the sensitive roles and a lockout after repeated failures."""
    messages: list[CheckMessage] = []
    if not getattr(settings, "ECO_OTP_ENFORCE", True):
        messages.append(
            Error(
                "TOTP is turned off (ECO_OTP_ENFORCE): staff sign in and reveal reporters with a password only.",
                hint="Remove ECO_OTP_ENFORCE=0 from the production environment.",
                id="eco12369.E004",
            )
        )
    if not getattr(settings, "AXES_ENABLED", True):
        messages.append(
            Error(
                "The login lockout is turned off (ECO_AXES_ENABLED): passwords can be guessed without limit.",
                hint="Remove ECO_AXES_ENABLED=0 from the production environment.",
                id="eco12369.E005",
            )
        )
    return messages
