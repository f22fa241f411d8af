"""Moving databases loses nothing: export_data then import_data restores every row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from bots.models import ActivityEvent, Bot
from market.models import PaperBalance
from tests.conftest import set_score
from trading.engine import bot_tick
from trading.models import Order, Position, Trade, Tranche

pytestmark = pytest.mark.django_db

MODELS = (Bot, Order, Trade, Position, Tranche, ActivityEvent, PaperBalance)


def snapshot():
    return {m.__name__: sorted(tuple(str(v) for v in row) for row in m.objects.values_list()) for m in MODELS}


def test_export_then_import_restores_everything(make_bot, market, wallet, clock, tmp_path, admin_user):
    bot = make_bot(score=1.0)
    for score in (1.0, -1.0, 1.0):
        set_score(bot, score)
        bot_tick(bot.pk, market=market, exchange_for=lambda b: wallet, now=market.now(), owner="t")
        clock.advance(timedelta(minutes=10))
    before = snapshot()
    assert len(before["Trade"]) == 3
    path = tmp_path / "export.json.gz"
    call_command("export_data", str(path))

    for model in (Tranche, Trade, Order, Position, ActivityEvent, Bot, PaperBalance):
        model.objects.all().delete()
    get_user_model().objects.all().delete()
    call_command("import_data", str(path))

    assert snapshot() == before
    assert get_user_model().objects.get(username=admin_user.username).check_password("password")


def test_import_refuses_a_database_with_bots(make_bot, market, tmp_path):
    make_bot()
    path = tmp_path / "e.json"
    call_command("export_data", str(path))
    with pytest.raises(CommandError, match="already has bots"):
        call_command("import_data", str(path))


def test_import_of_a_bad_file_names_it(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match=r"cannot read .*bad\.json"):
        call_command("import_data", str(bad))
