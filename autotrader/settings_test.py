"""Test settings: a fixed key, a memory cache, tasks run inline.

``DATABASE_URL`` and ``REDIS_URL`` still apply, so CI runs the same suite on
PostgreSQL and Redis.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-key-not-for-production")

from autotrader.settings import *  # noqa: F403
from autotrader.settings import Q_CLUSTER, REDIS_URL

if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405 - whitenoise warns when it is missing
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's shared in-memory database: the live server's request threads then get
    # connections of their own. On one shared connection, two threads deadlock as soon as one runs a
    # Python callback of the connection (the exact-decimal collation or sum) while the other holds
    # the GIL in a sqlite3 call waiting for the connection's mutex.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}  # noqa: F405
