"""The ticker: one active runner, heartbeats, and the commands around it."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from bots.models import Bot
from market.models import Heartbeat
from trading.models import KillSwitch, Lease, Order
from trading.runner import TICKER_LEASE, Runner, lease_claim, lease_release

pytestmark = pytest.mark.django_db


def test_tick_evaluates_every_running_bot_and_beats(make_bot, market, wallet):
    a, b = make_bot(score=0.0), make_bot(score=0.0)
    make_bot(score=0.0).__class__.objects.filter(name="bot-3").update(status=Bot.Status.STOPPED)
    report = Runner(market=market, exchange_for=lambda bot: wallet, owner="t").tick()
    assert sorted(r.bot_id for r in report.results) == sorted([a.pk, b.pk])
    beat = Heartbeat.objects.get(role="ticker")
    assert beat.info["bots"] == 2 and beat.info["market_time"] == market.now().isoformat()


def test_only_one_ticker_holds_the_lease(db):
    assert lease_claim(TICKER_LEASE, "a", 30)
    assert not lease_claim(TICKER_LEASE, "b", 30)
    assert lease_claim(TICKER_LEASE, "a", 30)  # renewal
    lease_release(TICKER_LEASE, "a")
    assert lease_claim(TICKER_LEASE, "b", 30)


def test_expired_ticker_lease_is_taken_over(db, time_machine):
    time_machine.move_to("2026-05-01 12:00:00+00:00", tick=False)
    assert lease_claim(TICKER_LEASE, "a", 30)
    time_machine.move_to("2026-05-01 12:00:29+00:00", tick=False)
    assert not lease_claim(TICKER_LEASE, "b", 30)
    time_machine.move_to("2026-05-01 12:00:31+00:00", tick=False)
    assert lease_claim(TICKER_LEASE, "b", 30)
    assert Lease.objects.get(name=TICKER_LEASE).owner == "b"


def test_standby_runner_does_not_tick(make_bot, market, wallet):
    make_bot(score=1.0)
    lease_claim(TICKER_LEASE, "the-other-host", 300)
    runner = Runner(market=market, exchange_for=lambda bot: wallet, owner="me")
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    runner.run(interval=0.05, stop=stop)
    assert not Order.objects.exists()
    assert Heartbeat.objects.get(role="ticker").info == {"lease": False}


def test_run_stops_after_max_ticks_and_releases_the_lease(make_bot, market, wallet):
    make_bot(score=0.0)
    runner = Runner(market=market, exchange_for=lambda bot: wallet, owner="me")
    assert runner.run(interval=0.01, stop=threading.Event(), max_ticks=3) == 3
    assert Lease.objects.get(name=TICKER_LEASE).owner == ""


# --- commands --------------------------------------------------------------------
def test_emergency_stop_on_and_off(market, capsys):
    call_command("emergency_stop", "on", "--reason", "exchange outage")
    switch = KillSwitch.objects.get(pk=1)
    assert switch.engaged and switch.reason == "exchange outage"
    call_command("emergency_stop", "status")
    assert "ENGAGED (exchange outage)" in capsys.readouterr().out
    call_command("emergency_stop", "off")
    assert not KillSwitch.objects.get(pk=1).engaged


def test_fix_signal_locks_check_reports_and_fix_clears(make_bot, market, wallet, clock):
    bot = make_bot(score=1.0, confirmation_minutes=5)
    Runner(market=market, exchange_for=lambda b: wallet, owner="t").tick()
    call_command("fix_signal_locks", "--check")  # a live, observed confirmation is not stuck
    Bot.objects.filter(pk=bot.pk).update(status=Bot.Status.STOPPED)
    with pytest.raises(CommandError, match="1 stuck confirmation"):
        call_command("fix_signal_locks", "--check")
    call_command("fix_signal_locks", "--fix")
    bot.refresh_from_db()
    assert bot.confirmation_action == "hold" and bot.confirmation_since is None
    call_command("fix_signal_locks", "--check")


def test_stale_confirmation_is_stuck_and_the_task_clears_it(make_bot, market, wallet, clock, settings):
    from trading.tasks import confirmations_clear_stale

    settings.STALE_CONFIRMATION_MINUTES = 30
    make_bot(score=1.0, confirmation_minutes=5)
    Runner(market=market, exchange_for=lambda b: wallet, owner="t").tick()
    assert confirmations_clear_stale() == 0
    clock.advance(timedelta(minutes=31))
    assert confirmations_clear_stale() == 1


def test_seed_demo_creates_two_bots_and_a_wallet_once(market):
    from market.models import PaperBalance

    call_command("seed_demo")
    call_command("seed_demo")
    bots = {b.name: b for b in Bot.objects.all()}
    assert set(bots) == {"BTC Scalper", "ETH Momentum Bot"}
    assert bots["BTC Scalper"].product_id == "BTC-USD" and bots["ETH Momentum Bot"].product_id == "ETH-USD"
    assert all(b.status == Bot.Status.RUNNING for b in bots.values())
    rsi_led = bots["BTC Scalper"].config
    weights = {s.name: s.weight for s in rsi_led.signals}
    assert weights["rsi"] == max(weights.values())
    assert all(s.enabled for s in bots["ETH Momentum Bot"].config.signals)
    assert PaperBalance.objects.get(currency="USD").available == Decimal("1000")


def test_ensure_admin_uses_the_environment(db, monkeypatch, capsys):
    from django.contrib.auth import get_user_model

    monkeypatch.setenv("ADMIN_USER", "boss")
    monkeypatch.setenv("ADMIN_PASSWORD", "s3cret-pass-phrase")
    call_command("ensure_admin")
    user = get_user_model().objects.get(username="boss")
    assert user.is_superuser and user.check_password("s3cret-pass-phrase")
    assert "s3cret-pass-phrase" not in capsys.readouterr().out
    call_command("ensure_admin")
    assert get_user_model().objects.count() == 1


def test_ensure_admin_generates_and_prints_a_password_once(db, monkeypatch, capsys):
    from django.contrib.auth import get_user_model

    monkeypatch.delenv("ADMIN_USER", raising=False)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)


# --- queue dispatch (scale-out) -------------------------------------------------
def test_queue_dispatch_evaluates_through_tasks(make_bot, market, wallet):
    from market.services import exchange_for

    a, b = make_bot(score=1.0), make_bot(score=0.0)
    runner = Runner(market=market, exchange_for=exchange_for, owner="t", dispatch="queue")
    report = runner.tick()  # django-q2 runs tasks inline in the test settings
    assert {r.outcome for r in report.results} == {"enqueued"} and len(report.results) == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.last_evaluated_at == b.last_evaluated_at == market.now()
    assert Order.objects.filter(bot=a).count() == 1 and not Order.objects.filter(bot=b).exists()


def test_duplicate_task_delivery_is_one_decision(make_bot, market):
    from market.models import PaperOrder
    from market.paper import paper_deposit
    from trading.tasks import evaluate_bot

    paper_deposit("USD", Decimal("1000"))
    bot = make_bot(score=1.0)
    at = market.now().isoformat()
    outcomes = [evaluate_bot(bot.pk, at), evaluate_bot(bot.pk, at), evaluate_bot(bot.pk, at)]
    assert outcomes[0] == "ordered"
    assert Order.objects.count() == PaperOrder.objects.count() == 1


def test_late_task_is_dropped(make_bot, market, wallet, clock):
    from trading.tasks import evaluate_bot

    bot = make_bot(score=1.0)
    at = market.now().isoformat()
    clock.advance(timedelta(days=1))
    assert evaluate_bot(bot.pk, at) == "stale"
    assert not Order.objects.exists()


def test_unknown_dispatch_is_refused(market):
    with pytest.raises(ValueError, match="dispatch must be"):
        Runner(market=market, exchange_for=lambda b: None, dispatch="threads")


def test_bots_sharing_a_wallet_see_each_others_spending_within_a_tick(make_bot, market, exchange):
    from market.paper import paper_deposit

    paper_deposit("USD", Decimal("150"))
    make_bot(score=1.0, product_id="BTC-USD")
    make_bot(score=1.0, product_id="ETH-USD")
    report = Runner(market=market, exchange_for=lambda bot: exchange, owner="t").tick()
    assert report.count("ordered") == 2
    sizes = sorted(Order.objects.values_list("quote_size", flat=True))
    assert sizes[1] == Decimal("100.00") and Decimal("49") < sizes[0] <= Decimal("50.00")
    assert set(Order.objects.values_list("status", flat=True)) == {"FILLED"}  # no INSUFFICIENT_FUND


def test_queue_dispatch_sends_bots_in_batches(make_bot, market, wallet, settings, monkeypatch):
    import django_q.tasks

    settings.EVALUATION_BATCH_SIZE = 2
    bots = [make_bot(score=0.0) for _ in range(5)]
    sent = []
    monkeypatch.setattr(django_q.tasks, "async_task", lambda func, *args, **kw: sent.append((func, args)))
    Runner(market=market, exchange_for=lambda b: wallet, owner="t", dispatch="queue").tick()
    assert [func for func, _ in sent] == ["trading.tasks.evaluate_bots"] * 3
    assert [len(args[0]) for _, args in sent] == [2, 2, 1]
    assert sorted(i for _, args in sent for i in args[0]) == sorted(b.pk for b in bots)


def test_a_batch_reports_each_bots_outcome(make_bot, market, wallet):
    from trading.tasks import evaluate_bots

    buyer, idle = make_bot(score=1.0), make_bot(score=0.0)
    at = market.now().isoformat()
    assert evaluate_bots([buyer.pk, idle.pk], at) == {buyer.pk: "ordered", idle.pk: "skipped"}
    evaluate_bots([buyer.pk, idle.pk], at)  # a duplicate delivery of the same batch
    assert Order.objects.count() == 1


@pytest.mark.parametrize("weak", ["password1234", "short-pw", "123456789012"])
def test_ensure_admin_refuses_a_weak_admin_password(db, monkeypatch, weak):
    from django.contrib.auth import get_user_model
    from django.core.management import CommandError

    monkeypatch.setenv("ADMIN_USER", "boss")
    monkeypatch.setenv("ADMIN_PASSWORD", weak)
    with pytest.raises(CommandError, match="ADMIN_PASSWORD is refused"):
        call_command("ensure_admin")
    assert not get_user_model().objects.exists()
