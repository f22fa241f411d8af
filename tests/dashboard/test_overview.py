"""The overview and the panels every page shares: portfolio, bot cards, activity, status bar."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from bots.models import ActivityEvent, Bot
from bots.services import activity_record
from market.paper import PaperExchange
from trading.runner import Runner
from trading.services import kill_switch_set

pytestmark = pytest.mark.django_db
POLL = 'hx-trigger="every 5s, tab-visible from:body'


def _tick(market, clock, times: int = 1) -> None:
    exchange = PaperExchange(market, fee_rate=Decimal("0.006"), slippage_rate=Decimal("0.0005"))
    runner = Runner(market=market, exchange_for=lambda bot: exchange, owner="test")
    for _ in range(times):
        runner.tick()
        clock.advance(timedelta(minutes=1))


def test_the_overview_shows_the_portfolio_and_a_card_per_bot(client, demo, market, clock):
    _tick(market, clock)
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert "Total equity" in html and "1,000.00" in html  # the demo wallet, nothing bought yet
    for bot in Bot.objects.all():
        assert f'id="bot-card-{bot.pk}"' in html
        assert bot.name in html and bot.product_id in html
        assert f"{bot.last_score:+.3f}" in html
        assert bot.last_temperature in html
    assert "Stop</button>" in html
    assert 'role="meter"' in html  # the score gauge


def test_a_card_shows_temperature_emoji_action_confirmation_and_skip(client, make_bot, market, clock, wallet):
    bot = make_bot(score=0.5, confirmation_minutes=10)
    _tick(market, clock)
    html = client.get(reverse("dashboard:bot_cards_panel")).content.decode()
    bot.refresh_from_db()
    assert bot.last_temperature == "HOT"
    assert "🔥" in html and ">buy<" in html
    assert "left" in html  # confirmation in progress, with the time remaining
    assert bot.last_skip_reason and bot.last_skip_reason[:40] in html


def test_the_card_counts_the_confirmation_down_between_ticks(client, make_bot, market, clock, wallet):
    make_bot(score=0.5, confirmation_minutes=10)
    _tick(market, clock)  # the tick moves the clock a minute on
    html = client.get(reverse("dashboard:bot_cards_panel")).content.decode()
    assert "10%" in html and "9m 00s left" in html
    clock.advance(timedelta(minutes=4))
    html = client.get(reverse("dashboard:bot_cards_panel")).content.decode()
    assert "50%" in html and "5m 00s left" in html


def test_a_card_shows_the_position_and_last_trade(client, make_bot, market, clock, wallet):
    make_bot(score=1.0)
    _tick(market, clock)
    html = client.get(reverse("dashboard:bot_cards_panel")).content.decode()
    assert ">BUY</span>" in html
    assert "flat" not in html.split('data-field="position"')[1][:200]


def test_the_partials_are_fragments_that_poll_every_5s_while_visible(htmx, demo):
    for name in ("portfolio_panel", "bot_cards_panel", "activity_panel", "status_bar"):
        html = htmx(reverse(f"dashboard:{name}")).content.decode()
        assert "<html" not in html, name
        assert POLL in html and 'hx-swap="outerHTML"' in html, name
        assert f'hx-get="{reverse(f"dashboard:{name}")}"' in html, name


def test_the_activity_panel_is_newest_first_and_coloured_by_kind(htmx, demo, market):
    now = market.now()
    activity_record(kind=ActivityEvent.Kind.FILL, message="older fill", at=now - timedelta(minutes=5))
    activity_record(kind=ActivityEvent.Kind.ERROR, level="error", message="newer error", at=now)
    html = htmx(reverse("dashboard:activity_panel")).content.decode()
    assert html.index("newer error") < html.index("older fill")
    assert "event-error" in html and "event-fill" in html


def test_the_paper_badge_is_on_every_page(client, demo):
    for url in (reverse("dashboard:overview"), reverse("dashboard:health"), reverse("dashboard:bot_new")):
        assert 'id="mode-badge"' in client.get(url).content.decode()


def test_a_live_bot_is_unmistakable(client, demo, settings):
    settings.TRADING_MODE = "live"
    Bot.objects.filter(pk=demo[0].pk).update(live=True)
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert "Live trading" in html
    assert "LIVE MONEY" in html and demo[0].name in html.split("LIVE MONEY")[1][:300]
    assert "card is-live" in html


def test_the_kill_switch_banner_shows_on_every_page_while_engaged(client, htmx, demo, market):
    urls = [
        reverse("dashboard:overview"),
        reverse("dashboard:health"),
        reverse("dashboard:bot_detail", args=[demo[0].pk]),
    ]
    for url in urls:
        assert "KILL SWITCH ENGAGED" not in client.get(url).content.decode()
    kill_switch_set(engaged=True, reason="exchange outage", at=market.now())
    for url in urls:
        assert "KILL SWITCH ENGAGED" in client.get(url).content.decode(), url
    html = htmx(reverse("dashboard:status_bar")).content.decode()
    assert "KILL SWITCH ENGAGED" in html and "exchange outage" in html


def test_the_status_bar_says_when_the_runner_is_not_ticking(htmx, demo, market, clock):
    assert "Runner not started" in htmx(reverse("dashboard:status_bar")).content.decode()
    _tick(market, clock)
    assert "Runner ticking" in htmx(reverse("dashboard:status_bar")).content.decode()
