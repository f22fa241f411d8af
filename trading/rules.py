"""The per-candle trading rules, written once for the live path and the backtester.

Each rule is a small function over plain numbers. The live path calls them as
ordinary Python (``bots.evaluator`` for the score, action and confirmation,
``trading.risk`` for the gate and sizing); the backtester's compiled loop
(``trading.backtest.kernel``) calls the very same functions, which numba
compiles into it (``register_jitable``). There is no second copy of any rule
to drift out of step.

Numbers, and why the two paths agree exactly:

- Scores, weights and thresholds are floats in both paths, so the same IEEE
  operations in the same order give the same bits.
- Times are integer microseconds since the UNIX epoch (``NO_TIME`` for "none"),
  which is exactly what ``datetime``/``timedelta`` arithmetic is.
- Money rules use only ``+ - * //``, ``min`` and comparisons, so they run on any
  exact number type: the live path passes Decimal, the backtester passes
  int64 fixed-point amounts (see ``trading.backtest.units``). Both are exact,
  so both reach the same answer. ``//`` is only applied to non-negative
  values, where Decimal's truncation and integer floor division agree.
- The buy budget is a float rule (the score), so its result is an integer
  number of billionths of ``position_size_usd``: the one place a float decides
  money, it does so identically in both paths and the money stays exact.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from numba.extending import register_jitable

Amount = Decimal | int  # money: Decimal in the live path, fixed-point int64 in the backtest loop

# Actions (bots.evaluator.Action as integers).
HOLD, BUY, SELL = 0, 1, 2

# What the gate decided: ORDER, or the reason it skipped (trading.risk.SkipCode).
ORDER = 0
KILL_SWITCH = 1
DAILY_LOSS = 2
NO_FUNDS = 3
UNCONFIRMED = 4
SKIP_HOLD = 5
MAX_TRADES = 6
COOLDOWN = 7
TRANCHE_STEP = 8
MAX_POSITION = 9
BELOW_MINIMUM = 10
NOTHING_TO_SELL = 11
PRODUCT_DISABLED = 12
N_CODES = 13

NO_TIME = -(2**62)  # "no such time" in microsecond fields (far before any candle)
NANO = 1_000_000_000  # the buy budget is counted in billionths of position_size_usd


# --- the evaluator -------------------------------------------------------------
@register_jitable
def weigh(weighted: float, total_weight: float, weight: float, score: float) -> tuple[float, float]:
    """Add one signal's score to the running weighted sum; a missing (NaN) score adds nothing."""
    if math.isfinite(score):
        return weighted + weight * score, total_weight + weight
    return weighted, total_weight


@register_jitable
def combined_score(weighted: float, total_weight: float) -> float:
    """The weighted mean of the signals that had data (0 when none had), within [-1, +1]."""
    score = weighted / total_weight if total_weight > 0 else 0.0
    return max(-1.0, min(1.0, score))


@register_jitable
def action_code(score: float, buy_threshold: float, sell_threshold: float) -> int:
    """Buy at or above the buy threshold, sell at or below the sell threshold, else hold."""
    if score >= buy_threshold:
        return BUY
    if score <= sell_threshold:
        return SELL
    return HOLD


@register_jitable
def confirm_step(
    action: int, held_action: int, since: int, seen_at: int, now: int, window: int, stale_after: int
) -> tuple[int, int, bool, bool]:
    """Advance the confirmation by one observation; returns (since, elapsed, confirmed, restarted).

    A hold or a change of action resets the window; a pending action that no
    evaluation has seen for ``stale_after`` starts over, so a bot that was not
    watching cannot trade on a signal it never saw hold.
    """
    if action == HOLD:
        return NO_TIME, 0, False, False
    restarted = False
    if held_action != action or since == NO_TIME:
        since = now
    elif seen_at != NO_TIME and now - seen_at > stale_after:
        since = now
        restarted = True
    elapsed = max(now - since, 0)
    return since, elapsed, elapsed >= window, restarted


# --- the risk gate -------------------------------------------------------------
@register_jitable
def buy_fraction_nano(score: float, buy_threshold: float) -> int:
    """Share of position_size_usd to spend, in billionths: half at the buy threshold, all at +1."""
    excess = (score - buy_threshold) / (1.0 - buy_threshold) if buy_threshold < 1.0 else 1.0
    excess = min(max(excess, 0.0), 1.0)
    return math.floor((0.5 + 0.5 * excess) * NANO + 0.5)


@register_jitable
def precheck_code(
    kill_switch: bool,
    quote_available: Amount,
    quote_min: Amount,
    base_size: Amount,
    base_available: Amount,
    base_min: Amount,
) -> int:
    """Before any signal math: ORDER when the bot could buy or sell at all, else why not."""
    if kill_switch:
        return KILL_SWITCH
    if quote_available >= quote_min or min(base_size, base_available) >= base_min:
        return ORDER
    return NO_FUNDS


