import gzip
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from market.clock import ManualClock
from market.replay import ReplayMarket, load_csv
from market.types import Candles, Granularity, Product, UnknownProduct
from tests.conftest import make_candles

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
T0 = 1_699_920_000  # a UTC midnight
START = datetime.fromtimestamp(T0, UTC)
G5 = Granularity.FIVE_MINUTE

LTC = Product(
    product_id="LTC-USD",
    base_currency="LTC",
    quote_currency="USD",
    base_increment=Decimal("0.00000001"),
    quote_increment=Decimal("0.01"),
    price_increment=Decimal("0.01"),
    base_min_size=Decimal("0.00000001"),
    base_max_size=Decimal("50000"),
    quote_min_size=Decimal("1"),
    quote_max_size=Decimal("50000000"),
)


def series(n: int = 600) -> Candles:
    rng = np.random.default_rng(3)
    return make_candles(100 * np.exp(np.cumsum(rng.normal(0, 0.003, n))), start=T0, step=300)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def replay(candles: Candles | None = None, now: datetime | None = None, **kwargs) -> ReplayMarket:
    return ReplayMarket(LTC, candles if candles is not None else series(), G5, ManualClock(now or at(0)), **kwargs)


def with_future_changed(candles: Candles, i: int) -> Candles:
    """The same series with candle ``i``'s high, low and close and every later candle scrambled."""
    cols = {name: np.array(getattr(candles, name)) for name in ("open", "high", "low", "close", "volume")}
    for name in ("high", "low", "close", "volume"):
        cols[name][i:] *= 1.5
    cols["open"][i + 1 :] *= 0.5
    return Candles(candles.time, cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"])


def test_candles_are_only_those_closed_by_now():
    market = replay(now=at(52.5))
    c = market.candles("LTC-USD", G5, START, at(1_000))
    assert len(c) == 10
    assert c.time[-1] == T0 + 9 * 300
    assert market.candles("LTC-USD", G5, START, at(20)).time[-1] == T0 + 3 * 300
    assert len(market.candles("LTC-USD", G5, at(1), at(10))) == 1


def test_ticker_is_the_open_of_the_current_candle():
    base = series()
    market = replay(base, now=at(12))
    t = market.ticker("LTC-USD")
    assert t.price == t.bid == t.ask == Decimal(base.open[2]).quantize(Decimal("0.01"))
    assert t.time == at(12)
    assert market.price_at("LTC-USD", at(14.99)) == t.price


def test_ticker_with_a_spread_brackets_the_price():
    market = replay(now=at(12), spread_rate=Decimal("0.001"))
    t = market.ticker("LTC-USD")
    assert t.bid < t.price < t.ask
    assert (t.ask - t.bid) / t.price == pytest.approx(Decimal("0.001"), abs=Decimal("0.0002"))


@pytest.mark.parametrize("minutes", [0, 7.5, 299, 301.5, 1_000])
def test_nothing_from_the_future_leaks_into_candles_or_ticker(minutes):
    now = at(minutes)
    current = int(minutes // 5)  # the candle ``now`` falls in, still open
    honest, changed = replay(series(), now), replay(with_future_changed(series(), current), now)
    for g in (G5, Granularity.FIFTEEN_MINUTE, Granularity.ONE_HOUR):
        a = honest.candles("LTC-USD", g, START, at(10_000))
        b = changed.candles("LTC-USD", g, START, at(10_000))
        for name in ("time", "open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert honest.ticker("LTC-USD") == changed.ticker("LTC-USD")


def test_coarser_candles_aggregate_whole_buckets_only():
    base = series()[3:]  # starts 15 minutes into the first hour
    market = replay(base, now=at(10_000))
    hours = market.candles("LTC-USD", Granularity.ONE_HOUR, START, at(10_000))
    assert hours.time[0] == T0 + 3_600  # the first, partial hour is left out
    assert hours.time[-1] + 3_600 <= base.time[-1] + 300
    first = base[9:21]
    assert hours.open[0] == first.open[0] and hours.close[0] == first.close[-1]
    assert hours.high[0] == first.high.max() and hours.low[0] == first.low.min()
    assert hours.volume[0] == pytest.approx(first.volume.sum())
    day = market.candles("LTC-USD", Granularity.ONE_DAY, START, at(10_000))
    assert len(day) == 1 and day.time[0] == T0 + 86_400


def test_coarser_candles_wait_for_the_bucket_to_close():
    market = replay(now=at(119))
    assert len(market.candles("LTC-USD", Granularity.ONE_HOUR, START, at(1_000))) == 1
    market.clock.set(at(120))
    assert len(market.candles("LTC-USD", Granularity.ONE_HOUR, START, at(1_000))) == 2


def test_finer_granularity_than_the_series_is_refused():
    with pytest.raises(ValueError, match="cannot build 1m candles from a 5m series"):
        replay(now=at(100)).candles("LTC-USD", Granularity.ONE_MINUTE, START, at(100))


def test_after_the_series_and_in_gaps_the_price_is_the_last_close():
    base = series(10)
    gapped = base[np.arange(10) != 5]  # no trades in the sixth five minutes
    market = replay(gapped, now=at(27))
    assert market.ticker("LTC-USD").price == Decimal(base.close[4]).quantize(Decimal("0.01"))
    market.clock.set(at(500))
    assert market.ticker("LTC-USD").price == Decimal(base.close[9]).quantize(Decimal("0.01"))


def test_before_the_first_candle_there_is_no_price():
    with pytest.raises(ValueError, match="before the replay's first candle"):
        replay(now=at(-1)).ticker("LTC-USD")
    assert len(replay(now=at(-1)).candles("LTC-USD", G5, at(-100), at(100))) == 0


def test_only_its_own_product():
    market = replay()
    assert market.products() == [LTC]
    with pytest.raises(UnknownProduct, match="BTC-USD"):
        market.candles("BTC-USD", G5, START, at(10))


def test_spread_rate_is_a_decimal_fraction():
    with pytest.raises(ValueError, match="spread_rate"):
        replay(spread_rate=0.001)
    with pytest.raises(ValueError, match="spread_rate"):
        replay(spread_rate=Decimal("1"))


def test_refuses_series_it_cannot_replay():
    with pytest.raises(ValueError, match="at least one candle"):
        replay(Candles.empty())
    with pytest.raises(ValueError, match="boundaries"):
        replay(make_candles(np.ones(5), start=T0 + 7))
    dup = series(3)
    with pytest.raises(ValueError, match="strictly increasing"):
        replay(Candles(np.array([T0, T0, T0 + 300]), dup.open, dup.high, dup.low, dup.close, dup.volume))


def test_keeps_its_own_copy_of_the_series():
    base = series(20)
    market = replay(base, now=at(100))
    before = market.candles("LTC-USD", G5, START, at(100)).close.copy()
    base.close[:] = 0
    np.testing.assert_array_equal(market.candles("LTC-USD", G5, START, at(100)).close, before)


CSV = "time,open,high,low,close,volume\n{rows}"


def test_load_csv_reads_iso_and_unix_times_plain_or_gzipped(tmp_path):
    iso = tmp_path / "iso.csv"
    iso.write_text(CSV.format(rows="2023-11-14T00:05:00Z,2,3,1,2.5,10\n2023-11-14T00:00:00Z,1,2,0.5,1.5,5\n"))
    unix = tmp_path / "unix.csv.gz"
    with gzip.open(unix, "wt") as f:
        f.write(CSV.format(rows=f"{T0},1,2,0.5,1.5,5\n{T0 + 300},2,3,1,2.5,10\n"))
    for path in (iso, unix):
        c = load_csv(path)
        assert list(c.time) == [T0, T0 + 300]
        assert list(c.close) == [1.5, 2.5] and list(c.volume) == [5, 10]


def test_load_csv_names_a_missing_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,open,high,low,close\n2023-11-14T00:00:00Z,1,2,0.5,1.5\n")
    with pytest.raises(ValueError, match="missing column 'volume'"):
        load_csv(path)


def test_load_csv_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(CSV.format(rows=f"{T0},1,2,0.5,1.5,5\n{T0 + 300},2,x,1,2.5,10\n"))
    with pytest.raises(ValueError, match="line 3"):
        load_csv(path)
    path.write_text(CSV.format(rows=f"{T0 * 1000},1,2,0.5,1.5,5\n"))
    with pytest.raises(ValueError, match="milliseconds"):
        load_csv(path)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real market data not found at {SHARED_DATA}")
def test_load_csv_reads_real_data_and_replays_it():
    path = SHARED_DATA / "LTC-BTC_5m.csv.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    c = load_csv(path)
    assert len(c) > 5_000
    assert c.time[0] == int(datetime(2018, 1, 10, 4, 55, tzinfo=UTC).timestamp())
    assert np.all(np.diff(c.time) % 300 == 0) and np.all(np.diff(c.time) > 0)
    assert np.all(c.low <= c.high)
    product = Product(
        product_id="LTC-BTC",
        base_currency="LTC",
        quote_currency="BTC",
        base_increment=Decimal("0.00000001"),
        quote_increment=Decimal("0.00000001"),
        price_increment=Decimal("0.00000001"),
        base_min_size=Decimal("0.001"),
        base_max_size=Decimal("100000"),
        quote_min_size=Decimal("0.0001"),
        quote_max_size=Decimal("1000"),
    )
    now = datetime.fromtimestamp(int(c.time[100]) + 60, UTC)
    market = ReplayMarket(product, c, G5, ManualClock(now))
    assert len(market.candles("LTC-BTC", G5, datetime.fromtimestamp(int(c.time[0]), UTC), now)) == 100
    assert market.ticker("LTC-BTC").price == Decimal(c.open[100]).quantize(Decimal("0.00000001"))
