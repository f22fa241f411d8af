from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from market import simulated
from market.clock import ManualClock
from market.replay import load_csv
from market.simulated import SimulatedMarket
from market.types import Granularity, UnknownProduct

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 30
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
IDS = ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "ADA-USD", "DOGE-USD", "LTC-USD", "LINK-USD", "AVAX-USD"]
G5 = Granularity.FIVE_MINUTE


@pytest.fixture(scope="module")
def market() -> SimulatedMarket:
    """Thirty days of history for every product, generated once for the module."""
    return SimulatedMarket(seed=7, epoch=EPOCH, clock=ManualClock(EPOCH + timedelta(days=DAYS)))


@pytest.fixture(scope="module")
def returns_5m(market) -> dict[str, np.ndarray]:
    end = market.now()
    return {pid: np.diff(np.log(market.candles(pid, G5, EPOCH, end).close)) for pid in IDS}


def excess_kurtosis(x: np.ndarray) -> float:
    d = x - x.mean()
    return float((d**4).mean() / (d**2).mean() ** 2 - 3)


def lag1_autocorrelation(x: np.ndarray) -> float:
    return float(np.corrcoef(x[:-1], x[1:])[0, 1])


def test_lists_nine_usd_pairs_with_coinbase_increments(market):
    assert [p.product_id for p in market.products()] == IDS
    btc = market.product("BTC-USD")
    assert btc.base_increment == Decimal("0.00000001")
    assert btc.price_increment == btc.quote_increment == Decimal("0.01")
    assert btc.base_min_size == Decimal("0.00000001")
    assert btc.quote_min_size == Decimal("1")
    assert all(p.market_orders_allowed and p.quote_currency == "USD" for p in market.products())


def test_unknown_product_is_a_key_error_naming_it(market):
    with pytest.raises(UnknownProduct, match="unknown product 'FOO-USD'") as info:
        market.candles("FOO-USD", G5, EPOCH, market.now())
    assert isinstance(info.value, KeyError)
    assert "BTC-USD" in str(info.value)
    with pytest.raises(KeyError):
        market.ticker("FOO-USD")


@pytest.mark.parametrize(("pid", "low", "high"), [("BTC-USD", 90_000, 100_000), ("DOGE-USD", 0.28, 0.32)])
def test_starts_at_real_looking_prices(market, pid, low, high):
    first = market.candles(pid, Granularity.ONE_MINUTE, EPOCH, EPOCH + timedelta(minutes=1))
    assert low < first.open[0] < high


def test_same_seed_and_epoch_give_identical_prices_in_any_order(market):
    clock = ManualClock(market.now())
    other = SimulatedMarket(seed=7, epoch=EPOCH, clock=clock)
    late = EPOCH + timedelta(days=20)
    # Ask the other instance for a late day first: it must still build the path from the epoch.
    a = other.candles("ETH-USD", G5, late, late + timedelta(days=1))
    b = market.candles("ETH-USD", G5, late, late + timedelta(days=1))
    np.testing.assert_array_equal(a.close, b.close)
    np.testing.assert_array_equal(a.volume, b.volume)
    assert other.price_at("BTC-USD", late) == market.price_at("BTC-USD", late)
    different = SimulatedMarket(seed=8, epoch=EPOCH, clock=clock)
    assert not np.array_equal(different.candles("ETH-USD", G5, late, late + timedelta(days=1)).close, b.close)


def test_evicted_chunks_are_rebuilt_identically(market, monkeypatch):
    monkeypatch.setattr(simulated, "MAX_CACHED_CHUNKS", 2)
    small = SimulatedMarket(seed=7, epoch=EPOCH, clock=ManualClock(market.now()))
    start, end = EPOCH + timedelta(days=3), EPOCH + timedelta(days=9)
    first = small.candles("SOL-USD", Granularity.ONE_HOUR, start, end)
    small.candles("SOL-USD", Granularity.ONE_HOUR, EPOCH + timedelta(days=20), market.now())
    again = small.candles("SOL-USD", Granularity.ONE_HOUR, start, end)
    np.testing.assert_array_equal(first.close, again.close)
    np.testing.assert_array_equal(first.close, market.candles("SOL-USD", Granularity.ONE_HOUR, start, end).close)


@pytest.mark.parametrize("granularity", list(Granularity))
def test_candles_are_aligned_complete_and_consistent(market, granularity):
    g = granularity.seconds
    now = EPOCH + timedelta(days=3, hours=7, minutes=3, seconds=17)
    view = SimulatedMarket(seed=7, epoch=EPOCH, clock=ManualClock(now))
    c = view.candles("LINK-USD", granularity, EPOCH, now + timedelta(days=10))
    assert len(c) > 0
    assert np.all(c.time % g == 0)
    assert np.all(np.diff(c.time) == g)
    assert c.time[0] >= EPOCH.timestamp()
    assert c.time[-1] + g <= now.timestamp() < c.time[-1] + 2 * g
    assert np.all(c.low <= np.minimum(c.open, c.close))
    assert np.all(c.high >= np.maximum(c.open, c.close))
    assert np.all(c.volume > 0)


