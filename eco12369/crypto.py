"""Field encryption for reporter identity (Art. 17; PIPL). Keys come from the environment.

``ECO_FIELD_KEYS``: comma-separated keys (32 random bytes, url-safe base64: the Fernet key format), newest
first. New values are encrypted with the first; every listed key can decrypt, so a key change is: put the
new key first, run ``manage.py rotate_field_key`` (re-encrypts every value with the new key and cipher),
then drop the old key. Required outside DEBUG (eco12369/settings.py).

``ECO_FIELD_CIPHER`` chooses the cipher of new values (both stay readable):

- ``sm4-gcm`` (the default; GB/T 32907 SM4 in GCM mode, authenticated): ``enc2:<key id>:<base64 of
  nonce(12) + ciphertext + tag(16)>``, the key id and prefix as associated data. The SM4 key is
  HMAC-SM3(configured key, "eco12369 field sm4-gcm")[:16], so one configured key serves either cipher.
- ``fernet`` (AES-128-CBC + HMAC-SHA256, what the platform wrote before): ``enc1:<Fernet token>``.

``ECO_INDEX_KEY``: the HMAC key of the blind index that lets us find a reporter's cases by openid
without storing the openid in clear.

Data written in development before keys were configured (a key derived from ``SECRET_KEY``) stays
readable, never written, so ``rotate_field_key`` can move it to the configured keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Q
from django.db.models.lookups import Exact

PREFIX = "enc1:"  # Fernet
PREFIX_SM4 = "enc2:"  # SM4-GCM
PREFIXES = (PREFIX, PREFIX_SM4)
CIPHERS = ("sm4-gcm", "fernet")


def _derived(label: str) -> bytes:
    return hashlib.sha256(f"eco12369:{label}:{settings.SECRET_KEY}".encode()).digest()


def configured_keys() -> list[str]:
    raw = getattr(settings, "ECO_FIELD_KEYS", "") or ""
    return [k.strip() for k in raw.split(",") if k.strip()]


def cipher() -> str:
    name = getattr(settings, "ECO_FIELD_CIPHER", "") or "sm4-gcm"
    if name not in CIPHERS:
        raise ValueError(f"ECO_FIELD_CIPHER 应为 {' / '.join(CIPHERS)}：{name!r}")
    return name


def _all_keys() -> tuple[str, ...]:
    """Configured keys (newest first), then the development key derived from SECRET_KEY (read only)."""
    derived = base64.urlsafe_b64encode(_derived("field")).decode()
    return tuple(dict.fromkeys((*configured_keys(), derived)))


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(_all_keys())


@lru_cache(maxsize=16)
def _sm4_key(key: str) -> tuple[str, bytes]:
    """(key id, SM4 key) of a configured key."""
    raw = base64.urlsafe_b64decode(key.encode())
    mac = crypto_hmac.HMAC(raw, hashes.SM3())
    mac.update(b"eco12369 field sm4-gcm")
    return hashlib.sha256(raw).hexdigest()[:8], mac.finalize()[:16]


def key_id(key: str) -> str:
    return _sm4_key(key)[0]


def newest_key() -> str:
    return _all_keys()[0]


def _sm4_encrypt(value: str, key: str) -> str:
    kid, sm4 = _sm4_key(key)
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.SM4(sm4), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(f"{PREFIX_SM4}{kid}".encode())
    body = encryptor.update(value.encode()) + encryptor.finalize()
    return f"{PREFIX_SM4}{kid}:" + base64.urlsafe_b64encode(nonce + body + encryptor.tag).decode()


def _sm4_decrypt(value: str) -> str:
    kid, _, payload = value[len(PREFIX_SM4) :].partition(":")
    for key in _all_keys():
        found, sm4 = _sm4_key(key)
        if found != kid:
            continue
        data = base64.urlsafe_b64decode(payload.encode())
        decryptor = Cipher(algorithms.SM4(sm4), modes.GCM(data[:12], data[-16:])).decryptor()
        decryptor.authenticate_additional_data(f"{PREFIX_SM4}{kid}".encode())
        try:
            return (decryptor.update(data[12:-16]) + decryptor.finalize()).decode()
        except InvalidTag as exc:
            raise ValueError("个人信息无法解密：密文被篡改或密钥不匹配（请检查 ECO_FIELD_KEYS）。") from exc
    raise ValueError(f"个人信息无法解密：密钥不匹配（密钥 {kid} 不在 ECO_FIELD_KEYS 中）。")


def encrypt(value: str) -> str:
    if value == "":
        return ""
    if cipher() == "sm4-gcm":
        return _sm4_encrypt(value, newest_key())
    return PREFIX + Fernet(newest_key().encode()).encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value or not value.startswith(PREFIXES):
        return value  # empty, or written before encryption was enabled
    if value.startswith(PREFIX_SM4):
        return _sm4_decrypt(value)
    try:
        return fernet().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("个人信息无法解密：密钥不匹配（请检查 ECO_FIELD_KEYS）。") from exc


def is_current(value: str) -> bool:
    """Whether a stored value is already encrypted with the newest key and the configured cipher (an
    unreadable value raises ValueError)."""
    if not value:
        return True
    clear = decrypt(value)
    if not value.startswith(PREFIXES):
        return False
    if cipher() == "sm4-gcm":
        return value.startswith(f"{PREFIX_SM4}{key_id(newest_key())}:")
    if not value.startswith(PREFIX):
        return False
    try:
        return Fernet(newest_key().encode()).decrypt(value[len(PREFIX) :].encode()).decode() == clear
    except InvalidToken:
        return False


def rotate(value: str) -> str:
    """Re-encrypt with the newest key and the configured cipher."""
    return encrypt(decrypt(value))


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
    ``QuerySet.update()`` must set both (see ``manage.py rotate_field_key``, which also re-indexes)."""

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
