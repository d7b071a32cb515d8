"""The monitor's end-to-end tests open cases in the staff app: Django is set up as for
tests/app (its conftest sets the environment and calls django.setup() on import)."""

from tests.app.conftest import _media, make_user, signed_in  # noqa: F401
