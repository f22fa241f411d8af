"""Redis going away is an outage to report, not a bug: one definition of it for every view.

With ``REDIS_URL`` set, Django's cache and django-q2's broker live in Redis. When
it stops, every read through them raises redis-py's ``ConnectionError`` (or
``TimeoutError``). The health views check Redis up front and show what they can
without it; any other view that meets the outage answers 503 "Redis unavailable"
(``RedisUnavailableMiddleware``, and the API's exception handler in its error shape)
instead of a 500 per request for the whole outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis.exceptions
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse

from autotrader.logging import redact

log = logging.getLogger(__name__)

REDIS_ERRORS: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
REDIS_UNAVAILABLE = "Redis unavailable"
PING_KEY = "outage:ping"


def is_redis_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is Redis not answering."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, REDIS_ERRORS):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def redis_unavailable_message(exc: BaseException) -> str:
    """What a page or the API says: "Redis unavailable: <redis-py's reason>" (secrets scrubbed)."""
    return f"{REDIS_UNAVAILABLE}: {redact(str(exc))[:200]}"


def redis_problem() -> str:
    """ "" when the cache answers (Redis or not), else "Redis unavailable: …" (one read of the cache)."""
    try:
        cache.get(PING_KEY)
    except Exception as exc:
        if not is_redis_outage(exc):
            raise
        return redis_unavailable_message(exc)
    return ""


class RedisUnavailableMiddleware:
    """A view that fails because Redis is down answers 503 saying so (JSON under /api/), not 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_redis_outage(exception):
            return None
        message = redis_unavailable_message(exception)
        log.warning("%s %s: %s", request.method, request.path, message)
        if request.path.startswith("/api/"):
            return JsonResponse({"message": message, "extra": {"redis": "unavailable"}}, status=503)
        return HttpResponse(
            f"<!doctype html><title>{REDIS_UNAVAILABLE}</title><h1>{REDIS_UNAVAILABLE}</h1>"
            "<p>The cache and the task queue are down; this page comes back when Redis does.</p>",
            status=503,
            headers={"Retry-After": "5"},
        )
