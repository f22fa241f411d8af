"""Run a bot's config over a candle series: indicators once, then the compiled loop.

``BacktestData`` holds what does not depend on the bot's settings (candles,
product, fees, the quoted prices as fixed-point integers); ``run`` adds a
config: each enabled signal's ``series`` over the whole series (the signals'
own vectorised code, the same the live path reads the last value of), then
``trading.backtest.kernel`` steps through the candles. A sweep reuses one
``BacktestData`` and a memo of signal scores across its combinations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cached_property

import numpy as np

from bots.config import BotConfig
from bots.evaluator import confirmation_timing
from market.types import Candles, Product
from trading import rules
from trading.backtest import kernel
from trading.backtest.data import bid_ask, check_candles, quote_units
from trading.backtest.fills import FillParams
from trading.backtest.result import BacktestResult
from trading.backtest.units import LIMIT, Units, UnitsError, check_bounds, fraction

DEFAULT_FEE_RATE = Decimal("0.006")
DEFAULT_SLIPPAGE_RATE = Decimal("0.0005")


class BacktestError(ValueError):
    """A backtest that cannot run as asked; the message says why."""


@dataclass(frozen=True)
class BacktestSettings:
    """The exchange and wallet a backtest trades against (the paper exchange's defaults)."""

    starting_balance: Decimal = Decimal("1000")
    fee_rate: Decimal = DEFAULT_FEE_RATE
    slippage_rate: Decimal = DEFAULT_SLIPPAGE_RATE
    spread_rate: Decimal = Decimal("0")
    max_failures: int = 3  # MAX_CONSECUTIVE_FAILURES: rejected orders in a row before the bot pauses

    def __post_init__(self) -> None:
        if self.starting_balance <= 0:
            raise BacktestError("the starting balance must be positive")
        for name in ("fee_rate", "slippage_rate", "spread_rate"):
            rate = getattr(self, name)
            if not (rate.is_finite() and 0 <= rate < 1):
                raise BacktestError(f"{name.replace('_', ' ')} must be in [0, 1), got {rate}")
        if self.max_failures < 1:
            raise BacktestError("max_failures must be at least 1")


ScoreMemo = dict[tuple, np.ndarray]


@dataclass
class BacktestData:
    """A candle series ready to backtest on one product, with any number of configs."""

    candles: Candles
    product: Product
    granularity: object  # market.types.Granularity
    settings: BacktestSettings = field(default_factory=BacktestSettings)

    def __post_init__(self) -> None:
        try:
            check_candles(self.candles, self.granularity)
        except ValueError as exc:
            raise BacktestError(str(exc)) from None
        self._quotes: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @cached_property
    def close(self) -> np.ndarray:
        return np.ascontiguousarray(self.candles.close, dtype=np.float64)

    @cached_property
    def times(self) -> np.ndarray:
        return np.ascontiguousarray(self.candles.time, dtype=np.int64)

    def quotes(self, units: Units) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(price, bid, ask) quoted at each candle's close, in ``units``; computed once per unit size."""
        if units.price_places not in self._quotes:
            price = quote_units(self.candles, self.granularity, self.product, units)
            bid, ask = bid_ask(price, self.settings.spread_rate, self.product, units)
            self._quotes[units.price_places] = (price, bid, ask)
        return self._quotes[units.price_places]

    def __len__(self) -> int:
        return len(self.candles)


_NO_SCORES = np.zeros(0)


def signal_scores(config: BotConfig, candles: Candles, memo: ScoreMemo | None = None) -> tuple[np.ndarray, ...]:
    """Each enabled signal's score for every candle (NaN without data), padded for the loop."""
    if len(config.built) > kernel.MAX_SIGNALS:
        raise BacktestError(f"a backtest takes at most {kernel.MAX_SIGNALS} enabled signals")
    rows = []
    for spec, signal in config.built:
        key = (spec.name, tuple(sorted(signal.p.items())))
        score = memo.get(key) if memo is not None else None
        if score is None:
            try:
                score = np.ascontiguousarray(signal.series(candles).score, dtype=np.float64)
            except Exception as exc:  # a signal's own error, named, rather than a traceback
                raise BacktestError(f"signal {spec.name} failed: {type(exc).__name__}: {exc}") from exc
            if memo is not None:
                memo[key] = score
        rows.append(score)
    return (*rows, *[_NO_SCORES] * (kernel.MAX_SIGNALS - len(rows)))


def run(
    config: BotConfig,
    data: BacktestData,
    *,
    first: int = 0,
    last: int | None = None,
    scores: tuple[np.ndarray, ...] | None = None,
    memo: ScoreMemo | None = None,
) -> BacktestResult:
    """Backtest ``config``: decisions on the closes of candles ``first`` to ``last - 1``, marked to ``last``.

    Candles before ``first`` only warm the indicators up. ``last`` defaults to
    the final candle, whose close has no next open to fill at.
    """
    n = len(data)
    last = n - 1 if last is None else last
    if not 0 <= first < last <= n - 1:
        raise BacktestError(f"no candle to decide on between {first} and {last} (series of {n})")
    if config.granularity is not data.granularity:
        raise BacktestError(
            f"the bot reads {config.granularity.short} candles but the data is {data.granularity.short}"
        )
    settings, product = data.settings, data.product
    try:
        units = Units.for_product(
            product,
            settings.starting_balance,
            config.position_size_usd,
            config.max_position_usd,
            config.daily_loss_limit_usd,
        )
        price, bid, ask = data.quotes(units)
        p, f = _params(config, settings, product, units, int(ask.max()))
    except UnitsError as exc:
        raise BacktestError(str(exc)) from None
    scores = signal_scores(config, data.candles, memo) if scores is None else _padded(scores, len(config.built), n)
    weights = np.array([spec.weight for spec, _ in config.built], dtype=np.float64)
    out = kernel.outputs(n)
    n_orders, status = kernel.run(
        data.times,
        scores,
        weights,
        price,
        bid,
        ask,
        data.close,
        first,
        last,
        p,
        f,
        float(10**units.base_places),
        float(10**units.cash_places),
        out,
    )
    if status == kernel.OVERFLOW:
        raise BacktestError("amounts outgrew the backtester's fixed-point range; use a smaller starting balance")
    if status != kernel.COMPLETE:
        raise BacktestError("a sell left part of the position: the backtester's books would no longer be exact")
    equity, orders, order_scores, counts = out
    return BacktestResult(
        config=config,
        product=product,
        settings=settings,
        units=units,
        times=data.times,
        close=data.close,
        first=first,
        last=last,
        equity=equity,
        orders=orders[:n_orders],
        order_scores=order_scores[:n_orders],
        counts=counts,
    )


def _padded(scores: tuple[np.ndarray, ...], signals: int, n: int) -> tuple[np.ndarray, ...]:
    """Scores given by the caller, checked: the compiled loop does not check bounds."""
    rows = [np.ascontiguousarray(row, dtype=np.float64) for row in scores if len(row)]
    if len(rows) != signals or any(len(row) != n for row in rows):
        raise BacktestError(f"expected {signals} score rows of {n} candles")
    return (*rows, *[_NO_SCORES] * (kernel.MAX_SIGNALS - len(rows)))


def _params(
    config: BotConfig, settings: BacktestSettings, product: Product, units: Units, max_ask: int
) -> tuple[kernel.RuleParams, FillParams]:
    window, stale_after = confirmation_timing(config)
    step_num, step_den = fraction(config.trade_step_pct)
    f = fill_params(product, settings, units)
    position_size = units.cash(config.position_size_usd)
    max_price = 2 * max_ask  # above any fill price: the ask plus slippage under 100 %
    check_bounds(
        slippage_arithmetic=max_ask * (f.slippage_den + f.slippage_num),
        fee_arithmetic=(f.fee_den + f.fee_num) * max_price * f.fee_den,
        position_size=position_size // f.quote_increment * rules.NANO,
        tranche_step_arithmetic=max_price * 100 * step_den,
        starting_balance=units.cash(settings.starting_balance) * 1000,
    )
    p = kernel.RuleParams(
        granularity=config.granularity.seconds,
        buy_threshold=float(config.buy_threshold),
        sell_threshold=float(config.sell_threshold),
        window=rules.micros_of(window),
        stale_after=rules.micros_of(stale_after),
        cooldown=rules.micros_of(timedelta(minutes=config.cooldown_minutes)),
        max_trades=int(config.max_trades_per_day),
        max_failures=int(settings.max_failures),
        orders_allowed=bool(product.market_orders_allowed),
        loss_limit=units.cash(config.daily_loss_limit_usd),
        position_size=position_size,
        max_position=units.cash(config.max_position_usd),
        step_pct=step_num,
        hundred=100 * step_den,
        starting_cash=units.cash(settings.starting_balance),
        max_price=max_price,
    )
    return p, f


def fill_params(product: Product, settings: BacktestSettings, units: Units) -> FillParams:
    """The product's increments and limits and the exchange's rates, in ``units``."""
    slip_num, slip_den = fraction(settings.slippage_rate)
    fee_num, fee_den = fraction(settings.fee_rate)
    return FillParams(
        price_increment=units.price(product.price_increment),
        slippage_num=slip_num,
        slippage_den=slip_den,
        fee_num=fee_num,
        fee_den=fee_den,
        fee_increment=10 ** (units.cash_places - 8),
        quote_increment=units.cash(product.quote_increment),
        quote_min=units.cash(product.quote_min_size),
        quote_max=_capped(product.quote_max_size, units.cash_places),
        base_increment=units.base(product.base_increment),
        base_min=units.base(product.base_min_size),
        base_max=_capped(product.base_max_size, units.base_places),
    )


def _capped(value: Decimal, digits: int) -> int:
    """A maximum in units; a maximum beyond int64 is no limit the loop could reach."""
    scaled = int(value.scaleb(digits))
    return min(scaled, LIMIT - 1)
