"""Field encryption for reporter identity (Art. 17; PIPL). Keys come from the environment.

``ECO_FIELD_KEYS``: comma-separated Fernet keys, newest first. New values are encrypted with the first;
every listed key can decrypt, so a key change is: put the new key first, run
``manage.py rotate_field_keys`` (re-encrypts every value with the new key), then drop the old key.
``ECO_INDEX_KEY``: the HMAC key of the blind index that lets us find a reporter's cases by openid
without storing the openid in clear.

With neither set (development, the demo, tests) keys are derived from ``SECRET_KEY`` and a system
check warns in production (``check --deploy``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "enc1:"


def _derived(label: str) -> bytes:
    return hashlib.sha256(f"eco12369:{label}:{settings.SECRET_KEY}".encode()).digest()


def configured_keys() -> list[str]:
    raw = getattr(settings, "ECO_FIELD_KEYS", "") or ""
    return [k.strip() for k in raw.split(",") if k.strip()]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        keys = (base64.urlsafe_b64encode(_derived("field")).decode(),)
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(configured_keys()))


def encrypt(value: str) -> str:
    if value == "":
        return ""
    return PREFIX + fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value or not value.startswith(PREFIX):
        return value  # empty, or written before encryption was enabled
    try:
        return fernet().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("个人信息无法解密：密钥不匹配（请检查 ECO_FIELD_KEYS）。") from exc


def rotate(value: str) -> str:
    """Re-encrypt with the newest key."""
    if not value or not value.startswith(PREFIX):
        return encrypt(value)
    return PREFIX + fernet().rotate(value[len(PREFIX) :].encode()).decode()


def blind_index(value: str) -> str:
    """Deterministic keyed digest for equality look-ups of an encrypted value."""
    if not value:
        return ""
    key = (getattr(settings, "ECO_INDEX_KEY", "") or "").encode() or _derived("index")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads give the clear text. Not filterable: use a blind index."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value))
