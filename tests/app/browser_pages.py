"""What every staff-app browser test shares: the skip rule, signing in, screenshots, page width.

The tests drive Debian's chromium (tests/browser.py); screenshots go to docs/screens/ when
`SCHOOLGATE_SCREENSHOTS` is set (to refresh the documentation) and to a temporary folder
otherwise, so an ordinary test run never rewrites tracked files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.browser import CHROMIUM

from .conftest import PASSWORD, TOTP_SECRET

DOC_SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
SCREENS = (
    DOC_SCREENS
    if os.environ.get("SCHOOLGATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "schoolgate-screens"
)

BROWSER_TESTS = [
    pytest.mark.slow,
    # CI installs chromium, so there a missing browser fails rather than skips.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"), reason="Debian chromium not installed"
    ),
]


def sign_in(page: Any, base: str, username: str, totp: bool = False) -> None:
    """Sign in through the login form; `totp` answers the second-factor step of admin roles."""
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    if totp:
        page.wait_for_selector("#id_code")
        page.fill("#id_code", pyotp.TOTP(TOTP_SECRET).now())
        page.click("main button[type=submit]")
        page.wait_for_selector("#notifications-link")


def shot(page: Any, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def fits(page: Any, width: int = 390) -> None:
    """The page does not spill sideways at `width` pixels (a phone is 390)."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll}px wide at {width}px"
