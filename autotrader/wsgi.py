"""WSGI entry point (gunicorn autotrader.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "autotrader.settings")
application = get_wsgi_application()