def test_candles_respect_the_requested_window(market):
    start, end = EPOCH + timedelta(hours=1, minutes=2), EPOCH + timedelta(hours=2, minutes=1)
    c = market.candles("BTC-USD", G5, start, end)
    assert c.time[0] == (EPOCH + timedelta(hours=1, minutes=5)).timestamp()
    assert c.time[-1] == (EPOCH + timedelta(hours=1, minutes=55)).timestamp()


def test_nothing_before_the_epoch(market):
    before = EPOCH - timedelta(days=2)
    assert len(market.candles("BTC-USD", G5, before, EPOCH)) == 0
    assert market.candles("BTC-USD", G5, before, EPOCH + timedelta(hours=1)).time[0] == EPOCH.timestamp()
    with pytest.raises(ValueError, match="before the simulated market's epoch"):
        SimulatedMarket(seed=7, epoch=EPOCH, clock=ManualClock(before)).ticker("BTC-USD")
    with pytest.raises(ValueError, match="epoch"):
        market.price_at("BTC-USD", before)


def test_an_hour_is_the_aggregate_of_its_twelve_five_minute_candles(market):
    start, end = EPOCH + timedelta(days=4), EPOCH + timedelta(days=5)
    hours = market.candles("XRP-USD", Granularity.ONE_HOUR, start, end)
    fives = market.candles("XRP-USD", G5, start, end)
    assert len(hours) == 24 and len(fives) == 24 * 12
    grouped = {name: getattr(fives, name).reshape(24, 12) for name in ("open", "high", "low", "close", "volume")}
    np.testing.assert_array_equal(hours.time, fives.time[::12])
    np.testing.assert_array_equal(hours.open, grouped["open"][:, 0])
    np.testing.assert_array_equal(hours.close, grouped["close"][:, -1])
    np.testing.assert_array_equal(hours.high, grouped["high"].max(axis=1))
    np.testing.assert_array_equal(hours.low, grouped["low"].min(axis=1))
    np.testing.assert_allclose(hours.volume, grouped["volume"].sum(axis=1))


def test_ticker_quotes_a_tight_spread_around_the_last_price(market):
    for product in market.products():
        t = market.ticker(product.product_id)
        inc = product.price_increment
        assert t.bid < t.price < t.ask
        assert (t.ask - t.bid) / t.mid < Decimal("0.001")  # under 10 bps
        assert all(isinstance(v, Decimal) and v % inc == 0 for v in (t.bid, t.ask, t.price))
        assert t.price == market.price_at(product.product_id, market.now())
        assert t.time == market.now()
        last = market.candles(
            product.product_id, Granularity.ONE_MINUTE, market.now() - timedelta(minutes=5), market.now()
        )
        assert abs(float(t.price) / last.close[-1] - 1) < 0.01


def test_path_has_trends_ranges_and_calm_and_wild_days(market):
    for pid in IDS:
        hourly = market.candles(pid, Granularity.ONE_HOUR, EPOCH, market.now()).close
        day_returns = np.log(hourly[24:] / hourly[:-24])
        assert day_returns.min() < -0.01 and day_returns.max() > 0.01, pid
        fives = market.candles(pid, G5, EPOCH, market.now()).close
        per_day = np.log(fives).reshape(DAYS, 288)
        daily_vol = np.diff(per_day, axis=1).std(axis=1)
        assert daily_vol.max() >= 2 * daily_vol.min(), pid


def test_returns_are_fat_tailed_and_volatility_clusters(returns_5m):
    for pid, r in returns_5m.items():
        assert excess_kurtosis(r) > 1, pid
        assert lag1_autocorrelation(np.abs(r)) > 0.05, pid


def test_volume_is_heavier_when_prices_move(market, returns_5m):
    volume = market.candles("BTC-USD", G5, EPOCH, market.now()).volume[1:]
    assert np.corrcoef(volume, np.abs(returns_5m["BTC-USD"]))[0, 1] > 0.2


def test_coins_move_together(returns_5m):
    assert np.corrcoef(returns_5m["BTC-USD"], returns_5m["ETH-USD"])[0, 1] > 0.2


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real market data not found at {SHARED_DATA}")
def test_five_minute_returns_are_in_the_ballpark_of_real_markets(returns_5m):
    real = [np.diff(np.log(load_csv(f).close)) for f in sorted(SHARED_DATA.glob("*_5m.csv.gz"))]
    if not real:
        pytest.skip(f"no 5-minute files in {SHARED_DATA}")
    real_std = float(np.median([r.std() for r in real]))
    real_kurtosis = float(np.median([excess_kurtosis(r) for r in real]))
    sim_std = float(np.median([r.std() for r in returns_5m.values()]))
    sim_kurtosis = float(np.median([excess_kurtosis(r) for r in returns_5m.values()]))
    assert 0.2 * real_std < sim_std < 5 * real_std
    assert real_kurtosis / 5 < sim_kurtosis < real_kurtosis * 5
