"""The kill switch: a confirmation step, then every page shows the banner."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bots.models import ActivityEvent
from trading.models import KillSwitch

pytestmark = pytest.mark.django_db


def test_the_confirmation_page_explains_and_asks(client, demo):
    html = client.get(reverse("dashboard:kill_switch")).content.decode()
    assert "stops <b>every</b> bot" in html and "Engage the kill switch" in html
    assert 'name="engaged" value="on"' in html


def test_the_kill_switch_is_not_engaged_without_the_confirmation_box(client, demo):
    response = client.post(reverse("dashboard:kill_switch_change"), {"engaged": "on", "reason": "test"})
    assert response.status_code == 400
    assert "Tick the box to confirm." in response.content.decode()
    assert not KillSwitch.objects.filter(engaged=True).exists()


def test_engaging_shows_the_banner_and_records_who_and_why(client, demo, trader):
    response = client.post(
        reverse("dashboard:kill_switch_change"),
        {"engaged": "on", "reason": "flash crash", "confirm": "on"},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("dashboard:overview"), 302)]
    html = response.content.decode()
    assert "KILL SWITCH ENGAGED" in html and "flash crash" in html
    switch = KillSwitch.objects.get(pk=1)
    assert switch.engaged and switch.changed_by == "trader"
    event = ActivityEvent.objects.get(kind="breaker")
    assert "ENGAGED by trader: flash crash" in event.message


def test_releasing_needs_the_same_confirmation_and_removes_the_banner(client, demo):
    client.post(reverse("dashboard:kill_switch_change"), {"engaged": "on", "confirm": "on"})
    html = client.get(reverse("dashboard:kill_switch")).content.decode()
    assert "Release the kill switch" in html and 'name="engaged" value="off"' in html
    response = client.post(reverse("dashboard:kill_switch_change"), {"engaged": "off", "confirm": "on"}, follow=True)
    assert "KILL SWITCH ENGAGED" not in response.content.decode()
    assert not KillSwitch.objects.get(pk=1).engaged
