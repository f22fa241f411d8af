"""What every API view shares: auth, JSON in and out, throttling, paging, the schema.

Settings stay as they are: each view takes its policy from ``ApiView``, so the
API's behaviour is read in one place rather than spread over REST_FRAMEWORK.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, IsAdminUser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from autotrader.api.errors import ErrorSerializer, exception_handler
from autotrader.logging import redact, redacted
from autotrader.outage import is_redis_outage, redis_unavailable_message

log = logging.getLogger(__name__)

# Database ids are signed 64-bit integers; a larger one cannot name a row and
# must not reach the database driver (SQLite raises OverflowError on it).
MAX_ID = 2**63 - 1
MAX_PAGE = 500
MAX_OFFSET = 10**9
MAX_JSON_DEPTH = 32


# --- policy ---------------------------------------------------------------
class WriteThrottle(UserRateThrottle):
    """Writes per user; reads are not throttled (the dashboard polls them)."""

    scope = "api-write"
    rate = "60/minute"

    def allow_request(self, request: Request, view: APIView) -> bool:
        """Counted in the cache; with Redis down the write goes through (the kill switch and stop must work)."""
        if request.method in SAFE_METHODS:
            return True
        try:
            return super().allow_request(request, view)
        except Exception as exc:
            if not is_redis_outage(exc):
                raise
            log.warning("write throttle skipped: %s", redis_unavailable_message(exc))
            return True


class StrictJSONParser(JSONParser):
    """JSON, refusing what no handler should meet: deep nesting and lone surrogates.

    Python's decoder raises RecursionError (not ValueError) on deep nesting,
    which DRF would let through as a 500; no input of this API nests deeper
    than a few levels.
    """

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply") from None
        _check_json(data, 0)
        return data


def _check_json(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise exceptions.ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise exceptions.ParseError("JSON parse error - text must be valid Unicode") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, depth + 1)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


class Pagination(LimitOffsetPagination):
    """limit/offset paging that refuses a bad limit or offset instead of ignoring it."""

    default_limit = 50
    max_limit = MAX_PAGE

    def get_limit(self, request: Request) -> int:
        return _bounded_int(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request: Request) -> int:
        return _bounded_int(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_limit, "default": self.default_limit}
        offset["schema"] = {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}
        return [limit, offset]


def _bounded_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: ["must be a whole number"]}) from None
    if not low <= value <= high:
        raise exceptions.ValidationError({name: [f"must be between {low} and {high}"]})
    return value


# --- schema ---------------------------------------------------------------
class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the error responses each operation can give.

    Documented so that clients (and schemathesis) can rely on every status
    the API answers: 401/403 everywhere, 400 where there is input, 404 where
    the path names something, 429 on writes, and a view's own `api_errors`.
    """

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        codes = {
            "401": "Not authenticated (send a token or log in).",
            "403": "Not allowed: the user is not staff, or a session sent no CSRF token.",
        }
        has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
        if operation.get("requestBody") or has_query:
            codes["400"] = "Invalid input; `extra.fields` names each bad field."
        if "{" in path:
            codes["404"] = "No such object."
        if method.upper() not in SAFE_METHODS:
            codes["429"] = "Too many writes; retry after the `Retry-After` seconds."
        codes.update(getattr(self.view, "api_errors", {}))
        ref = self.resolve_serializer(ErrorSerializer, "response").ref
        for code, description in codes.items():
            operation["responses"].setdefault(
                str(code), {"description": description, "content": {"application/json": {"schema": ref}}}
            )
        return operation


MARKET_ERRORS = {
    "502": "The exchange refused the request (configuration or credentials).",
    "503": "The market is unavailable right now (timeout, rate limit, back-off).",
}


# --- views ----------------------------------------------------------------
class ApiView(APIView):
    """Base of every API view: token or session auth, staff only, JSON only, one error shape.

    Token authentication comes first so that an anonymous call gets 401 with
    ``WWW-Authenticate: Token`` rather than a bare 403. Staff only, as the
    dashboard and the admin: an account without it trades nothing.
    """

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAdminUser]
    throttle_classes = [WriteThrottle]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    pagination_class = Pagination
    schema = ApiAutoSchema()
    api_errors: dict[str, str] = {}

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return exception_handler

    def paginate(self, items: QuerySet | Sequence, serializer_class: type[serializers.Serializer]) -> Response:
        """One page of ``items`` with count and next/previous links."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(items, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


def get_object(model: type[Model] | QuerySet, pk: Any) -> Any:
    """The row with this id, or 404 for an unknown, malformed or out-of-range id."""
    qs = model.objects.all() if isinstance(model, type) else model
    missing = exceptions.NotFound(f"No {qs.model._meta.verbose_name} with id {pk}.")
    try:
        value = int(pk)
    except (TypeError, ValueError):
        raise missing from None
    if not 1 <= value <= MAX_ID:
        raise missing
    obj = qs.filter(pk=value).first()
    if obj is None:
        raise missing
    return obj


def validated_query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """Query parameters checked by ``serializer_class`` (400 on anything wrong)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return {k: v for k, v in serializer.validated_data.items() if v is not None}


# --- fields ---------------------------------------------------------------
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"


@extend_schema_field({"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN, "example": "123.45"})
class MoneyField(serializers.Field):
    """A Decimal as a plain string ("1000", "0.00012"): never a float, never an exponent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal | str) -> str:
        value = Decimal(value)
        if value == 0:
            return "0"
        return format(value.normalize(), "f")


class UtcDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC ("…Z"), also for times stored as ISO strings (evaluations)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)

    def to_representation(self, value: datetime | str | None) -> str | None:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value is None:
            return None
        return super().to_representation(value.astimezone(UTC))


class FiniteFloatField(serializers.FloatField):
    """A float that is a number in JSON: NaN and infinities become null."""

    def to_representation(self, value: float) -> float | None:
        value = float(value)
        return value if math.isfinite(value) else None


def id_parameter(description: str) -> OpenApiParameter:
    """The ``{id}`` of a path."""
    schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return OpenApiParameter("id", schema, OpenApiParameter.PATH, description=description)


def id_filter(**kwargs: Any) -> serializers.IntegerField:
    """A query parameter holding a database id."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, **kwargs)


class RedactedCharField(serializers.CharField):
    """Text that may quote an exchange or an exception: never shows a secret."""

    def to_representation(self, value: Any) -> str:
        return redact(super().to_representation(value))


@extend_schema_field({"type": "object", "additionalProperties": True})
class RedactedJSONField(serializers.JSONField):
    """Free-form details (event data, heartbeat info), secrets scrubbed."""

    def to_representation(self, value: Any) -> Any:
        return redacted(value)


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """Stored free-form JSON (settings, metrics)."""


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
class JSONListField(serializers.JSONField):
    """A stored list of JSON objects (round trips, sweep rows)."""
