"""Deployment hardening (issue #5 item 5): production settings pass ``check --deploy`` with no warning;
security headers on every response; CSRF everywhere except the two endpoints with their own
authentication; uploads outside the web root, randomly named, served only through the authorised view."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image

from eco12369.cases.models import Case
from eco12369.orgs.models import User

from .conftest import Staff

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECO_", "DJANGO_", "DATABASE_URL"))}
    env.update(
        ECO_HTTPS="1",
        ECO_SECRET_KEY=secrets.token_urlsafe(50),
        ECO_ALLOWED_HOSTS="12369.example.gov.cn",
        ECO_CSRF_TRUSTED_ORIGINS="https://12369.example.gov.cn",
        ECO_VAR_DIR=str(tmp_path / "var"),
        ECO_AUDIT_KEYS=f"k1:{secrets.token_urlsafe(32)}",
        DJANGO_SETTINGS_MODULE="eco12369.settings",
    )
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_with_no_warning(tmp_path: Path) -> None:
    result = _check_deploy(
        tmp_path,
        ECO_FIELD_KEYS=Fernet.generate_key().decode(),
        ECO_INDEX_KEY=secrets.token_urlsafe(32),
        ECO_AUDIT_ANCHOR_FILE=str(tmp_path / "anchors" / "audit-anchors.log"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    # At most the SQLite demo's notice about the indexes' INCLUDE columns is silenced, never a security check.
    assert set(getattr(settings, "SILENCED_SYSTEM_CHECKS", [])) <= {"models.W040"}
    assert "WARNINGS:" not in output and "?: (" not in output


def test_check_deploy_warns_without_the_index_key_and_the_anchor_file(tmp_path: Path) -> None:
    result = _check_deploy(tmp_path, ECO_FIELD_KEYS=Fernet.generate_key().decode())
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "eco12369.W001" not in output
    assert "eco12369.W002" in output and "ECO_INDEX_KEY" in output
    assert "eco12369.W003" in output and "ECO_AUDIT_ANCHOR_FILE" in output


def test_a_production_start_without_its_own_keys_is_refused(tmp_path: Path) -> None:
    """M3 (issue 11): no built-in secret outside DEBUG; the message says what is missing, in both languages."""
    without_field_key = _check_deploy(tmp_path)
    output = without_field_key.stdout + without_field_key.stderr
    assert without_field_key.returncode != 0
    assert "ImproperlyConfigured" in output and "ECO_FIELD_KEYS" in output and "缺少密钥" in output
    assert "ECO_SECRET_KEY" not in output.split("缺少密钥", 1)[1].split("：", 1)[0]
    without_secret_key = _check_deploy(
        tmp_path, ECO_SECRET_KEY="", ECO_FIELD_KEYS=Fernet.generate_key().decode()
    )
    output = without_secret_key.stdout + without_secret_key.stderr
    assert without_secret_key.returncode != 0
    assert "缺少密钥 ECO_SECRET_KEY" in output and "Missing ECO_SECRET_KEY" in output


def test_check_deploy_refuses_known_keys_and_turned_off_sign_in_protection(tmp_path: Path) -> None:
    from eco12369.devkeys import DEV_SECRET_KEY, TEST_FIELD_KEY, TEST_SECRET_KEY

    good = {
        "ECO_INDEX_KEY": secrets.token_urlsafe(32),
        "ECO_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors" / "audit-anchors.log"),
    }
    for known in (DEV_SECRET_KEY, TEST_SECRET_KEY):
        result = _check_deploy(
            tmp_path, ECO_SECRET_KEY=known, ECO_FIELD_KEYS=Fernet.generate_key().decode(), **good
        )
        assert result.returncode != 0 and "eco12369.E002" in result.stdout + result.stderr
    result = _check_deploy(tmp_path, ECO_FIELD_KEYS=TEST_FIELD_KEY, **good)
    assert result.returncode != 0 and "eco12369.E003" in result.stdout + result.stderr
    result = _check_deploy(
        tmp_path,
        ECO_FIELD_KEYS=Fernet.generate_key().decode(),
        ECO_OTP_ENFORCE="0",
        ECO_AXES_ENABLED="0",
        **good,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "eco12369.E004" in output and "eco12369.E005" in output


def test_a_malformed_field_key_is_an_error(tmp_path: Path) -> None:
    result = _check_deploy(tmp_path, ECO_FIELD_KEYS="not-a-key", ECO_INDEX_KEY="x" * 40)
    assert result.returncode != 0
    assert "eco12369.E001" in result.stdout + result.stderr


# ------------------------------------------------------------------------------------------ headers
@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/disclosure/", "/portal/report/", "/admin/login/"])
def test_security_headers_on_every_kind_of_page(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (200, 302), url
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


def test_the_photo_view_keeps_its_own_sandboxed_policy(
    staff: Staff, make_case: Callable[..., Case], login: Callable[[User], Client], media_root: Path
) -> None:
    case = make_case(photos=[_png("现场.png")])
    response = login(staff.operator).get(f"/cases/{case.number}/photos/{case.attachments.get().pk}/")
    assert response.status_code == 200
    assert "sandbox" in response["Content-Security-Policy"]


# --------------------------------------------------------------------------------------------- CSRF
def _patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_csrf_exempt_only_where_another_authentication_applies() -> None:
    exempt = {route for route, view in _patterns() if getattr(view, "csrf_exempt", False)}
    # The WeChat callback is authenticated by WeChat's signature; Open311 by API keys (GET is public).
    assert exempt, "the walk found no exempt view at all: the walk is broken"
    assert {r for r in exempt if not r.startswith(("wechat/callback", "open311/v2/"))} == set(), exempt
    assert "wechat/callback/" in exempt


def test_forms_without_a_csrf_token_are_refused(
    staff: Staff, make_case: Callable[..., Case], tianjin: None
) -> None:
    case = make_case(reporter_name="张伟", reporter_phone="13812341234")
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff.operator)
    assert client.post(f"/cases/{case.number}/accept/", {}).status_code == 403
    assert client.post(f"/cases/{case.number}/reporter/reveal/", {"reason": "核实"}).status_code == 403
    assert Case.objects.get(pk=case.pk).state == "received"
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/login/", {"username": "x", "password": "y"}).status_code == 403


# ------------------------------------------------------------------------------------------ uploads
def _png(name: str) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), "#2a6").save(buf, format="PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def test_media_root_is_outside_every_static_location() -> None:
    media = Path(settings.MEDIA_ROOT).resolve()
    static_places = {
        Path(settings.STATIC_ROOT).resolve(),
        *(Path(d).resolve() for d in settings.STATICFILES_DIRS),
    }
    for finder in finders.get_finders():  # every app's static/ directory too
        static_places |= {Path(storage.location).resolve() for _path, storage in finder.list([])}
    for place in static_places:
        assert not media.is_relative_to(place), (media, place)
        assert not place.is_relative_to(media), (media, place)
    assert getattr(settings, "WHITENOISE_ROOT", None) is None  # whitenoise serves no extra directory


def test_no_url_serves_the_upload_directory(
    staff: Staff, make_case: Callable[..., Case], login: Callable[[User], Client], media_root: Path
) -> None:
    from django.views.static import serve

    assert not [route for route, view in _patterns() if view is serve]
    case = make_case(photos=[_png("张伟13812341234的照片.png")])
    attachment = case.attachments.get()
    stored = attachment.file.name
    assert "张伟" not in stored and "13812341234" not in stored and stored.endswith(".png")
    assert (media_root / stored).is_file()
    client = login(staff.operator)
    for url in (f"/{stored}", f"{settings.MEDIA_URL}{stored}", f"/media/{stored}", f"/static/../{stored}"):
        assert client.get(url).status_code == 404, url
    # The authorised view serves it, to staff who may see the case only.
    assert client.get(f"/cases/{case.number}/photos/{attachment.pk}/").status_code == 200
    assert login(staff.hexi_operator).get(f"/cases/{case.number}/photos/{attachment.pk}/").status_code == 404
    assert Client().get(f"/cases/{case.number}/photos/{attachment.pk}/").status_code == 302


def test_a_real_wechat_app_id_with_the_simulator_credentials_is_an_error(tmp_path: Path) -> None:
    keys = {
        "ECO_FIELD_KEYS": Fernet.generate_key().decode(),
        "ECO_INDEX_KEY": secrets.token_urlsafe(32),
        "ECO_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors" / "audit-anchors.log"),
    }
    result = _check_deploy(tmp_path, WECHAT_APP_ID="wx0123456789abcdef", WECHAT_APP_SECRET="s" * 32, **keys)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "eco12369.wechat.E001" in output
    assert "WECHAT_TOKEN" in output and "WECHAT_ENCODING_AES_KEY" in output and "模拟器" in output
    assert "WECHAT_APP_SECRET" not in output  # it was set
    result = _check_deploy(
        tmp_path,
        WECHAT_APP_ID="wx0123456789abcdef",
        WECHAT_APP_SECRET="s" * 32,
        WECHAT_TOKEN="a-real-token",
        WECHAT_ENCODING_AES_KEY=secrets.token_hex(22)[:43],
        **keys,
    )
    assert result.returncode == 0, result.stdout + result.stderr
