"""Sign-in: password (argon2), lock-out after repeated failures, TOTP for admin roles."""

from __future__ import annotations

import hmac

import pyotp
import segno
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from schoolgate.app.access import public
from schoolgate.app.audit.trail import record
from schoolgate.app.roles import Role

TWO_FACTOR_OK = "two_factor_ok"
LOCKED_MESSAGE = "This account is locked after repeated failed sign-ins. Try again after {until}."


def _lock_settings() -> tuple[int, int]:
    return settings.LOCKOUT_THRESHOLD, settings.LOCKOUT_MINUTES


@public
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        error, user = _check_password(request, username, password)
        if user is not None:
            login(request, user)
            record(user, "login", user, request=request)
            return redirect(_next_url(request))
    return render(request, "app/login.html", {"error": error, "next": request.GET.get("next", "")})


def _check_password(request: HttpRequest, username: str, password: str):
    user_model = get_user_model()
    account = user_model.objects.filter(username__iexact=username).first()
    if account is not None and account.is_locked():
        record(account, "login.refused-locked", account, request=request)
        return LOCKED_MESSAGE.format(until=f"{account.locked_until:%H:%M} UTC"), None
    user = authenticate(
        request, username=account.username if account else username, password=password
    )
    if user is None:
        if account is not None:
            locked = account.note_failed_login(*_lock_settings())
            record(account, "login.failed", account, {"locked": locked}, request=request)
            if locked:
                return LOCKED_MESSAGE.format(until=f"{account.locked_until:%H:%M} UTC"), None
        else:
            record(None, "login.failed", None, {"username": username[:150]}, request=request)
        return "Wrong username or password.", None
    user.note_good_login()
    return "", user


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return "home"


@public
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        record(request.user, "logout", request.user, request=request)
    logout(request)
    return redirect("login")


@public
@require_http_methods(["GET", "POST"])
def enrol_two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if user.totp_confirmed:
        return redirect("otp-verify")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.save(update_fields=["totp_secret"])
    error = ""
    if request.method == "POST":
        if _code_is_good(request, user):
            user.totp_confirmed = True
            user.save(update_fields=["totp_confirmed"])
            request.session[TWO_FACTOR_OK] = True
            record(user, "two-factor.enrolled", user, request=request)
            return redirect("home")
        error = "That code is not right; check the clock on your phone and try again."
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.username, issuer_name="Schoolgate"
    )
    qr = segno.make(uri).svg_inline(scale=4)
    return render(
        request, "app/otp_enrol.html", {"qr": qr, "secret": user.totp_secret, "error": error}
    )


@public
@require_http_methods(["GET", "POST"])
def verify_two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if not user.totp_confirmed:
        return redirect("otp-enrol")
    error = ""
    if request.method == "POST":
        if _code_is_good(request, user):
            request.session[TWO_FACTOR_OK] = True
            record(user, "two-factor.verified", user, request=request)
            return redirect(_next_url(request))
        if user.is_locked():
            logout(request)
            return redirect("login")
        error = "That code is not right."
    return render(request, "app/otp_verify.html", {"error": error})


def _code_is_good(request: HttpRequest, user) -> bool:
    code = request.POST.get("code", "").replace(" ", "")
    step = matching_step(user.totp_secret, code)
    if step is not None and _claim_step(user, step):
        user.note_good_login()
        return True
    locked = user.note_failed_login(*_lock_settings())
    reason = "replayed" if step is not None else "failed"
    record(user, f"two-factor.{reason}", user, {"locked": locked}, request=request)
    return False


def matching_step(secret: str, code: str, window: int = 1) -> int | None:
    """The time step (now ± `window` steps, for phone clock drift) whose code is `code`."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(timezone.now())
    for step in range(now - window, now + window + 1):
        if len(code) == totp.digits and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user, step: int) -> bool:
    """Record `step` as used unless it or a later one already was: a code works once, even
    when two requests race with it (the conditional UPDATE lets only one of them win)."""
    fresh = Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step)
    won = get_user_model().objects.filter(fresh, pk=user.pk).update(totp_last_step=step) == 1
    if won:
        user.totp_last_step = step
    return won


_HOME_BY_ROLE = {
    Role.DSL: "my-work",  # issue 13: alerts, tasks, reviews to confirm
    Role.DEPUTY_DSL: "my-work",
    Role.COORDINATOR: "case-list",
    Role.TEACHER: "case-list",
    Role.NETWORK_MANAGER: "console-dashboard",
    Role.GOVERNOR: "governor-report",
    Role.PARENT: "parent-home",
}


@public
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect(_HOME_BY_ROLE.get(request.user.role, "report"))
