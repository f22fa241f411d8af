"""One error shape for the whole API: ``{"message": ..., "extra": {...}}``.

Field errors go under ``extra.fields`` keyed by dotted path
(``signal_config.rsi.weight``), as bots.config names them. Anything the
handler does not know stays a 500 with Django's own logging, so a bug is
never dressed up as a client error.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from autotrader.exceptions import ApplicationError
from autotrader.logging import redact
from autotrader.outage import is_redis_outage, redis_unavailable_message
from market.exchange import ExchangeError, TemporaryError
from market.types import UnknownProduct

log = logging.getLogger(__name__)

INVALID_INPUT = "Invalid input"
MAX_MESSAGE_FIELDS = 3


class ErrorExtraSerializer(serializers.Serializer):
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field path (dotted for nested settings) -> messages.",
    )


class ErrorSerializer(serializers.Serializer):
    """What every error response carries."""

    message = serializers.CharField()
    extra = ErrorExtraSerializer()


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{dotted.path: [messages]}``."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        out = {}
        for index, item in enumerate(detail):
            if item:
                out.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    messages = [str(m) for m in (detail if isinstance(detail, list) else [detail])]
    return {prefix or "non_field_errors": messages}


def error_response(message: str, status: int, extra: dict[str, Any] | None = None, **headers: str) -> Response:
    set_rollback()
    return Response({"message": message, "extra": extra or {}}, status=status, headers=headers or None)


def _validation_message(fields: dict[str, list[str]]) -> str:
    shown = [f"{path}: {messages[0]}" for path, messages in list(fields.items())[:MAX_MESSAGE_FIELDS]]
    more = len(fields) - len(shown)
    return f"{INVALID_INPUT}: " + "; ".join(shown) + (f" (and {more} more)" if more > 0 else "")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map domain, Django and DRF errors onto the one error shape."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, SuspiciousOperation):
        # Django's own limits (body size, number of fields): a 400 in our shape, not Django's HTML.
        return error_response(str(exc) or "Bad request", 400)
    if isinstance(exc, ApplicationError):
        return error_response(exc.message, exc.status, exc.extra)
    if isinstance(exc, UnknownProduct):
        return error_response(str(exc), 404)
    if isinstance(exc, IntegrityError):
        # A constraint another request satisfied first (two creates with one name).
        log.info("API write refused by a constraint: %s", exc)
        return error_response("The change conflicts with the current data; reload and try again.", 409)
    if is_redis_outage(exc):
        log.warning("Redis unavailable behind the API: %s", exc)
        return error_response(redis_unavailable_message(exc), 503, {"redis": "unavailable"}, **{"Retry-After": "5"})
    if isinstance(exc, ExchangeError):
        status = 503 if isinstance(exc, TemporaryError) else 502
        log.warning("exchange error behind the API: %s", exc)
        return error_response(f"The market is unavailable: {redact(str(exc))}", status)

    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        return error_response(_validation_message(fields), 400, {"fields": fields})

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
    response.data = {"message": str(detail), "extra": {}}
    return response
