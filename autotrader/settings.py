"""Settings for autotrader, all read from the environment.

Every variable is listed in docs/configuration.md. The embedded defaults run one person's
system on one machine: SQLite, the database cache, django-q2's ORM broker,
paper trading on the simulated market. ``DATABASE_URL`` and ``REDIS_URL`` move
it onto PostgreSQL and Redis with nothing else changed.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from autotrader.env import (
    env_bool,
    env_choice,
    env_decimal,
    env_float,
    env_int,
    env_secret,
    env_str,
    live_market_problem,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")))
LOG_DIR = Path(env_str("LOG_DIR", str(BASE_DIR / "logs")))


def _secret_key() -> str:
    key = env_secret("DJANGO_SECRET_KEY")
    if key:
        return key
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Set it (or DJANGO_SECRET_KEY_FILE), or run "
        "./scripts/start.sh once, which writes a random key to data/secret_key."
    )


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env_str("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env_str("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "django_htmx",
    "axes",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "market",
    "bots",
    "trading",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "autotrader.outage.RedisUnavailableMiddleware",
    # Every view needs an active staff user unless marked login_not_required (autotrader/access.py).
    "autotrader.access.StaffRequiredMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "autotrader.urls"
WSGI_APPLICATION = "autotrader.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trading.context_processors.trading_mode",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web, worker and runner processes read while one writes;
    # IMMEDIATE transactions take the write lock up front instead of failing
    # halfway through on "database is locked". Connections are kept between requests as
    # on PostgreSQL (conn_max_age above): opening one costs each dashboard poll a file open
    # and the pragmas.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and task broker ------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "autotrader",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "autotrader_cache",
            "KEY_PREFIX": "autotrader",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }

Q_CLUSTER = {
    "name": "autotrader",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # A task may run twice (at-least-once delivery): retry is kept well above
    # timeout so a slow task is not re-run while it is still going.
    "timeout": 60,
    "retry": 180,
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 500,
    "label": "Task queue",
}
# The task queue is stuck when tasks have waited this long and no worker has taken one
# for as long: the health views say so and ``runworkers`` replaces its cluster. Keep it
# above the task timeout (60 s), so that workers busy with long tasks are not taken for stuck.
Q_STUCK_SECONDS = env_float("Q_STUCK_SECONDS", 90.0, minimum=1.0)
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth, i18n, static ---------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username
# from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES (0: until an admin
# unlocks it in the admin or with `manage.py axes_reset`). Attempts and lockouts are in the
# admin under "Axes". The admin's login page is the dashboard's, and the only place a password
# is entered (API tokens are not passwords). Keyed on username and address together, so an
# attacker cannot lock the owner out from elsewhere.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
_lockout_minutes = env_float("LOGIN_LOCKOUT_MINUTES", 15.0, minimum=0.0)
AXES_COOLOFF_TIME = timedelta(minutes=_lockout_minutes) if _lockout_minutes else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_TEMPLATE = "locked_out.html"
# Behind a reverse proxy every request comes from the proxy: DJANGO_PROXY_COUNT says how many
# proxies in front of gunicorn append to X-Forwarded-For, so the caller's own address is found
# (autotrader.access.client_ip). 0: REMOTE_ADDR as it is.
DJANGO_PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "autotrader.access.client_ip"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# A login lasts a working day, not Django's two weeks: after that the dashboard asks again.
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 12 * 3600, minimum=60)

# --- HTTPS (usually behind a TLS-terminating reverse proxy) ---------------------------
# docs/running-beyond-localhost.md explains each variable. DJANGO_HTTPS says browsers reach the
# site over HTTPS: cookies are sent over HTTPS only, plain HTTP is redirected (the liveness probe
# excepted, so a local health check keeps working), and HSTS tells browsers to stay on HTTPS.
HTTPS = env_bool("DJANGO_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)


def _proxy_ssl_header(raw: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto`` (or ``X-Forwarded-Proto: https``) as Django's ("HTTP_X_FORWARDED_PROTO", "https")."""
    if not raw.strip():
        return None
    name, _, value = raw.partition(":")
    name, value = name.strip(), value.strip() or "https"
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        raise ImproperlyConfigured(
            f"DJANGO_SECURE_PROXY_SSL_HEADER must be a header name such as X-Forwarded-Proto, got {raw!r}"
        )
    return "HTTP_" + name.upper().replace("-", "_"), value


# The header a TLS proxy sets to say the browser used HTTPS. Only set it when the proxy
# overwrites that header on every request: a client could otherwise claim HTTPS itself.
SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env_str("DJANGO_SECURE_PROXY_SSL_HEADER", ""))
# W021 asks for HSTS preload, which only the owner of an apex domain can request from the
# browsers' built-in list and which is hard to undo: left off unless DJANGO_SECURE_HSTS_PRELOAD says so.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# --- Content-Security-Policy (django-csp) ----------------------------------------------
# Everything the pages load comes from this host; no inline script, no inline style, no eval
# (htmx's are switched off in templates/base.html; positions are classes, positions.css).
# Swagger UI runs under it unchanged; ReDoc gets a few additions on its page only (autotrader/api/urls.py).
# The one inline style allowed, by its hash: the rules of the attribution logo that the vendored
# chart library adds at run time (a test checks the hash against static/vendor/lightweight-charts).
CHART_LOGO_STYLE = "'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, CHART_LOGO_STYLE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "autotrader API",
    "DESCRIPTION": "Bots, signals, market data, orders and positions of a self-hosted autotrader.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Trading --------------------------------------------------------------