@register_jitable
def gate_code(
    action: int,
    confirmed: bool,
    kill_switch: bool,
    orders_allowed: bool,
    loss_limit: Amount,
    realised_today: Amount,
    max_trades: int,
    trades_today: int,
    has_last_trade: bool,
    since_last_trade: int,
    cooldown: int,
) -> int:
    """The risk rules before sizing, in their fixed order; the first that refuses wins."""
    if kill_switch:
        return KILL_SWITCH
    if loss_limit > 0 and realised_today <= -loss_limit:
        return DAILY_LOSS
    if action == HOLD:
        return SKIP_HOLD
    if not confirmed:
        return UNCONFIRMED
    if not orders_allowed:
        return PRODUCT_DISABLED
    if max_trades > 0 and trades_today >= max_trades:
        return MAX_TRADES
    if has_last_trade and since_last_trade < cooldown:
        return COOLDOWN
    return ORDER


@register_jitable
def tranche_blocked(
    base_size: Amount, has_last_buy: bool, mark: Amount, last_buy: Amount, step_pct: Amount, hundred: Amount
) -> bool:
    """A further buy needs the price ``step_pct`` percent (of ``hundred``) below the last buy."""
    return base_size > 0 and has_last_buy and mark * hundred > last_buy * (hundred - step_pct)


@register_jitable
def buy_size(
    fraction_nano: int,
    position_size: Amount,
    max_position: Amount,
    quote_available: Amount,
    base_size: Amount,
    mark: Amount,
    quote_increment: Amount,
    quote_min: Amount,
) -> tuple[int, Amount]:
    """(code, quote size) of a buy: the budget capped by the room under max_position and the balance.

    The budget counts whole quote increments of ``position_size``; the size is
    rounded down to the quote increment and refused under the exchange minimum
    (the size comes back with BELOW_MINIMUM so the reason can show it).
    """
    zero = quote_available * 0
    room = max_position - base_size * mark
    if room < quote_min:
        return MAX_POSITION, zero
    budget = position_size // quote_increment * fraction_nano // NANO * quote_increment
    size = min(budget, room, quote_available) // quote_increment * quote_increment
    if size < quote_min:
        return BELOW_MINIMUM, size
    return ORDER, size


@register_jitable
def sell_size(
    base_size: Amount, base_available: Amount, mark: Amount, base_increment: Amount, base_min: Amount, quote_min: Amount
) -> tuple[int, Amount]:
    """(code, base size) of a sell: the whole position, rounded down to the base increment."""
    held = min(base_size, base_available)
    if held <= 0:
        return NOTHING_TO_SELL, held * 0
    size = held // base_increment * base_increment
    if size < base_min or size * mark < quote_min:
        return BELOW_MINIMUM, size
    return ORDER, size


@register_jitable
def decide_order(
    action: int,
    confirmed: bool,
    kill_switch: bool,
    orders_allowed: bool,
    loss_limit: Amount,
    realised_today: Amount,
    max_trades: int,
    trades_today: int,
    has_last_trade: bool,
    since_last_trade: int,
    cooldown: int,
    fraction_nano: int,
    position_size: Amount,
    max_position: Amount,
    quote_available: Amount,
    base_size: Amount,
    base_available: Amount,
    mark: Amount,
    has_last_buy: bool,
    last_buy: Amount,
    step_pct: Amount,
    hundred: Amount,
    quote_increment: Amount,
    quote_min: Amount,
    base_increment: Amount,
    base_min: Amount,
) -> tuple[int, Amount, Amount]:
    """The whole risk gate in order: (code, quote size of a buy, base size of a sell).

    ``code`` is ORDER or the skip reason; sizes not involved come back as zero.
    """
    zero = quote_available * 0
    code = gate_code(
        action,
        confirmed,
        kill_switch,
        orders_allowed,
        loss_limit,
        realised_today,
        max_trades,
        trades_today,
        has_last_trade,
        since_last_trade,
        cooldown,
    )
    if code != ORDER:
        return code, zero, base_size * 0
    if action == BUY:
        if tranche_blocked(base_size, has_last_buy, mark, last_buy, step_pct, hundred):
            return TRANCHE_STEP, zero, base_size * 0
        code, quote = buy_size(
            fraction_nano, position_size, max_position, quote_available, base_size, mark, quote_increment, quote_min
        )
        return code, quote, base_size * 0
    code, base = sell_size(base_size, base_available, mark, base_increment, base_min, quote_min)
    return code, zero, base


# --- converting the live path's values ----------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(t: datetime | None) -> int:
    """An aware datetime as integer microseconds since the epoch (NO_TIME for None); exact."""
    return NO_TIME if t is None else (t - _EPOCH) // _MICROSECOND


def micros_of(delta: timedelta) -> int:
    """A timedelta as integer microseconds; exact."""
    return delta // _MICROSECOND
