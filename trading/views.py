"""The dashboard's overview, activity, health and kill switch pages; the liveness probe.

One view per page or partial. A page includes its partials; each partial
carries its own ``hx-get``/``hx-trigger`` and polls its view every 5 s while
the tab is visible, replacing only itself. Reads come from the selectors,
writes from the services: these views only glue them to templates.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from autotrader.htmx import HtmxHttpRequest
from autotrader.outage import redis_problem
from bots.config import BotConfig, bot_config_from_values
from bots.forms import BotSettingsForm
from bots.models import CONFIG_FIELDS, Bot
from market.selectors import market_data_health
from market.services import balances_for_display, get_market_data
from market.stream import stream_status
from trading.backtest_jobs import (
    BacktestJob,
    backtest_chart,
    backtest_job_get,
    backtest_job_start,
    backtest_jobs_recent,
    default_span,
)
from trading.forms import BacktestForm, KillSwitchForm
from trading.models import BacktestRun
from trading.presenters import activity_row, bot_card_view, card_confirmation
from trading.selectors import (
    LOG_NAMES,
    activity_recent,
    backtest_list,
    bot_cards,
    health_snapshot,
    log_tail,
    portfolio_summary,
    status_strip,
    task_queue_state,
)
from trading.services import kill_switch_get, kill_switch_set

ACTIVITY_LIMIT = 40
LOG_LINES = 200


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness probe: the process answers and the database responds. No data, so open to all."""
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
    return {"events": [activity_row(event) for event in activity_recent(limit=ACTIVITY_LIMIT)]}


def dashboard_page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """Render a full page with the frame: the status bar and the sticky activity panel."""
    return render(request, template, {**_status_context(), **_activity_context(), **context}, status=status)


