"""The backtest loop: the books balance, fees are paid, time is candle time, nothing peeks ahead."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from bots.config import bot_config_from_values
from market.fills import fill_market_order
from market.types import Candles, Side, quantize_up
from tests.backtest.conftest import FAST_SIGNALS, G5, T0, config, data, swings, walk
from tests.conftest import make_candles
from trading.accounting import FillRecord, replay
from trading.backtest import BacktestError, run


def fixed(score: float, **values):
    """A bot on the test suite's fixed signal (tests.conftest.FixedSignal), confirming at once by default."""
    signal = {"fixed": {"enabled": True, "weight": 1.0, "score": score}}
    return bot_config_from_values({"signal_config": signal, "confirmation_minutes": 0, **values})


@pytest.fixture
def traded(btc):
    """A run with plenty of buys (tranches) and sells."""
    result = run(config(trade_step_pct="0.3", max_position_usd="450"), data(swings(3000, seed=4), btc))
    assert len(result.fills()) > 20
    return result


def test_all_signals_disabled_makes_no_trades(btc):
    off = {name: {**settings, "enabled": False} for name, settings in FAST_SIGNALS.items()}
    result = run(bot_config_from_values({"signal_config": off}), data(swings(2000), btc))
    assert result.fills() == [] and len(result.orders) == 0
    assert result.skips()["hold"] == 1999
    assert np.all(result.equity[result.span] == 1000.0)


