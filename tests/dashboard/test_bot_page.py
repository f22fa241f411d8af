"""The bot page: its live panels, the chart data and the controls."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse

from bots.models import ActivityEvent, Bot
from bots.signals import REGISTRY
from market.paper import PaperExchange
from trading.formatting import signed
from trading.models import Order, Trade
from trading.runner import Runner

pytestmark = pytest.mark.django_db


def _runner(market) -> Runner:
    exchange = PaperExchange(market, fee_rate=Decimal("0.006"), slippage_rate=Decimal("0.0005"))
    return Runner(market=market, exchange_for=lambda bot: exchange, owner="test")


def test_the_bot_page_shows_state_chart_breakdown_confirmations_and_orders(client, demo, market):
    bot = demo[0]
    _runner(market).tick()
    html = client.get(reverse("dashboard:bot_detail", args=[bot.pk])).content.decode()
    for panel in ("bot-header", "signal-breakdown", "confirmation-history", "orders-panel"):
        assert f'id="{panel}"' in html, panel
    assert f'data-url="{reverse("dashboard:bot_chart", args=[bot.pk])}"' in html
    assert "/static/vendor/lightweight-charts/5.2.1/lightweight-charts.standalone.production.js" in html
    assert "Evaluate now" in html and "Reset confirmation" in html and "Stop</button>" in html


def test_the_signal_breakdown_shows_raw_values_score_weight_and_contribution(htmx, demo, market):
    bot = demo[0]
    _runner(market).tick()
    bot.refresh_from_db()
    html = htmx(reverse("dashboard:bot_signals_panel", args=[bot.pk])).content.decode()
    for row in bot.last_evaluation["signals"]:
        assert f'data-signal="{row["name"]}"' in html
        assert REGISTRY[row["name"]].label in html
        assert signed(row["contribution"], 3) in html
        for key in row["indicators"]:
            assert f"<b>{key}</b>" in html
    assert "<tfoot>" in html and f"{bot.last_score:+.3f}" in html


def test_the_confirmation_history_lists_confirmation_events_only(htmx, make_bot, market, clock, wallet):
    bot = make_bot(score=0.5, confirmation_minutes=10)
    _runner(market).tick()
    html = htmx(reverse("dashboard:bot_confirmations_panel", args=[bot.pk])).content.decode()
    assert "buy signal at score +0.500; confirming for 10 min" in html
    assert "started" not in html  # state events belong to the activity panel, not here


def test_orders_and_trades_panel(htmx, make_bot, market, wallet):
    bot = make_bot(score=1.0)
    _runner(market).tick()
    order, trade = Order.objects.get(bot=bot), Trade.objects.get(bot=bot)
    html = htmx(reverse("dashboard:bot_orders_panel", args=[bot.pk])).content.decode()
    assert order.status in html and "paper" in html
    assert f"{trade.price:,.2f}" in html and "BUY" in html


def test_a_panel_of_a_deleted_bot_stops_polling(htmx, demo):
    bot = demo[0]
    pk = bot.pk
    ActivityEvent.objects.filter(bot=bot).delete()
    bot.delete()
    for name in ("bot_header_panel", "bot_signals_panel", "bot_confirmations_panel", "bot_orders_panel"):
        assert htmx(reverse(f"dashboard:{name}", args=[pk])).status_code == 286, name


def test_the_chart_json_carries_the_bots_own_indicator_series(client, demo, market):
    bot = demo[0]  # BTC Scalper: RSI 35/65, MA 5/15
    data = json.loads(client.get(reverse("dashboard:bot_chart", args=[bot.pk])).content)
    assert data["product_id"] == "BTC-USD" and data["granularity"] == "5m"
    assert len(data["candles"]) == 300
    times = [c["time"] for c in data["candles"]]
    assert times == sorted(times) and times[-1] - times[-2] == 300
    assert data["thresholds"] == {"rsi_buy": 35, "rsi_sell": 65}
    assert data["labels"]["fast_ma"] == "SMA 5" and data["labels"]["slow_ma"] == "SMA 15"
    # The values are the signals' own: recompute the last fast MA from the closes.
    closes = np.array([c["close"] for c in data["candles"]])
    assert data["lines"]["fast_ma"][-1]["value"] == pytest.approx(closes[-5:].mean(), rel=1e-9)
    assert data["lines"]["rsi"][-1]["time"] == times[-1]
    assert 0 <= data["lines"]["rsi"][-1]["value"] <= 100
    for key in ("slow_ma", "macd", "macd_signal", "macd_histogram"):
        assert len(data["lines"][key]) == 300, key  # the warm-up is loaded before the first shown candle


def test_the_chart_marks_the_bots_fills_on_their_candles(client, make_bot, market, clock, wallet):
    bot = make_bot(score=1.0)
    runner = _runner(market)
    runner.tick()
    clock.advance(timedelta(minutes=30))
    Bot.objects.filter(pk=bot.pk).update(signal_config={"fixed": {"enabled": True, "weight": 1.0, "score": -1.0}})
    runner.tick()
    data = json.loads(client.get(reverse("dashboard:bot_chart", args=[bot.pk])).content)
    trades = list(Trade.objects.filter(bot=bot).order_by("executed_at"))
    assert [m["side"] for m in data["markers"]] == ["BUY", "SELL"]
    candle_times = {c["time"] for c in data["candles"]}
    for marker, trade in zip(data["markers"], trades):
        assert marker["time"] in candle_times
        assert marker["time"] <= trade.executed_at.timestamp() < marker["time"] + 300 * 2
        assert marker["price"] == str(trade.price)


# --- controls ----------------------------------------------------------------
def _post(client, name: str, bot: Bot, **headers):
    return client.post(reverse(f"dashboard:{name}", args=[bot.pk]), headers=headers)


def test_stop_and_start_answer_htmx_with_a_refresh_trigger(client, demo):
    bot = demo[0]
    response = _post(client, "bot_stop", bot, **{"HX-Request": "true"})
    assert response.status_code == 204
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["bots-changed"] == bot.pk and "stopped" in trigger["toast"]["message"]
    bot.refresh_from_db()
    assert bot.status == "stopped"
    assert _post(client, "bot_start", bot, **{"HX-Request": "true"}).status_code == 204
    bot.refresh_from_db()
    assert bot.status == "running"


def test_controls_without_javascript_redirect_back_with_a_message(client, demo):
    bot = demo[0]
    response = client.post(reverse("dashboard:bot_stop", args=[bot.pk]), {"next": "/"}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert f"{bot.name} stopped." in response.content.decode()
    response = client.post(reverse("dashboard:bot_start", args=[bot.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("dashboard:bot_detail", args=[bot.pk])


def test_evaluate_now_stores_an_evaluation_and_never_trades(client, make_bot, wallet):
    bot = make_bot(score=1.0)
    response = _post(client, "bot_evaluate", bot, **{"HX-Request": "true"})
    assert response.status_code == 204
    assert "score +1.000" in json.loads(response["HX-Trigger"])["toast"]["message"]
    bot.refresh_from_db()
    assert bot.last_score == 1.0 and bot.last_evaluated_at is not None
    assert not Order.objects.exists()


def test_reset_confirmation_clears_the_pending_action(client, make_bot, market, wallet):
    bot = make_bot(score=0.5, confirmation_minutes=10)
    _runner(market).tick()
    bot.refresh_from_db()
    assert bot.confirmation_action == "buy"
    assert _post(client, "bot_reset_confirmation", bot, **{"HX-Request": "true"}).status_code == 204
    bot.refresh_from_db()
    assert bot.confirmation_action == "hold" and bot.confirmation_since is None
