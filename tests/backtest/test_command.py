"""manage.py backtest: bots or config files, CSV or stored candles, tables, JSON, charts, sweeps, the admin."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from market.models import Candle
from tests.backtest.conftest import FAST_SIGNALS, T0, swings
from trading.models import BacktestRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def csv_file(tmp_path):
    candles = swings(1500, seed=21)
    path = tmp_path / "btc.csv"
    rows = ["time,open,high,low,close,volume"]
    columns = zip(candles.time, candles.open, candles.high, candles.low, candles.close, candles.volume)
    rows += [
        f"{datetime.fromtimestamp(int(t), UTC).isoformat()},{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{v}"
        for t, o, h, lo, c, v in columns
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "bot.json"
    path.write_text(json.dumps({"name": "swing bot", "signal_config": FAST_SIGNALS, "confirmation_minutes": 5}))
    return path


def test_a_config_over_a_csv_prints_saves_writes_json_and_a_chart(config_file, csv_file, tmp_path, capsys):
    out, chart = tmp_path / "run.json", tmp_path / "run.html"
    call_command(
        "backtest", "--config", str(config_file), "--csv", str(csv_file), "--json", str(out), "--chart", str(chart)
    )
    printed = capsys.readouterr().out
    assert "swing bot on BTC-USD 5m" in printed and "Sharpe" in printed and "round trips" in printed

    run = BacktestRun.objects.get()
    assert (run.name, run.product_id, run.granularity, run.candles) == ("swing bot", "BTC-USD", "5m", 1500)
    assert run.start == datetime.fromtimestamp(T0 + 300, UTC)
    assert run.config["signal_config"] == FAST_SIGNALS and run.starting_balance == Decimal("1000")
    assert run.trades == len([t for t in run.trade_list if t["exit_time"]]) > 0
    assert run.metrics["fees_paid"] and run.source == f"csv:{csv_file}"

    payload = json.loads(out.read_text())
    assert payload["metrics"]["trades"] == run.trades
    assert {"entry_time", "exit_time", "entry_price", "exit_price", "size", "fees", "pnl"} <= set(payload["trades"][0])
    assert payload["fills"][0]["side"] == "BUY"
    html = chart.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 3 and "http" not in html.lower()


def test_a_bot_over_stored_candles_with_a_start_and_an_end(make_bot, capsys):
    bot = make_bot(score=0.0, signal_config=FAST_SIGNALS, confirmation_minutes=5)
    candles = swings(2000, seed=22)
    columns = zip(candles.time, candles.open, candles.high, candles.low, candles.close, candles.volume)
    Candle.objects.bulk_create(
        Candle(product_id="BTC-USD", granularity="5m", time=datetime.fromtimestamp(int(t), UTC), open=o, high=h, low=lo,
               close=c, volume=v)
        for t, o, h, lo, c, v in columns
    )  # fmt: skip
    start, end = datetime.fromtimestamp(T0 + 600 * 300, UTC), datetime.fromtimestamp(T0 + 1800 * 300, UTC)
    call_command("backtest", "--bot", str(bot.pk), "--start", start.isoformat(), "--end", end.isoformat())
    run = BacktestRun.objects.get()
    assert run.bot == bot and run.source == "stored candles"
    # Trading starts at --start; the candles before it (history_needed) only warm the indicators up.
    assert run.start == datetime.fromtimestamp(T0 + 601 * 300, UTC) and run.candles == 1200
    assert "to 2026-01-07" in capsys.readouterr().out


def test_a_sweep_with_a_walk_forward_split(config_file, csv_file, capsys):
    call_command(
        "backtest", "--config", str(config_file), "--csv", str(csv_file), "--grid", "rsi.period=4,6",
        "--grid", "macd.fast_period=4,5", "--rank-by", "total_return", "--train-fraction", "0.6", "--workers", "2",
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert "4 combinations of swing bot, ranked by total_return" in printed
    assert "best on the training part" in printed and "held-out" in printed
    run = BacktestRun.objects.get()
    assert len(run.sweep) == 4 and all(row["test"] is not None for row in run.sweep)
    best = run.sweep[0]["params"]
    assert run.config["signal_config"]["rsi"]["period"] == best["rsi.period"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--product", "BTC-USD", "--start", "2026-01-01", "--end", "2026-01-02"], "fetch_candles BTC-USD"),
        (["--csv", "{csv}", "--grid", "rsi.period"], "expected KEY=V1,V2"),
        (["--csv", "{csv}", "--chart", "out.png"], "HTML file"),
        (["--csv", "{csv}", "--granularity", "15m"], "15m boundaries"),
        (["--csv", "{csv}", "--product", "NOPE-USD"], "unknown product"),
    ],
)
def test_mistakes_are_reported_plainly(config_file, csv_file, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [a.format(csv=csv_file) for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("backtest", "--config", str(config_file), "--no-save", *args)
    assert not BacktestRun.objects.exists()


def test_the_admin_lists_backtests(admin_client, config_file, csv_file):
    call_command("backtest", "--config", str(config_file), "--csv", str(csv_file), "--trades", "0")
    run = BacktestRun.objects.get()
    page = admin_client.get("/admin/trading/backtestrun/")
    assert page.status_code == 200 and "swing bot" in page.content.decode()
    assert admin_client.get(f"/admin/trading/backtestrun/{run.pk}/change/").status_code == 200
