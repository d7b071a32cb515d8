"""WSGI entry point: `gunicorn schoolgate.app.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolgate.app.settings")
application = get_wsgi_application()