def test_equity_is_cash_plus_holdings_at_every_close(traded):
    u, span = traded.units, traded.span
    cash, base, close = traded.cash[span], traded.base[span], traded.close[span]
    assert np.allclose(traded.equity[span], cash / 10.0**u.cash_places + base / 10.0**u.base_places * close, rtol=1e-13)
    assert cash.min() >= 0 and base.min() >= 0
    # And exactly, in Decimal: every close's cash and position are the starting cash plus the fills before it.
    for fill in traded.fills()[:10]:
        i = int((fill.time.timestamp() - G5.seconds - T0) // G5.seconds) + 1
        before, after = u.cash_decimal(int(traded.cash[i - 1])), u.cash_decimal(int(traded.cash[i]))
        assert after - before == (-fill.total if fill.side is Side.BUY else fill.total)


def test_fees_are_charged_on_every_fill(traded, btc):
    fee_rate = traded.settings.fee_rate
    for fill in traded.fills():
        value = fill.price * fill.size
        assert fill.fee == quantize_up(value * fee_rate, Decimal("0.00000001")) > 0
        assert fill.total == (value + fill.fee if fill.side is Side.BUY else value - fill.fee)
    paid = sum((f.fee for f in traded.fills()), Decimal(0))
    assert Decimal(traded.metrics["fees_paid"]) == paid


def test_every_fill_is_what_the_paper_fill_model_gives(traded, btc):
    s, candles = traded.settings, swings(3000, seed=4)
    for fill in traded.fills():
        i = int((fill.time.timestamp() - T0) // G5.seconds)  # the candle that opened as it filled
        opened = Decimal(float(candles.open[i])).quantize(btc.price_increment)
        sized = {"quote_size": fill.requested} if fill.side is Side.BUY else {"base_size": fill.requested}
        paper = fill_market_order(
            product=btc,
            side=fill.side,
            bid=opened,
            ask=opened,
            fee_rate=s.fee_rate,
            slippage_rate=s.slippage_rate,
            **sized,
        )
        assert (fill.price, fill.size, fill.fee, fill.total) == (paper.price, paper.base_size, paper.fee, paper.total)


def test_positions_and_pnl_agree_with_the_accounting(traded):
    records = [FillRecord(str(k), f.side, f.price, f.size, f.fee, "USD", f.time) for k, f in enumerate(traded.fills())]
    state = replay(records)
    u = traded.units
    assert state.base_size == u.base_decimal(int(traded.base[traded.last]))
    assert state.realised_pnl == sum((f.realised_pnl for f in traded.fills()), Decimal(0))
    closed = [t for t in traded.round_trips() if t.exit_time is not None]
    assert sum((t.pnl for t in closed), Decimal(0)) == state.realised_pnl
    assert traded.metrics["trades"] == len(closed)


def test_buy_and_hold_is_the_starting_balance_riding_the_close(btc, fixed_signal):
    candles = make_candles(np.array([100.0, 110.0, 90.0, 120.0, 150.0]), start=T0)
    result = run(fixed(0.0), data(candles, btc, starting_balance=Decimal("500")), first=1)
    assert result.buy_and_hold == pytest.approx([500.0, 500 * 90 / 110, 500 * 120 / 110, 500 * 150 / 110])
    assert result.metrics["buy_and_hold_return"] == pytest.approx(150 / 110 - 1)


def test_confirmation_window_is_counted_in_candles(btc, fixed_signal):
    result = run(fixed(1.0, confirmation_minutes=10), data(walk(40), btc))
    first = result.fills()[0]
    # Seen at the close of candles 0 and 1, held 10 minutes at the close of candle 2: filled then.
    assert first.time.timestamp() == T0 + 3 * G5.seconds
    assert result.skips()["unconfirmed"] == 2


def test_cooldown_is_counted_in_candles(btc, fixed_signal):
    falling = make_candles(30_000 * 0.999 ** np.arange(40), start=T0)
    values = {"cooldown_minutes": 12, "trade_step_pct": "0", "max_position_usd": "100000", "max_trades_per_day": 100}
    result = run(fixed(1.0, **values), data(falling, btc, starting_balance=Decimal("100000")))
    times = [f.time.timestamp() for f in result.fills()]
    assert np.all(np.diff(times) == 3 * G5.seconds)  # 12 minutes means the third candle after


def test_changing_a_future_candle_never_changes_an_earlier_decision(btc):
    candles = swings(1500, seed=9)
    base = run(config(), data(candles, btc))
    k = 900
    cols = {c: np.array(getattr(candles, c)) for c in ("open", "high", "low", "close", "volume")}
    for c in ("high", "low", "close", "volume"):
        cols[c][k:] *= 1.37
    cols["open"][k + 1 :] *= 0.71  # candle k's open is known at the close of k - 1; the rest is future
    changed = run(config(), data(Candles(candles.time, **cols), btc))
    cutoff = T0 + k * G5.seconds
    before = [f for f in base.fills() if f.time.timestamp() <= cutoff]
    assert before and before == [f for f in changed.fills() if f.time.timestamp() <= cutoff]
    assert np.array_equal(base.equity[:k], changed.equity[:k])
    assert len(base.fills()) != len(changed.fills()) or base.fills() != changed.fills()


def test_daily_loss_limit_pauses_until_the_next_utc_day(btc, fixed_signal):
    # Buy, sell, buy, sell...: fees alone lose money, and the limit stops the trading for the rest of the day.
    scores = np.tile([1.0, -1.0], 400)
    result = run(fixed(0.0, daily_loss_limit_usd="1"), data(walk(len(scores), start=T0), btc), scores=(scores,))
    skips = result.skips()
    assert skips.get("daily_loss_limit") == 3 and skips["paused"] > 0
    assert len({f.time.date() for f in result.fills()}) == 3  # trading resumed on each new day
    for trip in result.round_trips():
        assert trip.pnl < 0


def test_repeatedly_rejected_orders_pause_the_bot_for_good(btc, fixed_signal):
    tiny_max = replace(btc, quote_max_size=Decimal("10"))
    result = run(fixed(1.0), data(walk(50), tiny_max))
    assert [r["reason"] for r in result.rejected()] == ["ABOVE_MAX_SIZE"] * 3
    assert result.fills() == [] and result.skips()["paused"] == 49 - 3


def test_the_loop_refuses_amounts_it_cannot_hold_exactly(btc, fixed_signal):
    with pytest.raises(BacktestError, match="too large"):
        run(fixed(1.0), data(walk(50), btc, starting_balance=Decimal("10") ** 12))
    with pytest.raises(BacktestError, match="too large"):
        run(fixed(1.0), data(walk(50), btc, fee_rate=Decimal("0.00123456789")))


def test_the_data_must_match_the_bot_and_the_replay_market(btc, fixed_signal):
    with pytest.raises(BacktestError, match="reads 1m candles"):
        run(fixed(1.0, granularity="1m"), data(walk(50), btc))
    shuffled = walk(50)
    s = shuffled
    bad = Candles(s.time[::-1].copy(), s.open, s.high, s.low, s.close, s.volume)
    with pytest.raises(BacktestError, match="strictly increasing"):
        data(bad, btc)


def test_a_gap_fills_at_the_last_close_as_the_replay_market_quotes(btc, fixed_signal):
    close = 30_000 + 10 * np.arange(30.0)
    candles = Candles(T0 + 300 * np.arange(30), close - 5, close + 20, close - 20, close, np.ones(30))
    gappy = candles[np.r_[0:1, 2:30]]  # candle 1 is missing: at candle 0's close the market has no new open
    (fill,) = run(fixed(1.0, max_trades_per_day=1), data(gappy, btc)).fills()
    assert fill.time.timestamp() == T0 + 300
    assert fill.price == quantize_up(Decimal("30000") * Decimal("1.0005"), Decimal("0.01"))
    (fill,) = run(fixed(1.0, max_trades_per_day=1), data(candles, btc)).fills()
    assert fill.price == quantize_up(Decimal("30005") * Decimal("1.0005"), Decimal("0.01"))
