"""Admin roles reach nothing but the two-factor pages until they have passed TOTP (STM-305)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from schoolgate.app.people.signin import TWO_FACTOR_OK

Handler = Callable[[HttpRequest], HttpResponse]
_OPEN_PATHS = ("otp-enrol", "otp-verify", "logout", "login")


class TwoFactorMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self._open: set[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.needs_two_factor
            and not request.session.get(TWO_FACTOR_OK)
            and request.path not in self._open_paths()
            and not request.path.startswith("/api/")
        ):
            return redirect("otp-verify" if user.totp_confirmed else "otp-enrol")
        return self.get_response(request)

    def _open_paths(self) -> set[str]:
        if self._open is None:
            self._open = {reverse(name) for name in _OPEN_PATHS}
        return self._open
