"""The dashboard's bot pages: the bot page and its live panels, the bot form, the controls.

Controls answer an htmx request with 204 and an ``HX-Trigger``: ``bots-changed``
makes every bot panel on the page refresh itself, ``toast`` says what
happened. Without JavaScript they redirect back, with a message.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from autotrader.htmx import HtmxHttpRequest
from bots.forms import BotForm
from bots.models import ActivityEvent, Bot
from bots.selectors import bot_confirmation
from bots.services import bot_create, bot_evaluate_now, bot_reset_confirmation, bot_start, bot_stop, bot_update
from bots.signals import REGISTRY
from market.services import get_market_data
from trading.selectors import activity_recent, orders_recent, trades_recent
from trading.views import dashboard_page

HISTORY_LIMIT = 20


def _bot_or_none(pk: int) -> Bot | None:
    return Bot.objects.select_related("position").filter(pk=pk).first()


def _gone() -> HttpResponse:
    """A panel whose bot was deleted stops polling (htmx's 286)."""
    return HttpResponseStopPolling('<div class="panel empty">This bot no longer exists.</div>')


# --- the bot page and its panels ---------------------------------------------
def _header_context(bot: Bot) -> dict[str, Any]:
    now = get_market_data().now()
    last_trade = trades_recent(bot=bot, limit=1)
    position = getattr(bot, "position", None)
    return {
        "bot": bot,
        "position": position,
        "unrealised": position.unrealised_pnl(bot.last_price) if position is not None else None,
        "confirmation": bot_confirmation(bot=bot, now=now),
        "last_trade": last_trade[0] if last_trade else None,
        "market_now": now,
    }


def _signals_context(bot: Bot) -> dict[str, Any]:
    evaluation = bot.last_evaluation or {}
    rows = [
        {**row, "label": REGISTRY[row["name"]].label if row.get("name") in REGISTRY else row.get("name", "?")}
        for row in evaluation.get("signals", [])
    ]
    candle_time = evaluation.get("candle_time")
    return {
        "bot": bot,
        "evaluation": evaluation,
        "signal_rows": rows,
        "candle_time": datetime.fromisoformat(candle_time) if candle_time else None,
    }


def _confirmations_context(bot: Bot) -> dict[str, Any]:
    kinds = [ActivityEvent.Kind.CONFIRMATION]
    return {"bot": bot, "confirmations": activity_recent(bot=bot, kinds=kinds, limit=HISTORY_LIMIT)}


def _orders_context(bot: Bot) -> dict[str, Any]:
    return {
        "bot": bot,
        "orders": orders_recent(bot=bot, limit=HISTORY_LIMIT),
        "trades": trades_recent(bot=bot, limit=HISTORY_LIMIT),
    }


@require_GET
def bot_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Page: the bot's state and controls, chart, signal breakdown, confirmations, orders and trades."""
    bot = get_object_or_404(Bot.objects.select_related("position"), pk=pk)
    context = {
        **_header_context(bot),
        **_signals_context(bot),
        **_confirmations_context(bot),
        **_orders_context(bot),
    }
    return dashboard_page(request, "bots/bot_detail.html", context)


@require_GET
def bot_header_panel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Partial: price, score, temperature, action, confirmation, position, controls."""
    bot = _bot_or_none(pk)
    return _gone() if bot is None else render(request, "bots/bot_header.html", _header_context(bot))


@require_GET
def bot_signals_panel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Partial: the last evaluation, signal by signal."""
    bot = _bot_or_none(pk)
    return _gone() if bot is None else render(request, "bots/signal_breakdown.html", _signals_context(bot))


@require_GET
def bot_confirmations_panel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Partial: the confirmation history (activity of kind "confirmation")."""
    bot = _bot_or_none(pk)
    return _gone() if bot is None else render(request, "bots/confirmation_history.html", _confirmations_context(bot))


@require_GET
def bot_orders_panel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Partial: the bot's recent orders and fills."""
    bot = _bot_or_none(pk)
    return _gone() if bot is None else render(request, "bots/orders_panel.html", _orders_context(bot))


# --- the bot form ------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def bot_new(request: HtmxHttpRequest) -> HttpResponse:
    """Page: create a bot (it starts stopped)."""
    form = BotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        bot = bot_create(**form.bot_fields())
        messages.success(request, f"Created {bot.name}. It is stopped: start it when you are ready.")
        return HttpResponseRedirect(reverse("dashboard:bot_detail", args=[bot.pk]))
    status = 400 if form.is_bound else 200
    return dashboard_page(request, "bots/bot_form.html", {"form": form, "bot": None}, status=status)


@require_http_methods(["GET", "POST"])
def bot_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Page: edit every setting of a bot."""
    bot = get_object_or_404(Bot, pk=pk)
    form = BotForm(request.POST or None, instance=bot)
    if request.method == "POST" and form.is_valid():
        bot_update(bot=bot, **form.bot_fields())
        messages.success(request, f"Saved {form.cleaned_data['name']}.")
        return HttpResponseRedirect(reverse("dashboard:bot_detail", args=[pk]))
    status = 400 if form.is_bound else 200
    return dashboard_page(request, "bots/bot_form.html", {"form": form, "bot": bot}, status=status)


# --- controls ----------------------------------------------------------------
def _control_response(request: HtmxHttpRequest, bot: Bot, message: str, level: str = "info") -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = json.dumps({"bots-changed": bot.pk, "toast": {"level": level, "message": message}})
        return response
    messages.add_message(request, messages.ERROR if level == "error" else messages.INFO, message)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("dashboard:bot_detail", args=[bot.pk])
    return HttpResponseRedirect(back)


@require_POST
def start_bot(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Start the bot; a fresh start also clears its failure count and confirmation."""
    bot = bot_start(bot=get_object_or_404(Bot, pk=pk), at=get_market_data().now())
    return _control_response(request, bot, f"{bot.name} started.")


@require_POST
def stop_bot(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    bot = bot_stop(bot=get_object_or_404(Bot, pk=pk), at=get_market_data().now())
    return _control_response(request, bot, f"{bot.name} stopped.")


@require_POST
def evaluate_bot(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Evaluate the bot now and store the result; never trades."""
    bot = get_object_or_404(Bot, pk=pk)
    try:
        evaluation = bot_evaluate_now(bot, get_market_data())
    except Exception as exc:  # shown to the trader, who asked for exactly this
        return _control_response(request, bot, f"{bot.name}: evaluation failed: {type(exc).__name__}: {exc}", "error")
    t = evaluation.temperature
    return _control_response(
        request, bot, f"{bot.name}: score {evaluation.score:+.3f}, {t.emoji} {t.value}, {evaluation.action.value}"
    )


@require_POST
def reset_bot_confirmation(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    bot = bot_reset_confirmation(bot=get_object_or_404(Bot, pk=pk), at=get_market_data().now())
    return _control_response(request, bot, f"{bot.name}: confirmation cleared.")
