"""Settings for eco12369.

Everything that differs between a laptop and production comes from the environment
(a ``.env`` file in the project root is read in development). With nothing set the
project runs on SQLite, Huey's SQLite storage and the bundled WeChat simulator.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from eco12369.devkeys import DEV_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parent.parent


def _read_dotenv(path: Path) -> None:
    if not path.is_file():
        return
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


_read_dotenv(BASE_DIR / ".env")


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("ECO_DEBUG", False)
VAR_DIR = Path(env("ECO_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# No built-in secrets outside DEBUG: a production start without its own keys stops here (./scripts/demo
# generates the demo's keys into var/ on its first run). ``check --deploy`` refuses known values
# (eco12369/compliance/checks.py). The test suite's settings are eco12369/settings_test.py.
SECRET_KEY = env("ECO_SECRET_KEY") or (DEV_SECRET_KEY if DEBUG else "")
_MISSING_SECRETS = [name for name in ("ECO_SECRET_KEY", "ECO_FIELD_KEYS", "ECO_AUDIT_KEYS") if not env(name)]
if _MISSING_SECRETS and not DEBUG:
    raise ImproperlyConfigured(
        f"缺少密钥 {', '.join(_MISSING_SECRETS)}：生产环境必须设置自己的 ECO_SECRET_KEY、字段加密密钥 "
        "ECO_FIELD_KEYS 和审计密钥 ECO_AUDIT_KEYS（生成方法见 docs/deploy.md）；开发时可设 ECO_DEBUG=1。 / "
        f"Missing {', '.join(_MISSING_SECRETS)}: a non-debug start needs its own ECO_SECRET_KEY, a separate "
        "field-encryption key ECO_FIELD_KEYS and an audit key ECO_AUDIT_KEYS (see docs/deploy.md); "
        "set ECO_DEBUG=1 for development."
    )
ALLOWED_HOSTS = [h for h in env("ECO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("ECO_CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # its Swagger UI files, served locally: /open311/v2/docs works on an intranet (issue 12, D18)
    "huey.contrib.djhuey",
    "eco12369.orgs",
    "eco12369.cases",
    "eco12369.notifications",
    "eco12369.wechat",
    "eco12369.portal",
    "eco12369.workbench",
    "eco12369.oversight",
    "eco12369.stats",
    "eco12369.audit",
    "eco12369.open311",
    "eco12369.hotline",
    "eco12369.followup",
    "eco12369.compliance",
    "eco12369.accounts",
    "eco12369.demo",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "eco12369.compliance.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "eco12369.middleware.Utf8InputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "eco12369.audit.middleware.AuditRequestMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "eco12369.accounts.middleware.OtpRequiredMiddleware",
    "eco12369.dbrouting.ReplicaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "eco12369.errors.RefusedMiddleware",
]

ROOT_URLCONF = "eco12369.urls"
WSGI_APPLICATION = "eco12369.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "eco12369" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "eco12369.workbench.context_processors.workbench",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(env("ECO_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # The cases' deadline indexes carry columns with ``INCLUDE`` for PostgreSQL's index-only scans; SQLite
    # (the demo) builds them on their keys alone, which is all it needs. Said once here, not at every migrate.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif env("ECO_TEST_DB_NAME"):
    # scripts/test names the test database per run, so concurrent runs on one server do not clash.
    DATABASES["default"]["TEST"] = {"NAME": env("ECO_TEST_DB_NAME")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT (on by default) compiles any large aggregate before running it: seconds for the
    # monthly figures, which run in a fraction of that without it (bench/run.py, docs/scale.md). The
    # platform's queries are short; JIT pays off only for long analytic ones. ECO_PG_JIT=on keeps it.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c jit={env('ECO_PG_JIT', 'off')}"

if env("DATABASE_REPLICA_URL"):
    # A read replica (PostgreSQL streaming replication; scripts/replica makes one on 127.0.0.1:5433) for
    # reports, dashboards, search and exports: see eco12369/dbrouting.py. A replica that does not answer
    # within 2 seconds, or whose replay is more than ECO_REPLICA_MAX_LAG seconds behind, is not used (the
    # reads go to the primary) until the next check, ECO_REPLICA_CHECK_SECONDS later. In tests the replica
    # reads the test database, which streaming replication copies from the primary (TEST MIRROR).
    DATABASES["replica"] = {
        **DATABASES["default"],
        **dj_database_url.parse(
            env("DATABASE_REPLICA_URL"), conn_max_age=int(env("ECO_DB_CONN_MAX_AGE", "0"))
        ),
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {}), "connect_timeout": 2},
        "TEST": {"MIRROR": "default"},
    }
ECO_REPLICA_MAX_LAG = float(env("ECO_REPLICA_MAX_LAG", "10"))
ECO_REPLICA_CHECK_SECONDS = float(env("ECO_REPLICA_CHECK_SECONDS", "2"))
DATABASE_ROUTERS = ["eco12369.dbrouting.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "workbench:login"
LOGIN_REDIRECT_URL = "workbench:home"
LOGOUT_REDIRECT_URL = "workbench:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "eco12369.accounts.validators.ComplexityValidator"},
]

# --- Sign-in security (MLPS 2.0 level 3): lockout after repeated failures, TOTP for sensitive roles.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# ./scripts/demo turns TOTP off so every demo login works without a phone (the test suite turns both off
# by default: eco12369/settings_test.py).
AXES_ENABLED = env_bool("ECO_AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(env("ECO_LOGIN_FAILURE_LIMIT", "5"))
# Keyless Open311 reads per client and minute (issue 11, M4); over it the answer is 429.
OPEN311_ANONYMOUS_READS_PER_MINUTE = int(env("ECO_OPEN311_READS_PER_MINUTE", "60"))
AXES_COOLOFF_TIME = float(env("ECO_LOGIN_COOLOFF_HOURS", "0.5"))
# Each on its own: a username is locked wherever the attempts came from, and so is the client that made
# them; another user from another client still signs in. The client's address comes through the trusted
# proxies (eco12369/clientip.py), never the proxy's own address, which would lock everyone out at once.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "eco12369.clientip.client_ip"
# The reverse proxies whose X-Forwarded-For is believed: a hop count ("1" for the nginx of docs/deploy.md)
# or a list of networks ("127.0.0.1/32,10.0.0.0/8"). Empty: no proxy, REMOTE_ADDR is the client.
ECO_TRUSTED_PROXIES = env("ECO_TRUSTED_PROXIES")
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "eco12369.accounts.views.locked_out"
AXES_VERBOSE = False
ECO_OTP_ENFORCE = env_bool("ECO_OTP_ENFORCE", True)
OTP_TOTP_ISSUER = "12369环保举报平台"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "eco12369" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("ECO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "eco12369" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# DEBUG serves static files straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG
# Uploads (report photos) live outside the web root and are served only through an authorised view.
MEDIA_ROOT = Path(env("ECO_MEDIA_ROOT", str(VAR_DIR / "uploads")))
MEDIA_URL = "/media-not-served/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Idle timeout: the session ends after 30 minutes without a request (each request renews it).
SESSION_COOKIE_AGE = int(env("ECO_SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy and Permissions-Policy: eco12369/compliance/middleware.py.

if env_bool("ECO_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("ECO_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env("ECO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Background work (Huey). The outbox table is the source of truth; Huey only moves it along.
REDIS_URL = env("REDIS_URL")
HUEY: dict[str, object]
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "results": False,  # our tasks return nothing; stored results would only pile up in Redis
        "name": env("ECO_HUEY_NAME", "eco12369"),
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": int(env("ECO_HUEY_WORKERS", "2")), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "results": False,
        "name": "eco12369",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": env_bool("ECO_HUEY_IMMEDIATE", False),
        "consumer": {"workers": int(env("ECO_HUEY_WORKERS", "2")), "worker_type": "thread"},
    }

# --- The platform's own rules.
ECO: dict[str, Any] = {
    # Case numbers look like TJ20261125000123: prefix + date + six-digit daily sequence.
    "CASE_NUMBER_PREFIX": env("ECO_CASE_NUMBER_PREFIX", "TJ"),
    "CITY_NAME": env("ECO_CITY_NAME", "天津市"),
    "CONFIRM_WORKING_DAYS": 2,  # Art. 7
    "CLOSE_DAYS": 60,  # Art. 12
    "MAX_EXTENSION_DAYS": 30,  # Art. 12
    "DUE_SOON_FRACTION": float(env("ECO_DUE_SOON_FRACTION", "0.2")),
}

# --- WeChat official account. Unset: the bundled simulator is used, with these well-known credentials
# (a real WECHAT_APP_ID with any of them is refused by ``check --deploy``: eco12369/wechat/checks.py).
WECHAT_SIMULATOR_CREDENTIALS = {
    "APP_ID": "wx12369simulator",
    "APP_SECRET": "simulator-secret",
    "TOKEN": "eco12369token",
    "ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}
WECHAT: dict[str, Any] = {
    **{key: env(f"WECHAT_{key}", default) for key, default in WECHAT_SIMULATOR_CREDENTIALS.items()},
    "PREVIOUS_ENCODING_AES_KEY": env("WECHAT_PREVIOUS_ENCODING_AES_KEY"),
    # The account's message mode (safe | compat | plain): safe and compat refuse unencrypted messages.
    "MESSAGE_MODE": env("WECHAT_MESSAGE_MODE", "safe"),
    # With a real AppID the real servers are the default; without one, the simulator (manage.py wechat_simulator).
    "API_BASE_URL": env(
        "WECHAT_API_BASE_URL",
        "https://api.weixin.qq.com/" if env("WECHAT_APP_ID") else "http://127.0.0.1:8001/",
    ),
    "OAUTH_BASE_URL": env(
        "WECHAT_OAUTH_BASE_URL",
        "https://open.weixin.qq.com/" if env("WECHAT_APP_ID") else "http://127.0.0.1:8001/",
    ),
    # Where reporters reach the H5 pages (menu links), the subscription-notice template, delivery tuning.
    "SITE_URL": env("ECO_SITE_URL", "http://127.0.0.1:8000/"),
    "SUBSCRIBE_TEMPLATE_ID": env("WECHAT_SUBSCRIBE_TEMPLATE_ID", "sim-case-progress"),
    "DELIVERY_LEASE_SECONDS": int(env("WECHAT_DELIVERY_LEASE_SECONDS", "120")),
    "DELIVERY_RETRY_SECONDS": int(env("WECHAT_DELIVERY_RETRY_SECONDS", "30")),
    "DELIVERY_MAX_ATTEMPTS": int(env("WECHAT_DELIVERY_MAX_ATTEMPTS", "8")),
}

# Staff e-mail (the daily notification digest, workbench.alerts.digest_send): SMTP when ECO_EMAIL_HOST is set,
# else the console backend (the demo prints the digest to the server's log).
EMAIL_HOST = env("ECO_EMAIL_HOST")
EMAIL_BACKEND = env(
    "ECO_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(env("ECO_EMAIL_PORT", "465" if env_bool("ECO_EMAIL_USE_SSL", False) else "25"))
EMAIL_HOST_USER = env("ECO_EMAIL_USER")
EMAIL_HOST_PASSWORD = env("ECO_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("ECO_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("ECO_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(env("ECO_EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = env("ECO_EMAIL_FROM", "12369-noreply@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("ECO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Audit chain (eco12369/audit/services.py). Keys: "<id>:<secret>" pairs, newest first, never in the
# database; the MAC: hmac-sm3 (default) or hmac-sha256. Entries written before the chain had a key: the
# first ECO_AUDIT_LEGACY_ENTRIES of the chain (0 for a new deployment).
ECO_AUDIT_KEYS = env("ECO_AUDIT_KEYS")
ECO_AUDIT_MAC = env("ECO_AUDIT_MAC", "hmac-sm3")
ECO_AUDIT_LEGACY_ENTRIES = int(env("ECO_AUDIT_LEGACY_ENTRIES", "0"))
# The audit trail is ECO_AUDIT_STREAMS chains (docs/audit.md): an entry goes to the chain its object's hash
# picks, so transitions on different cases do not wait on one row lock. Changing it later is safe.
ECO_AUDIT_STREAMS = int(env("ECO_AUDIT_STREAMS", "16"))

# bench/ only (docs/scale.md): mounts /bench/ping/ and /bench/callback-reference/, the ceilings the WeChat
# callback is measured against. Off in production (check --deploy warns when it is on).
ECO_BENCH = env_bool("ECO_BENCH", False)
# Anchors: the chain's count and head, appended at least every minute while entries are written and at
# every verification; every verification checks the chain still holds them. Production keeps the file off
# the database's host (an append-only mount or a shipped log): check --deploy warns while it is unset.
ECO_AUDIT_ANCHOR_FILE_SET = bool(env("ECO_AUDIT_ANCHOR_FILE"))
ECO_AUDIT_ANCHOR_FILE = env("ECO_AUDIT_ANCHOR_FILE") or str(VAR_DIR / "audit-anchors.log")

# --- Reporter identity encryption (eco12369/crypto.py). Required outside DEBUG (see SECRET_KEY above).
ECO_FIELD_KEYS = env("ECO_FIELD_KEYS")
ECO_INDEX_KEY = env("ECO_INDEX_KEY")

# --- Retention of reporter data after closing (eco12369/compliance/retention.py; issue #7). Per-outcome
# overrides as "duplicate:365,answered:730" (outcomes: handled, answered, handed_over, duplicate).
ECO_RETENTION_DAYS = int(env("ECO_RETENTION_DAYS", "1095"))
# WeChat chat that never became a case (drafts given up, questions, status queries): kept this many days.
ECO_CHAT_RETENTION_DAYS = int(env("ECO_CHAT_RETENTION_DAYS", "90"))
ECO_RETENTION_DAYS_BY_OUTCOME: dict[str, int] = {
    name.strip(): int(days)
    for name, _, days in (
        part.partition(":") for part in env("ECO_RETENTION_DAYS_BY_OUTCOME").split(",") if part.strip()
    )
}
