"""Django settings for the Schoolgate staff application.

Everything a deployment changes comes from the environment:

- `SCHOOLGATE_POLICY`: the school's policy file (default `policies/st-thomas-more.yaml`).
- `SCHOOLGATE_DATABASE`: `sqlite` (default, `var/schoolgate.sqlite3`) or `postgres`
  (`SCHOOLGATE_DB_HOST`, `SCHOOLGATE_DB_PORT`, `SCHOOLGATE_DB_USER`, `SCHOOLGATE_DB_NAME`).
- `SCHOOLGATE_SECRET_KEY`: the signing key; without it one is made once and kept in `var/`.
- `SCHOOLGATE_ALERT_TOKENS`: comma-separated bearer tokens for the alert-to-case endpoint.
- `SCHOOLGATE_SECURE_COOKIES`: `1` (default) marks session and CSRF cookies Secure, so they are
  only sent over HTTPS; set `0` only for a local HTTP demo.
- `SCHOOLGATE_DEBUG`, `SCHOOLGATE_ALLOWED_HOSTS`, `SCHOOLGATE_MEDIA`.
- The console: `SCHOOLGATE_GATEWAY_STATE` (the gateway's state folder, default `var/gateway`),
  `SCHOOLGATE_BINDINGS_FILE`, `SCHOOLGATE_SNAPSHOT` (`var/snapshot.sgs`), `SCHOOLGATE_EVENTS`
  (the event store URL, default `sqlite:///var/events.sqlite3`).
- The filtering self-test: `SCHOOLGATE_GATEWAY_DNS` and `SCHOOLGATE_GATEWAY_PROXY` (host:port of
  the running resolver and proxy), `SCHOOLGATE_SELFTEST_AS` (`group=address,...`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
VAR = Path(os.environ.get("SCHOOLGATE_VAR", REPO / "var"))


def _secret_key() -> str:
    if key := os.environ.get("SCHOOLGATE_SECRET_KEY"):
        return key
    path = VAR / "secret_key"
    if not path.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).lower() in {"1", "true", "yes", "on"}


def _databases() -> dict[str, dict[str, object]]:
    if os.environ.get("SCHOOLGATE_DATABASE", "sqlite") == "postgres":
        return {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "HOST": os.environ.get("SCHOOLGATE_DB_HOST", "127.0.0.1"),
                "PORT": os.environ.get("SCHOOLGATE_DB_PORT", "5432"),
                "USER": os.environ.get("SCHOOLGATE_DB_USER", "postgres"),
                "PASSWORD": os.environ.get("SCHOOLGATE_DB_PASSWORD", ""),
                "NAME": os.environ.get("SCHOOLGATE_DB_NAME", "schoolgate"),
                "CONN_MAX_AGE": int(os.environ.get("SCHOOLGATE_DB_CONN_MAX_AGE", "60")),
                "TEST": {"NAME": os.environ.get("SCHOOLGATE_TEST_DB_NAME", "test_schoolgate")},
            }
        }
    VAR.mkdir(parents=True, exist_ok=True)
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SCHOOLGATE_SQLITE", str(VAR / "schoolgate.sqlite3")),
            # IMMEDIATE: the audit hash chain reads the last entry and appends in one transaction.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }


SECRET_KEY = _secret_key()
DEBUG = _flag("SCHOOLGATE_DEBUG", "0")
ALLOWED_HOSTS = os.environ.get("SCHOOLGATE_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "schoolgate.app.audit",
    "schoolgate.app.people",
    "schoolgate.app.cases",
    "schoolgate.app.agreements",
    "schoolgate.app.alerts",
    "schoolgate.app.console",
    "schoolgate.app.concerns",
    "schoolgate.app.governance",
    "schoolgate.app.reviews",
    "schoolgate.app.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "schoolgate.app.people.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "schoolgate.app.urls"
WSGI_APPLICATION = "schoolgate.app.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [REPO / "src" / "schoolgate" / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "schoolgate.app.access.navigation",
                "schoolgate.app.concerns.notifications.unread",
            ]
        },
    }
]

DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "people.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"

# Sessions and cookies: Secure + HttpOnly + SameSite=Lax, sessions end with the browser and
# after eight idle hours (a school day).
SESSION_COOKIE_SECURE = _flag("SCHOOLGATE_SECURE_COOKIES", "1")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = 8 * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"  # no static files: the CSS is inline
MEDIA_ROOT = Path(os.environ.get("SCHOOLGATE_MEDIA", VAR / "media"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

SCHOOLGATE_POLICY = Path(
    os.environ.get("SCHOOLGATE_POLICY", REPO / "policies" / "st-thomas-more.yaml")
)
# Issue 11: where the app publishes complete agreements for the gateway (its state folder).
SCHOOLGATE_AGREEMENT_STATE = Path(
    os.environ.get("SCHOOLGATE_AGREEMENT_STATE", VAR / "gateway" / "agreement-state.json")
)
SCHOOLGATE_ALERT_TOKENS = [
    t for t in os.environ.get("SCHOOLGATE_ALERT_TOKENS", "").split(",") if t.strip()
]
LOCKOUT_THRESHOLD = int(os.environ.get("SCHOOLGATE_LOCKOUT_THRESHOLD", "5"))
LOCKOUT_MINUTES = int(os.environ.get("SCHOOLGATE_LOCKOUT_MINUTES", "15"))
CASES_PER_PAGE = 50
# The network manager's console: where the running gateway keeps its state (docs/console.md).
SCHOOLGATE_GATEWAY_STATE = Path(os.environ.get("SCHOOLGATE_GATEWAY_STATE", VAR / "gateway"))
SCHOOLGATE_BINDINGS_FILE = Path(
    os.environ.get("SCHOOLGATE_BINDINGS_FILE", SCHOOLGATE_GATEWAY_STATE / "bindings.json")
)
SCHOOLGATE_SNAPSHOT = Path(os.environ.get("SCHOOLGATE_SNAPSHOT", VAR / "snapshot.sgs"))
# The filtering self-test (reviews): the running gateway's resolver and proxy, and which address
# asks for which group ("pupils=10.20.0.1,staff=10.30.0.1"; devices in the bindings file too).
SCHOOLGATE_GATEWAY_DNS = os.environ.get("SCHOOLGATE_GATEWAY_DNS", "127.0.0.1:5353")
SCHOOLGATE_GATEWAY_PROXY = os.environ.get("SCHOOLGATE_GATEWAY_PROXY", "127.0.0.1:3128")
SCHOOLGATE_SELFTEST_AS = os.environ.get("SCHOOLGATE_SELFTEST_AS", "")
SCHOOLGATE_EVENTS = os.environ.get("SCHOOLGATE_EVENTS", f"sqlite:///{VAR / 'events.sqlite3'}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
