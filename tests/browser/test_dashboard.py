"""The dashboard in a real browser: login, live updates, controls, the chart, the form, the kill switch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from market.paper import PaperExchange
from market.types import Side
from trading.models import Position
from trading.risk import OrderIntent
from trading.runner import Runner
from trading.services import order_submit

from .conftest import PASSWORD

pytestmark = pytest.mark.browser
POLL_WAIT = 12_000  # two polling periods


def _exchange(market) -> PaperExchange:
    return PaperExchange(market, fee_rate=Decimal("0.006"), slippage_rate=Decimal("0.0005"))


def _tick(market, clock, step: timedelta = timedelta(minutes=1)) -> None:
    exchange = _exchange(market)
    Runner(market=market, exchange_for=lambda bot: exchange, owner="browser-test").tick()
    clock.advance(step)


def _trade_history(bot: Bot, market, clock) -> None:
    """Buys and sells at chosen market times, through the real order path, so the chart has fills to mark."""
    exchange = _exchange(market)
    product = market.product(bot.product_id)
    for n, (side, wait) in enumerate([(Side.BUY, 3), (Side.SELL, 2), (Side.BUY, 4), (Side.BUY, 1), (Side.SELL, 2)]):
        if side is Side.BUY:
            intent = OrderIntent(side, quote_size=Decimal("100"), base_size=None, reason="test buy")
        else:
            intent = OrderIntent(side, None, Position.objects.get(bot=bot).base_size, reason="test sell")
        order_submit(
            bot=bot, intent=intent, product=product, exchange=exchange, decision_key=f"browser-{n}", now=market.now()
        )
        clock.advance(timedelta(hours=wait))


def test_log_in_and_see_both_demo_bots(browser, live_server, admin_user, demo, market, clock, artifacts):
    _tick(market, clock)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/admin/login/?next=/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(live_server.url + "/")
    for bot in demo:
        card = page.locator(f"#bot-card-{bot.pk}")
        expect(card).to_contain_text(bot.name)
        expect(card).to_contain_text(bot.product_id)
    expect(page.locator("#mode-badge")).to_have_text("Paper trading")
    expect(page.locator("#activity-panel .event").first).to_be_visible()
    page.screenshot(path=str(artifacts / "overview.png"), full_page=True)
    page.close()


def test_prices_and_scores_change_without_a_reload_while_the_ticker_runs(page, live_server, demo, market, clock):
    _tick(market, clock)
    page.goto(live_server.url + "/")
    page.evaluate("window.__sameDocument = true")
    bot = demo[0]
    price = page.locator(f"#bot-card-{bot.pk} [data-field=price]")
    before = price.inner_text()
    for _ in range(3):
        _tick(market, clock)
    expect(price).not_to_have_text(before, timeout=POLL_WAIT)
    assert page.evaluate("window.__sameDocument") is True  # updated in place, never reloaded


def test_stop_and_start_a_bot(page, live_server, demo):
    bot = demo[0]
    page.goto(live_server.url + "/")
    card = page.locator(f"#bot-card-{bot.pk}")
    expect(card).to_have_attribute("data-status", "running")
    card.get_by_role("button", name="Stop").click()
    expect(card).to_have_attribute("data-status", "stopped")
    expect(page.locator("#toasts")).to_contain_text(f"{bot.name} stopped.")
    bot.refresh_from_db()
    assert bot.status == "stopped"
    card.get_by_role("button", name="Start").click()
    expect(card).to_have_attribute("data-status", "running")
    bot.refresh_from_db()
    assert bot.status == "running"


def test_the_bot_page_draws_the_chart_with_fill_markers(page, live_server, demo, market, clock, artifacts):
    bot = demo[0]
    _trade_history(bot, market, clock)
    _tick(market, clock)
    page.goto(f"{live_server.url}/bots/{bot.pk}/")
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-state", "ready")
    assert int(chart.get_attribute("data-markers")) == 5
    assert int(chart.get_attribute("data-candles")) == 300
    painted = page.evaluate(
        """() => {
            let best = 0;
            for (const canvas of document.querySelectorAll('#chart canvas')) {
                if (!canvas.width || !canvas.height) continue;
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let count = 0;
                for (let i = 0; i < data.length; i += 4) {
                    if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) count++;
                }
                best = Math.max(best, count);
            }
            return best;
        }"""
    )
    assert painted > 10_000, f"the chart canvas is (nearly) blank: {painted} painted pixels"
    expect(page.locator("#signal-breakdown tbody tr")).to_have_count(3)
    expect(page.locator("#orders-panel")).to_contain_text("SELL")
    page.screenshot(path=str(artifacts / "bot-page.png"), full_page=True)


def test_a_bad_bot_form_shows_the_field_error(page, live_server, demo):
    page.goto(live_server.url + "/bots/new/")
    page.fill("#id_name", "Too Heavy")
    page.fill("#id_product_id", "SOL-USD")
    page.fill("#id_rsi__weight", "0.9")
    total = page.locator("[data-weight-total]")
    expect(total).to_have_text("1.50")  # the running total, before anything is sent
    expect(page.locator("#weight-total")).to_have_class("weight-total over")
    page.fill("#id_rsi__period", "1")
    page.get_by_role("button", name="Create bot").click()
    expect(page.locator("#signal-errors")).to_contain_text("enabled signal weights total 1.5, more than 1.0")
    expect(page.locator("#id_rsi__period_errors")).to_have_text("must be at least 2")
    assert not Bot.objects.filter(name="Too Heavy").exists()


def test_turn_the_kill_switch_on_and_see_the_banner(page, live_server, demo):
    page.goto(live_server.url + "/")
    expect(page.locator("#kill-switch-banner")).to_have_count(0)
    page.get_by_role("link", name="Kill switch").click()
    page.fill("#id_reason", "browser test")
    page.get_by_role("button", name="Engage the kill switch").click()
    # The confirmation step: nothing is engaged until the box is ticked.
    expect(page.locator(".errorlist")).to_contain_text("Tick the box to confirm.")
    expect(page.locator("#kill-switch-banner")).to_have_count(0)
    page.check("#id_confirm")
    page.get_by_role("button", name="Engage the kill switch").click()
    expect(page.locator("#kill-switch-banner")).to_contain_text("KILL SWITCH ENGAGED")
    page.goto(f"{live_server.url}/bots/{demo[0].pk}/")
    expect(page.locator("#kill-switch-banner")).to_contain_text("browser test")


def test_a_backtest_runs_and_draws_its_equity_and_drawdown(page, live_server, demo, artifacts):
    page.goto(f"{live_server.url}/bots/{demo[0].pk}/")
    page.get_by_role("link", name="Backtest…").click()
    expect(page.locator("#id_cfg-rsi__buy_threshold")).to_have_value("35")
    page.get_by_role("button", name="Run backtest").click()
    expect(page.locator("#backtest-job")).to_have_attribute("data-state", "done")
    page.get_by_role("link", name="Open the run").click()
    chart = page.locator("#backtest-chart")
    expect(chart).to_have_attribute("data-state", "ready")
    assert int(chart.get_attribute("data-points")) > 1000
    assert int(chart.get_attribute("data-markers")) > 0
    expect(page.locator("#backtest-metrics")).to_contain_text("Buy and hold")
    page.screenshot(path=str(artifacts / "backtest.png"), full_page=True)
