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
from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Q
from django.db.models.lookups import Exact

PREFIX = "enc1:"


def _derived(label: str) -> bytes:
    return hashlib.sha256(f"eco12369:{label}:{settings.SECRET_KEY}".encode()).digest()


def configured_keys() -> list[str]:
    raw = getattr(settings, "ECO_FIELD_KEYS", "") or ""
    return [k.strip() for k in raw.split(",") if k.strip()]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str = "") -> MultiFernet:
    derived = base64.urlsafe_b64encode(_derived("field")).decode()
    # The key derived from SECRET_KEY (development, the demo) stays readable after keys are configured, so
    # moving to ECO_FIELD_KEYS is: set it, run ``rotate_field_keys`` (``--check`` lists what is left).
    # ``secret_key`` is only part of the cache key (``_derived`` reads the setting).
    return MultiFernet([Fernet(k.encode()) for k in dict.fromkeys((*keys, derived))])


def fernet() -> MultiFernet:
    return _fernet(tuple(configured_keys()), str(settings.SECRET_KEY))


def newest_fernet() -> Fernet:
    """The key new values are encrypted with (the first of ``ECO_FIELD_KEYS``, or the derived one)."""
    keys = configured_keys()
    key = keys[0] if keys else base64.urlsafe_b64encode(_derived("field")).decode()
    return Fernet(key.encode())


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


def blind_q(field: str, value: str) -> Q:
    """The condition "encrypted ``field`` equals ``value``", on the field's blind index ``<field>_digest``:
    ``OutboxMessage.objects.filter(blind_q("openid", openid))``; ``field`` may follow relations
    (``blind_q("submission__openid", openid)``). An empty value matches nothing. The one way to find rows
    by an encrypted value (filtering the encrypted field itself raises ``FieldError``)."""
    if not value:
        return Q(pk__in=[])
    return Q(**{f"{field}_digest": blind_index(value)})


class _EmptyOnlyExact(Exact):
    """``field=""`` still works (an empty value is stored empty); any other value cannot match a randomised
    ciphertext, so a look-up by value is refused loudly instead of silently finding nothing."""

    def __init__(self, lhs: Any, rhs: Any) -> None:
        if rhs not in ("", None):
            raise FieldError(
                "Encrypted fields cannot be filtered by value; filter on their blind index "
                '(crypto.blind_q(field, value), e.g. blind_q("openid", openid) filters openid_digest).'
            )
        super().__init__(lhs, rhs)


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads give the clear text. Not filterable by value (only
    ``=""`` and ``isnull``): use a blind index."""

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return _EmptyOnlyExact
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None  # Django raises FieldError("Unsupported lookup ...")

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value))


class BlindIndexField(models.CharField):
    """The blind index (``blind_index``) of another field of the same model, kept by ``pre_save`` on every
    ``save()`` and ``bulk_create``. With ``save(update_fields=...)`` list both fields; a
    ``QuerySet.update()`` must set both (see ``manage.py rotate_field_keys``, which also re-indexes)."""

    def __init__(self, *args: Any, source: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", "")
        self.source = source
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = blind_index(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value