@require_GET
def status_bar(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: kill switch banner, live-money warning, market time, runner state."""
    return render(request, "trading/status_bar.html", _status_context())


@require_GET
def activity_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: the newest events, newest first."""
    return render(request, "trading/activity_panel.html", _activity_context())


# --- overview ----------------------------------------------------------------
def _portfolio_context() -> dict[str, Any]:
    shown = balances_for_display()
    summary = portfolio_summary(balances=shown.balances, now=get_market_data().now())
    return {"portfolio": summary, "balances_error": shown.error, "balances_read_at": shown.read_at}


def _cards_context() -> dict[str, Any]:
    now = get_market_data().now()
    mode = settings.TRADING_MODE
    cards = [(bot_card_view(card, trading_mode=mode), card_confirmation(card, now=now)) for card in bot_cards()]
    return {"cards": cards}


@require_GET
def overview(request: HtmxHttpRequest) -> HttpResponse:
    """Page: the portfolio and one card per bot."""
    return dashboard_page(request, "trading/overview.html", {**_portfolio_context(), **_cards_context()})


@require_GET
def portfolio_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: equity, cash, positions, realised and unrealised P&L."""
    return render(request, "trading/portfolio_summary.html", _portfolio_context())


@require_GET
def bot_cards_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: every bot's card."""
    return render(request, "trading/bot_cards.html", _cards_context())


# --- health ------------------------------------------------------------------
def _health_context() -> dict[str, Any]:
    # Without Redis the cache's counters cannot be read: the page says so and shows the rest.
    redis_down = redis_problem()
    return {
        "redis_problem": redis_down,
        "snapshot": health_snapshot(),
        "tasks": task_queue_state(),
        "market_data": None if redis_down else market_data_health(market=get_market_data()),
        "stream": stream_status(),
    }


def _log_context(request: HttpRequest) -> dict[str, Any]:
    name = request.GET.get("log", LOG_NAMES[0])
    if name not in LOG_NAMES:
        name = LOG_NAMES[0]
    return {"log_name": name, "log_names": LOG_NAMES, "log_lines": log_tail(name=name, lines=LOG_LINES)}


@require_GET
def health(request: HtmxHttpRequest) -> HttpResponse:
    """Page: processes, the task queue, market data, the stream, errors, the log."""
    return dashboard_page(request, "trading/health.html", {**_health_context(), **_log_context(request)})


@require_GET
def health_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: everything on the health page but the log."""
    return render(request, "trading/health_panel.html", _health_context())


@require_GET
def log_tail_panel(request: HtmxHttpRequest) -> HttpResponse:
    """Partial: the last lines of one log (runner, worker or web), secrets scrubbed."""
    return render(request, "trading/log_tail.html", _log_context(request))


# --- kill switch -------------------------------------------------------------
@require_GET
def kill_switch_confirm(request: HtmxHttpRequest) -> HttpResponse:
    """Page: the confirmation step before the kill switch changes."""
    switch = kill_switch_get()
    form = KillSwitchForm(initial={"engaged": "off" if switch.engaged else "on"})
    return dashboard_page(request, "trading/kill_switch.html", {"switch": switch, "form": form})


@require_POST
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


# --- backtests -----------------------------------------------------------------
RUNS_LIMIT = 50
TRADES_LIMIT = 200
METRICS = (
    ("total_return", "Return", "percent"),
    ("buy_and_hold_return", "Buy and hold", "percent"),
    ("max_drawdown", "Max drawdown", "drawdown"),
    ("sharpe", "Sharpe", "number"),
    ("sortino", "Sortino", "number"),
    ("calmar", "Calmar", "number"),
    ("cagr", "CAGR", "percent"),
    ("trades", "Round trips", "int"),
    ("win_rate", "Win rate", "share"),
    ("profit_factor", "Profit factor", "number"),
    ("exposure", "Time in the market", "share"),
    ("fills", "Fills", "int"),
    ("rejected_orders", "Rejected orders", "int"),
    ("fees_paid", "Fees paid", "money"),
    ("final_equity", "Final equity", "money"),
    ("open_position", "Open position at the end", "text"),
)


@require_GET
def backtest_list_page(request: HtmxHttpRequest) -> HttpResponse:
    """Page: the dashboard's recent jobs and every stored run, newest first."""
    runs = list(backtest_list()[:RUNS_LIMIT])
    return dashboard_page(request, "trading/backtest_list.html", {"runs": runs, "jobs": backtest_jobs_recent()})


def _edited(bot: Bot, values: dict[str, Any], product_id: str) -> bool:
    """Whether the form's settings differ from the bot's in anything that trades (disabled signals aside)."""

    def trading(config: BotConfig) -> BotConfig:
        return replace(config, signals=tuple(s for s in config.signals if s.enabled))

    return product_id != bot.product_id or trading(bot_config_from_values(values)) != trading(bot.config)


def _backtest_forms(bot: Bot, data: Any = None) -> tuple[BacktestForm, BotSettingsForm]:
    """The forms bound to posted ``data``, or filled from the bot and the default span."""
    if data is not None:
        return BacktestForm(data), BotSettingsForm(data, instance=bot, prefix="cfg")
    start, end = default_span(now=get_market_data().now())
    return BacktestForm(initial={"start": start, "end": end}), BotSettingsForm(instance=bot, prefix="cfg")


BOT_ID = re.compile(r"[0-9]{1,18}")


def _chosen_bot(raw: str | None, bots: list[Bot]) -> tuple[Bot, str, int]:
    """The bot a backtest form names, or the first bot with the problem and its status (400, 404).

    The id comes from the query string or the posted form, so anything can arrive:
    only a plain number reaches the database.
    """
    if not raw:
        return Bot.objects.get(pk=bots[0].pk), "", 200
    if not BOT_ID.fullmatch(raw):
        return Bot.objects.get(pk=bots[0].pk), f"{raw[:40]!r} is not a bot id: choose a bot from the list.", 400
    bot = Bot.objects.filter(pk=int(raw)).first()
    if bot is None:
        return Bot.objects.get(pk=bots[0].pk), f"There is no bot {raw}: choose a bot from the list.", 404
    return bot, "", 200


@require_http_methods(["GET", "POST"])
def backtest_new(request: HtmxHttpRequest) -> HttpResponse:
    """Page: backtest a bot, or an edited copy of its settings (the bot itself is not changed)."""
    bots = list(Bot.objects.order_by("name").only("pk", "name", "product_id"))
    if not bots:
        messages.info(request, "Create a bot first: a backtest runs a bot's settings.")
        return redirect("dashboard:bot_new")
    bot, problem, status = _chosen_bot(request.POST.get("bot") or request.GET.get("bot"), bots)
    if problem:
        # Nothing starts for a bot that is not there: the form comes back for the first bot, saying why.
        form, settings_form = _backtest_forms(bot)
        context = {"form": form, "settings_form": settings_form, "bot": bot, "bots": bots, "bot_error": problem}
        return dashboard_page(request, "trading/backtest_new.html", context, status=status)
    form, settings_form = _backtest_forms(bot, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and settings_form.is_valid():
        values = {k: v for k, v in settings_form.bot_fields().items() if k in CONFIG_FIELDS}
        product_id = settings_form.cleaned_data["product_id"]
        edited = _edited(Bot.objects.get(pk=bot.pk), values, product_id)
        job = backtest_job_start(
            name=f"{bot.name} (edited copy)" if edited else bot.name,
            values=values,
            product_id=product_id,
            start=form.cleaned_data["start"],
            end=form.cleaned_data["end"],
            source=form.cleaned_data["source"],
            starting_balance=form.cleaned_data["starting_balance"],
            bot_id=bot.pk,
        )
        return redirect("dashboard:backtest_job", job_id=job.id)
    context = {"form": form, "settings_form": settings_form, "bot": bot, "bots": bots}
    return dashboard_page(request, "trading/backtest_new.html", context, status=400 if form.is_bound else 200)


def _job_or_404(job_id: str) -> BacktestJob:
    job = backtest_job_get(job_id=job_id)
    if job is None:
        raise Http404("no such backtest job (it finished more than a day ago, or never existed)")
    return job


@require_GET
def backtest_job(request: HtmxHttpRequest, job_id: str) -> HttpResponse:
    """Page: one queued or running backtest, with its progress."""
    return dashboard_page(request, "trading/backtest_job.html", {"job": _job_or_404(job_id)})


@require_GET
def backtest_job_panel(request: HtmxHttpRequest, job_id: str) -> HttpResponse:
    """Partial: the job's progress; once it has finished, the last answer stops the polling (286)."""
    job = _job_or_404(job_id)
    response = render(request, "trading/backtest_job_panel.html", {"job": job})
    if job.finished:
        return HttpResponseStopPolling(response.content)
    return response


def _round_trip(trip: dict[str, Any]) -> dict[str, Any]:
    """A stored round trip with its times as datetimes."""

    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return {**trip, "entry_time": when(trip.get("entry_time")), "exit_time": when(trip.get("exit_time"))}


@require_GET
def backtest_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Page: a stored run's metrics, its equity against buy-and-hold, drawdown, fills on the price, round trips."""
    run = get_object_or_404(BacktestRun.objects.select_related("bot"), pk=pk)
    metrics = [(label, run.metrics.get(key), kind) for key, label, kind in METRICS if key in run.metrics]
    context = {
        "run": run,
        "metrics": metrics,
        "trades": [_round_trip(t) for t in reversed(run.trade_list[-TRADES_LIMIT:])],
        "trades_total": len(run.trade_list),
        "config_json": json.dumps(run.config, indent=2, sort_keys=True),
    }
    return dashboard_page(request, "trading/backtest_detail.html", context)


@require_GET
def backtest_chart_data(request: HtmxHttpRequest, pk: int) -> JsonResponse:
    """JSON: the run's price with fills, equity, buy-and-hold and drawdown (recomputed if not kept)."""
    run = get_object_or_404(BacktestRun, pk=pk)
    try:
        return JsonResponse(backtest_chart(run=run))
    except ValueError as exc:  # BacktestError and DataError: the candles are no longer there
        return JsonResponse({"error": str(exc)})
