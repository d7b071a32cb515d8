"""Django set-up for the staff application's tests only; the engine tests never load Django."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolgate.app.settings")
os.environ.setdefault("SCHOOLGATE_SECRET_KEY", "tests-only-secret-key-not-for-production-use-0123")
os.environ["SCHOOLGATE_POLICY"] = str(HERE / "policy.yaml")
os.environ.setdefault("SCHOOLGATE_SECURE_COOKIES", "0")
os.environ.setdefault("SCHOOLGATE_ALERT_TOKENS", "test-alert-token")
# The live server thread must not keep a connection open past the test database.
os.environ["SCHOOLGATE_DB_CONN_MAX_AGE"] = "0"

import django  # noqa: E402

django.setup()

import pytest  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.test import Client  # noqa: E402

from schoolgate.app.people.models import User  # noqa: E402
from schoolgate.app.people.signin import TWO_FACTOR_OK  # noqa: E402
from schoolgate.app.roles import ADMIN_ROLES, Role  # noqa: E402

PASSWORD = "correct-horse-battery-9"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_HASH: list[str] = []


def password_hash() -> str:
    if not _HASH:
        _HASH.append(make_password(PASSWORD))  # argon2, computed once for the whole run
    return _HASH[0]


def make_user(role: Role | str, username: str, **fields: object) -> User:
    role = Role(role)
    defaults: dict[str, object] = {
        "first_name": username.split("-")[0].title(),
        "last_name": f"{role.value.title()}son",
        "role": role.value,
        "password": password_hash(),
    }
    if role == Role.PUPIL:
        defaults |= {"year": "8", "registration_group": "8B"}
    if role in ADMIN_ROLES:
        defaults |= {"totp_secret": TOTP_SECRET, "totp_confirmed": True}
    return User.objects.create(username=username, **(defaults | fields))


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    if user.needs_two_factor:
        session = client.session
        session[TWO_FACTOR_OK] = True
        session.save()
    return client


@pytest.fixture
def people(db) -> dict[str, User]:
    """One user per role, plus a second pupil and a second teacher; the parent has pupil 1."""
    users = {role.value: make_user(role, f"{role.value}-1") for role in Role}
    users["pupil-2"] = make_user(Role.PUPIL, "pupil-2", year="10", registration_group="10C")
    users["teacher-2"] = make_user(Role.TEACHER, "teacher-2")
    users["parent"].children.add(users["pupil"])
    return users


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def browser():
    """Debian's chromium for the staff-app browser tests (one copy for all of them).

    Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    between pages are still plain synchronous calls, which Django must be told to allow."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
