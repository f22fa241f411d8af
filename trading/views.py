"""The dashboard's overview, activity, health and kill switch pages; the liveness probe.

One view per page or partial. A page includes its partials; each partial
carries its own ``hx-get``/``hx-trigger`` and polls its view every 5 s while
the tab is visible, replacing only itself. Reads come from the selectors,
writes from the services: these views only glue them to templates.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from autotrader.htmx import HtmxHttpRequest, login_required
from bots.selectors import bot_confirmation
from market.selectors import market_data_health
from market.services import get_exchange, get_market_data
from market.stream import stream_status
from trading.forms import KillSwitchForm
from trading.selectors import (
    LOG_NAMES,
    activity_recent,
    bot_cards,
    bots_with_state,
    health_snapshot,
    log_tail,
    portfolio_summary,
    status_strip,
    task_queue_state,
)
from trading.services import kill_switch_get, kill_switch_set

ACTIVITY_LIMIT = 40
LOG_LINES = 200


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness probe: the process answers and the database responds. No data."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception:
        return JsonResponse({"status": "database unavailable"}, status=503)


# --- the frame every page shares ---------------------------------------------
def _status_context() -> dict[str, Any]:
    return {"strip": status_strip(), "market_now": get_market_data().now()}


def _activity_context() -> dict[str, Any]:
    return {"events": activity_recent(limit=ACTIVITY_LIMIT)}


def dashboard_page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """Render a full page with the frame: the status bar and the sticky activity panel."""
    return render(request, template, {**_status_context(), **_activity_context(), **context}, status=status)


@require_GET
@login_required
def status_bar(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: kill switch banner, live-money warning, market time, runner state."""
    return render(request, "trading/status_bar.html", _status_context())


@require_GET
@login_required
def activity_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: the newest events, newest first."""
    return render(request, "trading/activity_panel.html", _activity_context())


# --- overview ----------------------------------------------------------------
def _portfolio_context() -> dict[str, Any]:
    now = get_market_data().now()
    try:
        balances = get_exchange(live=settings.TRADING_MODE == "live").balances()
        error = ""
    except Exception as exc:  # the exchange being down must not take the overview with it
        balances, error = {}, f"balances unavailable ({type(exc).__name__})"
    return {"portfolio": portfolio_summary(balances=balances, now=now), "balances_error": error}


def _cards_context() -> dict[str, Any]:
    now = get_market_data().now()
    # The cards never show the stored evaluation or signal settings: leave those JSON columns unread.
    bots = bots_with_state().defer("last_evaluation", "signal_config")
    cards = [(card, bot_confirmation(bot=card.bot, now=now)) for card in bot_cards(bots=bots)]
    return {"cards": cards, "market_now": now}


@require_GET
@login_required
def overview(request: HtmxHttpRequest) -> HttpResponse:
    """Page: the portfolio and one card per bot."""
    return dashboard_page(request, "trading/overview.html", {**_portfolio_context(), **_cards_context()})


@require_GET
@login_required
def portfolio_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: equity, cash, positions, realised and unrealised P&L."""
    return render(request, "trading/portfolio_summary.html", _portfolio_context())


@require_GET
@login_required
def bot_cards_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: every bot's card."""
    return render(request, "trading/bot_cards.html", _cards_context())


# --- health ------------------------------------------------------------------
def _health_context() -> dict[str, Any]:
    return {
        "snapshot": health_snapshot(),
        "tasks": task_queue_state(),
        "market_data": market_data_health(market=get_market_data()),
        "stream": stream_status(),
    }


def _log_context(request: HttpRequest) -> dict[str, Any]:
    name = request.GET.get("log", LOG_NAMES[0])
    if name not in LOG_NAMES:
        name = LOG_NAMES[0]
    return {"log_name": name, "log_names": LOG_NAMES, "log_lines": log_tail(name=name, lines=LOG_LINES)}


@require_GET
@login_required
def health(request: HtmxHttpRequest) -> HttpResponse:
    """Page: processes, the task queue, market data, the stream, errors, the log."""
    return dashboard_page(request, "trading/health.html", {**_health_context(), **_log_context(request)})


@require_GET
@login_required
def health_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: everything on the health page but the log."""
    return render(request, "trading/health_panel.html", _health_context())


@require_GET
@login_required
def log_tail_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: the last lines of one log (runner, worker or web), secrets scrubbed."""
    return render(request, "trading/log_tail.html", _log_context(request))


# --- kill switch -------------------------------------------------------------
@require_GET
@login_required
def kill_switch_confirm(request: HtmxHttpRequest) -> HttpResponse:
    """Page: the confirmation step before the kill switch changes."""
    switch = kill_switch_get()
    form = KillSwitchForm(initial={"engaged": "off" if switch.engaged else "on"})
    return dashboard_page(request, "trading/kill_switch.html", {"switch": switch, "form": form})


@require_POST
@login_required
def kill_switch_change(request: HtmxHttpRequest) -> HttpResponse:
    """Engage or release the kill switch once the trader has confirmed."""
    form = KillSwitchForm(request.POST)
    if not form.is_valid():
        switch = kill_switch_get()
        return dashboard_page(request, "trading/kill_switch.html", {"switch": switch, "form": form}, status=400)
    engaged = form.cleaned_data["engaged"]
    kill_switch_set(
        engaged=engaged,
        reason=form.cleaned_data["reason"],
        by=request.user.get_username(),
        at=get_market_data().now(),
    )
    messages.warning(request, "Kill switch engaged: no bot places a new order." if engaged else "Kill switch released.")
    return redirect("dashboard:overview")
