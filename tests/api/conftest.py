"""Fixtures for the API tests: a user with a token, clients, a bot that has traded."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bots.models import Bot
from trading.engine import bot_tick
from trading.models import BacktestRun, Order


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user(username="trader", password="a-long-password", is_staff=True)


@pytest.fixture
def token(user) -> Token:
    return Token.objects.create(user=user)


@pytest.fixture
def api(token, market) -> APIClient:
    """A client authenticated by token, on the simulated market of tests/conftest.py."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def anon(market) -> APIClient:
    return APIClient()


def tick(bot: Bot, market, exchange) -> None:
    bot_tick(bot.pk, market=market, exchange_for=lambda b: exchange, now=market.now(), owner="test")


@pytest.fixture
def traded_bot(make_bot, market, wallet) -> Bot:
    """A running BTC-USD bot that bought once: an order, a fill, an open position."""
    bot = make_bot(score=1.0, name="Trader")
    tick(bot, market, wallet)
    assert Order.objects.filter(bot=bot, status="FILLED").exists()
    bot.refresh_from_db()
    return bot


@pytest.fixture
def rejected_order(traded_bot, market) -> Order:
    """An order the exchange refused, with its reason."""
    return Order.objects.create(
        bot=traded_bot,
        client_order_id="at-rejected",
        decision_key=f"{traded_bot.pk}:rejected",
        mode=Order.Mode.PAPER,
        product_id="BTC-USD",
        side="BUY",
        quote_size=Decimal("5000"),
        status="REJECTED",
        reject_reason="INSUFFICIENT_FUND",
        reject_message="not enough USD",
        created_at=market.now(),
    )


@pytest.fixture
def backtest_run(traded_bot, market) -> BacktestRun:
    """A stored backtest whose Sharpe ratio came out undefined (NaN), as a flat run's does."""
    return BacktestRun.objects.create(
        name="Trader",
        bot=traded_bot,
        config={"signal_config": traded_bot.signal_config},
        product_id="BTC-USD",
        granularity="5m",
        source="simulated market, seed 7",
        start=market.now() - timedelta(days=7),
        end=market.now(),
        candles=2016,
        starting_balance=Decimal("1000"),
        fee_rate=Decimal("0.006"),
        slippage_rate=Decimal("0.0005"),
        total_return=0.0,
        buy_and_hold_return=0.031,
        max_drawdown=0.0,
        sharpe=float("nan"),
        trades=0,
        metrics={"total_return": 0.0, "sharpe": None, "win_rate": None},
        trade_list=[],
    )


@pytest.fixture
def fuzz_world(traded_bot, rejected_order, backtest_run, market):
    """Something for every endpoint to find: a bot that traded, one on real signals, a rejection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from bots.services import bot_create

    bot_create(name="ETH Momentum", product_id="ETH-USD", granularity="15m")
    # The fuzzer calls the real WSGI handler, which would close the test's
    # connection around each request (Django's test client avoids that too).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
