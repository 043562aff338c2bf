"""Settings of the test suite (pytest's ``DJANGO_SETTINGS_MODULE``, pyproject.toml; ./scripts/test).

Production settings (eco12369/settings.py) with what only a test run wants: fixed throwaway keys (set in
the environment, so the platform processes some tests start read what this process wrote), fast password
hashing, the lockout and TOTP off unless a test turns them on (the test client's ``login()`` passes no
request, which django-axes needs), static files from the apps, and Huey running tasks at once.
"""

from __future__ import annotations

import os

from eco12369.devkeys import TEST_AUDIT_KEY, TEST_FIELD_KEY, TEST_SECRET_KEY

# Test-only keys, never used anywhere else (check --deploy refuses them: eco12369/compliance/checks.py).
os.environ.setdefault("ECO_SECRET_KEY", TEST_SECRET_KEY)
os.environ.setdefault("ECO_FIELD_KEYS", TEST_FIELD_KEY)
os.environ.setdefault("ECO_AUDIT_KEYS", TEST_AUDIT_KEY)

from eco12369.settings import *  # noqa: F403
from eco12369.settings import HUEY, STORAGES, env, env_bool

# PBKDF2's deliberate slowness only slows the suite down.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_ENABLED = env_bool("ECO_AXES_ENABLED", False)
ECO_OTP_ENFORCE = env_bool("ECO_OTP_ENFORCE", False)
# Static files straight from the apps (no collectstatic needed).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True
HUEY = {**HUEY, "immediate": env_bool("ECO_HUEY_IMMEDIATE", True)} if "filename" in HUEY else HUEY
# One database per test but one scratch directory per run: anchors only where a test asks for them.
ECO_AUDIT_ANCHOR_FILE = env("ECO_AUDIT_ANCHOR_FILE")
