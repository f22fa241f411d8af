"""Backtests from the dashboard: the form, the job in the background, past runs and their charts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from bots.models import Bot
from trading.backtest_jobs import backtest_job_get
from trading.models import BacktestRun

pytestmark = pytest.mark.django_db


def _form(bot: Bot, market, **overrides) -> dict:
    """The new-backtest form as the page fills it for ``bot``, with ``overrides``."""
    end = market.now().replace(minute=0, second=0, microsecond=0)
    data = {
        "bot": bot.pk,
        "start": (end - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "end": end.strftime("%Y-%m-%dT%H:%M"),
        "source": "simulated",
        "starting_balance": "1000",
        "cfg-product_id": bot.product_id,
        "cfg-granularity": bot.granularity,
        "cfg-buy_threshold": bot.buy_threshold,
        "cfg-sell_threshold": bot.sell_threshold,
        "cfg-confirmation_minutes": bot.confirmation_minutes,
        "cfg-position_size_usd": bot.position_size_usd,
        "cfg-max_position_usd": bot.max_position_usd,
        "cfg-trade_step_pct": bot.trade_step_pct,
        "cfg-cooldown_minutes": bot.cooldown_minutes,
        "cfg-max_trades_per_day": bot.max_trades_per_day,
        "cfg-daily_loss_limit_usd": bot.daily_loss_limit_usd,
    }
    for name, settings in bot.signal_config.items():
        for key, value in settings.items():
            if key == "enabled":
                if value:
                    data[f"cfg-{name}__enabled"] = "on"
            else:
                data[f"cfg-{name}__{key}"] = value
    data.update(overrides)
    return data


@pytest.fixture
def ran(client, demo, market, django_capture_on_commit_callbacks):
    """One backtest of the BTC Scalper, started from the form and run inline (sync django-q2)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dashboard:backtest_new"), _form(demo[0], market))
    assert response.status_code == 302, response.content.decode()[:2000]
    job_id = response["Location"].rstrip("/").split("/")[-1]
    return backtest_job_get(job_id=job_id)


def test_the_form_starts_from_the_bots_settings(client, demo):
    html = client.get(reverse("dashboard:backtest_new"), {"bot": demo[0].pk}).content.decode()
    assert 'name="cfg-rsi__buy_threshold" value="35"' in html
    assert 'name="cfg-product_id"' in html and 'value="BTC-USD"' in html
    assert 'type="datetime-local"' in html


