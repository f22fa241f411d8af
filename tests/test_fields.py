"""Texts that may quote an exchange are redacted as they are stored, by any way of writing them."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from autotrader.logging import REDACTED
from bots.models import ActivityEvent, Bot
from market.models import Heartbeat

pytestmark = pytest.mark.django_db
AT = datetime(2026, 1, 1, tzinfo=UTC)
JWT = (
    "eyJhbGciOiJFUzI1NiIsImtpZCI6Im9yZ2FuaXphdGlvbnMvYWJjL2FwaUtleXMvZGVmIn0"
    ".eyJzdWIiOiJvcmdhbml6YXRpb25zIn0.c2lnbmF0dXJl"
)
KEY = "organizations/abc-org/apiKeys/def-key"
LEAK = f"refused for {KEY}: Authorization: Bearer {JWT[:90]}"


def _stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


def _clean(text: str) -> bool:
    return "eyJ" not in text and "apiKeys" not in text and "abc-org" not in text and JWT[20:40] not in text


def test_save_update_and_bulk_writes_all_redact(make_bot):
    bot = make_bot(name="R")
    bot.paused_reason = LEAK
    bot.save()
    assert _clean(_stored("bots_bot", "paused_reason", bot.pk)) and _clean(bot.paused_reason)  # the instance too
    Bot.objects.filter(pk=bot.pk).update(last_skip_reason=LEAK)
    assert _clean(_stored("bots_bot", "last_skip_reason", bot.pk))
    ActivityEvent.objects.bulk_create([ActivityEvent(kind="error", message=LEAK, data={"e": LEAK}, at=AT)])
    event = ActivityEvent.objects.get(kind="error")
    assert _clean(event.message) and _clean(str(event.data)) and REDACTED in event.message


def test_json_fields_redact_at_any_depth():
    beat = Heartbeat.objects.create(name="t", role="ticker", host="h", pid=1, beat_at=AT, info={"a": [{"b": LEAK}]})
    assert _clean(_stored("trading_heartbeat", "info", beat.pk))


def test_a_text_is_cut_to_its_column_after_redaction_so_no_secret_is_cut_into_an_unrecognised_piece(make_bot):
    bot = make_bot(name="Long")
    reason = "x" * 470 + f" {KEY}"  # the key name straddles the 500th character
    Bot.objects.filter(pk=bot.pk).update(paused_reason=reason)
    stored = _stored("bots_bot", "paused_reason", bot.pk)
    assert len(stored) <= 500 and _clean(stored) and stored.endswith(REDACTED)


def test_redact_stored_text_cleans_rows_written_before(make_bot):
    bot = make_bot(name="Old")
    with connection.cursor() as cursor:  # as an older version wrote it, around the field
        cursor.execute("UPDATE bots_bot SET paused_reason = %s WHERE id = %s", [LEAK, bot.pk])
    out = StringIO()
    call_command("redact_stored_text", stdout=out)
    assert "bots.Bot: 1 rows redacted" in out.getvalue()
    assert _clean(_stored("bots_bot", "paused_reason", bot.pk))
    call_command("redact_stored_text", stdout=out)
    assert out.getvalue().endswith("0 rows changed\n")
