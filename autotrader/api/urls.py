"""The API's URLs under /api/: version 1, its schema and its two documentation pages.

The paths of the original system are kept exactly (some have no trailing
slash), so scripts written against it keep working. Anything else under
/api/ is a JSON 404 in the API's error shape, never an HTML page.
"""

from __future__ import annotations

import json
from typing import Any

from csp.constants import NONCE, SELF
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from autotrader.api.base import ApiView
from autotrader.api.errors import exception_handler
from bots.apis import (
    BotConfirmationStatusApi,
    BotDetailApi,
    BotEvaluateApi,
    BotEvaluationTestApi,
    BotListCreateApi,
    BotStartApi,
    BotStopApi,
    BotTemperatureDashboardApi,
    BotTemperatureDetailApi,
    BotTemperatureListApi,
)
from market.apis import (
    AccountsApi,
    CacheStatsApi,
    CandlesApi,
    ProductListApi,
    StreamStartApi,
    StreamStatusApi,
    StreamStopApi,
    TickerApi,
)
from trading.apis import (
    ActivityListApi,
    BacktestDetailApi,
    BacktestListApi,
    KillSwitchApi,
    OrderDetailApi,
    OrderListApi,
    PortfolioApi,
    PositionListApi,
    SystemHealthApi,
    TradeListApi,
)

v1 = [
    path("bots/", BotListCreateApi.as_view(), name="bot-list"),
    path("bots/<int:id>", BotDetailApi.as_view(), name="bot-detail"),
    path("bots/<int:id>/start", BotStartApi.as_view(), name="bot-start"),
    path("bots/<int:id>/stop", BotStopApi.as_view(), name="bot-stop"),
    path("bots/<int:id>/confirmation-status", BotConfirmationStatusApi.as_view(), name="bot-confirmation-status"),
    path("bot-evaluation/<int:id>/evaluate", BotEvaluateApi.as_view(), name="bot-evaluate"),
    path("bot-evaluation/test/<int:id>", BotEvaluationTestApi.as_view(), name="bot-evaluation-test"),
    path("bot-temperatures/", BotTemperatureListApi.as_view(), name="bot-temperatures"),
    path("bot-temperatures/dashboard", BotTemperatureDashboardApi.as_view(), name="bot-temperatures-dashboard"),
    path("bot-temperatures/<int:id>", BotTemperatureDetailApi.as_view(), name="bot-temperature"),
    path("market/products", ProductListApi.as_view(), name="market-products"),
    path("market/ticker/<str:product_id>", TickerApi.as_view(), name="market-ticker"),
    path("market/candles/<str:product_id>", CandlesApi.as_view(), name="market-candles"),
    path("market/accounts", AccountsApi.as_view(), name="market-accounts"),
    path("market/cache-stats", CacheStatsApi.as_view(), name="market-cache-stats"),
    path("trades", TradeListApi.as_view(), name="trades"),
    path("orders", OrderListApi.as_view(), name="orders"),
    path("orders/<int:id>", OrderDetailApi.as_view(), name="order-detail"),
    path("positions", PositionListApi.as_view(), name="positions"),
    path("activity", ActivityListApi.as_view(), name="activity"),
    path("kill-switch", KillSwitchApi.as_view(), name="kill-switch"),
    path("portfolio", PortfolioApi.as_view(), name="portfolio"),
    path("system/health", SystemHealthApi.as_view(), name="system-health"),
    path("backtests", BacktestListApi.as_view(), name="backtests"),
    path("backtests/<int:id>", BacktestDetailApi.as_view(), name="backtest-detail"),
    path("ws/websocket/start", StreamStartApi.as_view(), name="stream-start"),
    path("ws/websocket/stop", StreamStopApi.as_view(), name="stream-stop"),
    path("ws/websocket/status", StreamStatusApi.as_view(), name="stream-status"),
]


# --- schema and documentation ------------------------------------------------------
class ApiSchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema (YAML; JSON with ``?format=json``), for the API's users only."""

    authentication_classes = ApiView.authentication_classes
    permission_classes = ApiView.permission_classes

    def get_exception_handler(self) -> Any:
        return exception_handler


class _DocsPage:
    """An HTML page: someone not signed in (or not staff) is sent to the login page, not shown JSON."""

    authentication_classes = ApiView.authentication_classes
    permission_classes = ApiView.permission_classes

    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed | exceptions.PermissionDenied):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


class ApiSwaggerView(_DocsPage, SpectacularSwaggerSplitView):
    """Swagger UI from the sidecar's static files; no call leaves the host.

    The split view serves its start-up script as a separate request (``?script``)
    instead of inline, so the page runs under a policy without inline scripts.
    """

    template_name = "api/swagger_ui.html"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        ui = spectacular_settings.SWAGGER_UI_SETTINGS
        if "settings" in response.data and isinstance(ui, dict):
            # Swagger UI sends the schema's URL to validator.swagger.io unless told not to.
            response.data["settings"] = json.dumps({**ui, "validatorUrl": None})
        return response


class ApiRedocView(_DocsPage, SpectacularRedocView):
    """ReDoc from the sidecar's static files, with no web fonts (drf-spectacular's page loads Google Fonts)."""

    template_name = "api/redoc.html"


# ReDoc is the one page that needs more than the site's Content-Security-Policy, and gets it
# on this page only. It adds <style> elements at run time: its styled components carry this
# request's nonce (static/api/redoc-init.js hands it over); two it adds as its script loads,
# before any nonce can reach it, are allowed by their hashes: the scrollbar's fixed rules and
# empty elements. It runs its search in a worker started from a blob: URL. Still refused: any
# inline script, eval, and anything from another host (redoc-init.js keeps ReDoc from asking
# cdn.redoc.ly for its vendor's logo).
REDOC_CSP = {
    "style-src": [
        NONCE,
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar's CSS, in the sidecar's ReDoc
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # an empty <style>
    ],
    "worker-src": [SELF, "blob:"],
}


@login_not_required
@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown API paths answer in the API's error shape (to anyone: it names nothing that exists)."""
    return JsonResponse({"message": f"No API endpoint at {request.path}", "extra": {}}, status=404)


urlpatterns = [
    path("v1/", include(v1)),
    path("schema", ApiSchemaView.as_view(), name="api-schema"),
    path("docs", ApiSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc", csp_update(REDOC_CSP)(ApiRedocView.as_view(url_name="api-schema")), name="api-redoc"),
    re_path(r"^", api_not_found),
]