def test_bad_span_or_settings_are_reported_next_to_the_field(client, demo, market):
    bad = _form(demo[0], market, end=_form(demo[0], market)["start"], **{"cfg-rsi__period": "1"})
    response = client.post(reverse("dashboard:backtest_new"), bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert "must be after the start" in html and "must be at least 2" in html
    assert not BacktestRun.objects.exists()


def test_a_backtest_runs_in_the_background_and_its_page_stops_polling_when_done(client, htmx, ran, demo):
    assert ran.state == "done" and ran.run_id
    run = BacktestRun.objects.get(pk=ran.run_id)
    assert run.bot == demo[0] and run.name == "BTC Scalper" and run.source == "simulated market"
    response = htmx(reverse("dashboard:backtest_job_panel", args=[ran.id]))
    assert response.status_code == 286
    assert reverse("dashboard:backtest_detail", args=[run.pk]) in response.content.decode()
    assert "hx-trigger" not in response.content.decode()


def test_a_queued_job_shows_its_progress_and_keeps_polling(client, htmx, demo, market):
    response = client.post(reverse("dashboard:backtest_new"), _form(demo[0], market))  # not committed: stays queued
    job_id = response["Location"].rstrip("/").split("/")[-1]
    panel = htmx(reverse("dashboard:backtest_job_panel", args=[job_id]))
    assert panel.status_code == 200
    html = panel.content.decode()
    assert "every 2s" in html and "Waiting for a worker" in html
    assert client.get(reverse("dashboard:backtest_job", args=["no-such-job"])).status_code == 404


def test_an_edited_copy_is_backtested_without_changing_the_bot(
    client, demo, market, django_capture_on_commit_callbacks
):
    bot = demo[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dashboard:backtest_new"), _form(bot, market, **{"cfg-rsi__period": "7"}))
    job = backtest_job_get(job_id=response["Location"].rstrip("/").split("/")[-1])
    run = BacktestRun.objects.get(pk=job.run_id)
    assert run.name == "BTC Scalper (edited copy)" and run.config["signal_config"]["rsi"]["period"] == 7
    bot.refresh_from_db()
    assert bot.signal_config["rsi"]["period"] == 14


def test_the_run_page_shows_metrics_and_round_trips(client, ran):
    run = BacktestRun.objects.get(pk=ran.run_id)
    html = client.get(reverse("dashboard:backtest_detail", args=[run.pk])).content.decode()
    for label in ("Return", "Buy and hold", "Max drawdown", "Sharpe", "Round trips"):
        assert f'<div class="label">{label}</div>' in html
    assert "data-backtest-chart" in html and reverse("dashboard:backtest_chart", args=[run.pk]) in html
    listing = client.get(reverse("dashboard:backtest_list")).content.decode()
    assert reverse("dashboard:backtest_detail", args=[run.pk]) in listing


def test_the_chart_has_equity_buy_and_hold_drawdown_and_fills_even_when_recomputed(client, ran):
    run = BacktestRun.objects.get(pk=ran.run_id)
    kept = json.loads(client.get(reverse("dashboard:backtest_chart", args=[run.pk])).content)
    for key in ("close", "equity", "buy_and_hold", "drawdown"):
        assert len(kept["lines"][key]) == run.candles, key
    assert kept["lines"]["equity"][0]["value"] == pytest.approx(1000)
    assert all(point["value"] <= 0 for point in kept["lines"]["drawdown"])
    assert run.metrics["fills"] > 0 and len(kept["markers"]) == run.metrics["fills"]
    cache.delete(f"backtest-chart:{run.pk}")  # as for a run saved by manage.py backtest
    redrawn = json.loads(client.get(reverse("dashboard:backtest_chart", args=[run.pk])).content)
    assert redrawn == kept and "note" not in redrawn


def test_run_and_job_pages_need_a_login(ran):
    anonymous = Client()
    urls = [
        reverse("dashboard:backtest_detail", args=[ran.run_id]),
        reverse("dashboard:backtest_chart", args=[ran.run_id]),
        reverse("dashboard:backtest_job", args=[ran.id]),
        reverse("dashboard:backtest_job_panel", args=[ran.id]),
    ]
    for url in urls:
        assert anonymous.get(url)["Location"].startswith("/admin/login/"), url


@pytest.mark.parametrize(("bot", "status", "says"), [("abc", 400, "is not a bot id"), ("1'", 400, "is not a bot id")])
def test_a_malformed_bot_id_is_refused_with_the_form_not_a_500(client, demo, bot, status, says):
    response = client.get(reverse("dashboard:backtest_new"), {"bot": bot})
    assert response.status_code == status
    html = response.content.decode()
    assert says in html and 'name="cfg-product_id"' in html  # the form again, for the first bot


def test_an_unknown_bot_id_is_a_404_with_the_form(client, demo):
    response = client.get(reverse("dashboard:backtest_new"), {"bot": "999999"})
    assert response.status_code == 404
    assert "There is no bot 999999" in response.content.decode()


@pytest.mark.parametrize("bot", ["abc", "1'", "999999", "9" * 40])
def test_posting_a_bad_bot_starts_nothing(client, demo, market, bot, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("dashboard:backtest_new"), {**_form(demo[0], market), "bot": bot})
    assert response.status_code in (400, 404)
    assert "choose a bot from the list" in response.content.decode()
    assert not callbacks and not BacktestRun.objects.exists()
