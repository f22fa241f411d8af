"""How the dashboard prints numbers: one place, one way."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bots.evaluator import Action, Confirmation
from trading.formatting import (
    confirmation_progress,
    duration,
    money,
    price,
    score_gauge,
    signed,
    size,
    tone,
)


def test_money_and_signed_numbers():
    assert money(Decimal("1234.5")) == "1,234.50"
    assert money(None) == "—"
    assert signed(Decimal("12.3")) == "+12.30"
    assert signed(-0.25, 3) == "-0.250"
    assert signed(0.0001, 3) == "0.000"  # rounds to zero: no sign, no false gain
    assert tone(Decimal("-1")) == "down" and tone(0) == "flat" and tone("2") == "up"


def test_prices_keep_the_decimals_their_size_needs():
    assert price(Decimal("97123.456")) == "97,123.46"
    assert price(Decimal("2.345678")) == "2.3457"
    assert price(Decimal("0.123456789")) == "0.123457"
    assert size(Decimal("0.00123000")) == "0.00123" and size(Decimal("5")) == "5"


def test_durations():
    assert duration(timedelta(minutes=4, seconds=10)) == "4m 10s"
    assert duration(7500) == "2h 05m"
    assert duration(-3) == "0s"


def test_the_score_gauge_fills_from_the_middle_to_the_score():
    buy = score_gauge(0.5, 0.3, -0.3)
    assert 'class="gauge-fill up at-100 w-50"' in buy  # from 50% (half-percent steps), 25% wide
    assert 'class="gauge-tick buy at-130"' in buy and 'class="gauge-tick sell at-70"' in buy
    assert 'class="gauge-marker at-150"' in buy
    sell = score_gauge(-1.0, 0.3, -0.3)
    assert 'class="gauge-fill down at-0 w-100"' in sell
    assert "style=" not in buy + sell + score_gauge(0.1, 0.3, -0.3, scale=True)
    assert 'aria-valuenow="-1.000"' in sell
    unknown = score_gauge(None, 0.3, -0.3)
    assert "gauge-marker" not in unknown and "aria-valuenow" not in unknown
    assert "buy +0.30" in score_gauge(0.1, 0.3, -0.3, scale=True)


def test_confirmation_progress():
    required = timedelta(minutes=5)
    held = Confirmation(Action.BUY, None, required, timedelta(minutes=2), False)
    assert confirmation_progress(held).endswith("<b>buy</b> 40% · 3m 00s left")
    assert '<span class="w-80"></span>' in confirmation_progress(held)
    done = Confirmation(Action.SELL, None, required, required, True)
    assert "<b>sell</b> confirmed" in confirmation_progress(done)
    assert "nothing pending" in confirmation_progress(Confirmation(Action.HOLD, None, required, timedelta(0), False))


def test_positions_css_holds_a_rule_for_every_position_and_width_class():
    from pathlib import Path

    from trading.formatting import positions_css

    css = Path(__file__).resolve().parents[2] / "static" / "dashboard" / "positions.css"
    assert css.read_text() == positions_css(), (
        "static/dashboard/positions.css is stale: write positions_css() into it again"
    )
    assert ".at-137 { left: 68.5%; }" in positions_css() and ".w-200 { width: 100%; }" in positions_css()
