"""Sign-in: argon2 hashes, lock-out after repeated failures, TOTP for admin roles (STM-305)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
from django.test import Client
from django.urls import reverse

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.people.models import User

from .conftest import PASSWORD, TOTP_SECRET, make_user


def _sign_in(client: Client, username: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_passwords_are_stored_with_argon2(db) -> None:
    user = make_user("teacher", "t-argon")
    user.set_password("a new password 42")
    user.save()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("a new password 42")


def test_teacher_signs_in_with_password_only(db) -> None:
    make_user("teacher", "t-one")
    client = Client()
    response = _sign_in(client, "t-one")
    assert response.status_code == 302
    assert client.get(reverse("case-list")).status_code == 200
    assert AuditEntry.objects.filter(action="login").count() == 1


def test_five_failures_lock_the_account_even_for_the_right_password(db, settings) -> None:
    settings.LOCKOUT_THRESHOLD = 5
    make_user("teacher", "t-lock")
    client = Client()
    for _ in range(4):
        assert b"Wrong username or password" in _sign_in(client, "t-lock", "nope").content
    assert b"locked" in _sign_in(client, "t-lock", "nope").content
    response = _sign_in(client, "t-lock")  # right password, but locked
    assert b"locked" in response.content
    assert client.get(reverse("case-list")).status_code == 302
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions.count("login.failed") == 5 and "login.refused-locked" in actions


def test_lock_expires(db, settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    user = make_user("teacher", "t-expired")
    user.locked_until = timezone.now() - timedelta(seconds=1)
    user.save()
    assert _sign_in(Client(), "t-expired").status_code == 302


def test_dsl_must_pass_totp_before_anything(db) -> None:
    make_user("dsl", "d-one")
    client = Client()
    assert _sign_in(client, "d-one").status_code == 302
    assert client.get(reverse("case-list"))["Location"] == reverse("otp-verify")
    bad = client.post(reverse("otp-verify"), {"code": "000000"})
    assert b"not right" in bad.content
    code = pyotp.TOTP(TOTP_SECRET).now()
    assert client.post(reverse("otp-verify"), {"code": code}).status_code == 302
    assert client.get(reverse("case-list")).status_code == 200


def test_a_totp_code_works_only_once(db) -> None:
    """STM-305: a code seen over a shoulder or phished must not open a second session."""
    make_user("dsl", "d-replay")
    code = pyotp.TOTP(TOTP_SECRET).now()
    first, second = Client(), Client()
    for client in (first, second):
        _sign_in(client, "d-replay")
    assert first.post(reverse("otp-verify"), {"code": code}).status_code == 302
    replay = second.post(reverse("otp-verify"), {"code": code})
    assert replay.status_code == 200 and b"not right" in replay.content
    assert second.get(reverse("case-list"))["Location"] == reverse("otp-verify")
    assert AuditEntry.objects.filter(action="two-factor.replayed").count() == 1


def test_an_older_code_is_refused_after_a_newer_one(db) -> None:
    make_user("dsl", "d-older")
    totp = pyotp.TOTP(TOTP_SECRET)
    now = datetime.now(UTC)
    client = Client()
    _sign_in(client, "d-older")
    assert client.post(reverse("otp-verify"), {"code": totp.at(now)}).status_code == 302
    other = Client()
    _sign_in(other, "d-older")
    previous = totp.at(now - timedelta(seconds=30))  # still inside the drift window
    assert b"not right" in other.post(reverse("otp-verify"), {"code": previous}).content


def test_new_admin_enrols_totp_first(db) -> None:
    make_user("network-manager", "n-new", totp_secret="", totp_confirmed=False)
    client = Client()
    _sign_in(client, "n-new")
    assert client.get(reverse("directory"))["Location"] == reverse("otp-enrol")
    page = client.get(reverse("otp-enrol"))
    assert b"<svg" in page.content
    secret = User.objects.get(username="n-new").totp_secret
    assert len(secret) >= 16
    client.post(reverse("otp-enrol"), {"code": pyotp.TOTP(secret).now()})
    assert User.objects.get(username="n-new").totp_confirmed
    assert client.get(reverse("directory")).status_code == 200


def test_totp_failures_count_towards_lock_out(db, settings) -> None:
    settings.LOCKOUT_THRESHOLD = 3
    make_user("dsl", "d-guess")
    client = Client()
    _sign_in(client, "d-guess")
    for _ in range(3):
        client.post(reverse("otp-verify"), {"code": "123456"})
    assert User.objects.get(username="d-guess").is_locked()
    assert client.get(reverse("case-list")).status_code == 302


def test_sign_in_page_and_cookies_are_protected(db, settings) -> None:
    client = Client(enforce_csrf_checks=True)
    make_user("teacher", "t-csrf")
    assert _sign_in(client, "t-csrf").status_code == 403  # no CSRF token
    assert client.get(reverse("login"))["X-Frame-Options"] == "DENY"