TRADING_MODE = env_choice("TRADING_MODE", "paper", ("paper", "live"))
MARKET_DATA = env_choice("MARKET_DATA", "simulated", ("simulated", "coinbase"))
EVALUATION_INTERVAL_SECONDS = env_float("EVALUATION_INTERVAL_SECONDS", 10.0, minimum=0.1)
# inline: the ticker evaluates every bot itself; queue: it enqueues tasks of
# EVALUATION_BATCH_SIZE bots and qcluster workers (on any hosts) evaluate them.
EVALUATION_DISPATCH = env_choice("EVALUATION_DISPATCH", "inline", ("inline", "queue"))
# Bots per evaluation task in queue mode: one task reads its bots' rows at once.
EVALUATION_BATCH_SIZE = env_int("EVALUATION_BATCH_SIZE", 25, minimum=1)
MARKET_DATA_TTL_SECONDS = env_float("MARKET_DATA_TTL_SECONDS", 30.0, minimum=0.0)
# Coinbase allows about 10 public requests/s per IP: stay below it.
MARKET_TICKER_TTL_SECONDS = env_float("MARKET_TICKER_TTL_SECONDS", 15.0, minimum=0.0)
COINBASE_WS_URL = env_str("COINBASE_WS_URL", "wss://advanced-trade-ws.coinbase.com")
MARKET_DATA_RATE_LIMIT = env_int("MARKET_DATA_RATE_LIMIT", 8, minimum=1)
BACKOFF_BASE_SECONDS = env_float("BACKOFF_BASE_SECONDS", 1.0, minimum=0.0)
BACKOFF_MAX_SECONDS = env_float("BACKOFF_MAX_SECONDS", 120.0, minimum=0.0)
PAPER_FEE_RATE = env_decimal("PAPER_FEE_RATE", "0.006")
PAPER_SLIPPAGE_RATE = env_decimal("PAPER_SLIPPAGE_RATE", "0.0005")
PAPER_STARTING_USD = env_decimal("PAPER_STARTING_USD", "1000")
SIM_SEED = env_int("SIM_SEED", 7)
SIM_SPEED = env_float("SIM_SPEED", 60.0, minimum=0.0)
SIM_CSV = env_str("SIM_CSV", "")
SIM_CSV_PRODUCT = env_str("SIM_CSV_PRODUCT", "BTC-USD").upper()
SIM_CSV_GRANULARITY = env_str("SIM_CSV_GRANULARITY", "5m")
SIM_HISTORY_DAYS = env_int("SIM_HISTORY_DAYS", 14, minimum=1)
# How many pairs the simulated market lists, from a catalog of twenty (load tests use them all).
SIM_PAIRS = env_int("SIM_PAIRS", 9, minimum=1)
if SIM_PAIRS > 20:
    raise ImproperlyConfigured(f"SIM_PAIRS must be at most 20 (the simulated catalog's size), got {SIM_PAIRS}")
MAX_CONSECUTIVE_FAILURES = env_int("MAX_CONSECUTIVE_FAILURES", 3, minimum=1)
STALE_CONFIRMATION_MINUTES = env_int("STALE_CONFIRMATION_MINUTES", 60, minimum=1)
RUNNER_LEASE_SECONDS = env_float("RUNNER_LEASE_SECONDS", 60.0, minimum=1.0)
if _live_problem := live_market_problem(TRADING_MODE, MARKET_DATA):
    raise ImproperlyConfigured(_live_problem)

for _name, _value in (("PAPER_FEE_RATE", PAPER_FEE_RATE), ("PAPER_SLIPPAGE_RATE", PAPER_SLIPPAGE_RATE)):
    if not 0 <= _value < 1:
        raise ImproperlyConfigured(f"{_name} must be a fraction between 0 and 1, got {_value}")

# --- Coinbase -------------------------------------------------------------
# Credentials: the COINBASE_API_KEY/COINBASE_API_SECRET pair or a CDP key file,
# never both; market.coinbase.credentials checks them when the adapter is built.
COINBASE_API_KEY = env_str("COINBASE_API_KEY", "").strip()
COINBASE_API_SECRET = env_str("COINBASE_API_SECRET", "")
COINBASE_KEY_FILE = env_str("COINBASE_KEY_FILE", "").strip()
COINBASE_BASE_URL = env_str("COINBASE_BASE_URL", "api.coinbase.com").strip().removeprefix("https://").rstrip("/")
COINBASE_CA_BUNDLE = env_str("COINBASE_CA_BUNDLE", "").strip()
COINBASE_TIMEOUT_SECONDS = env_float("COINBASE_TIMEOUT_SECONDS", 10.0, minimum=0.1)
if not COINBASE_BASE_URL or "://" in COINBASE_BASE_URL or "/" in COINBASE_BASE_URL:
    raise ImproperlyConfigured(
        f"COINBASE_BASE_URL must be a host[:port] such as api.coinbase.com (HTTPS is implied), "
        f"got {COINBASE_BASE_URL!r}"
    )
if COINBASE_CA_BUNDLE and not Path(COINBASE_CA_BUNDLE).is_file():
    raise ImproperlyConfigured(f"COINBASE_CA_BUNDLE {COINBASE_CA_BUNDLE!r} is not a file")

# --- Logging --------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "autotrader.logging.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},  # not a line at every start of every command
    },
}
