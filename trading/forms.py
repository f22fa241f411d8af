"""The kill switch's confirmation step and the backtest form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms


class KillSwitchForm(forms.Form):
    """Engage or release the global stop; the trader must tick the box that says what it does."""

    engaged = forms.TypedChoiceField(
        choices=[("on", "Engage"), ("off", "Release")], coerce=lambda v: v == "on", widget=forms.HiddenInput
    )
    reason = forms.CharField(max_length=500, required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    confirm = forms.BooleanField(
        required=True,
        error_messages={"required": "Tick the box to confirm."},
    )


LOCAL = "%Y-%m-%dT%H:%M"  # what an <input type="datetime-local"> reads and sends


class BacktestForm(forms.Form):
    """What to backtest besides the bot's settings: the span, the candles and the starting balance."""

    SOURCES = [
        ("simulated", "Simulated market (SIM_SEED)"),
        ("stored", "Stored candles (manage.py fetch_candles)"),
    ]

    start = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL), help_text="UTC"
    )
    end = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL), help_text="UTC"
    )
    source = forms.ChoiceField(choices=SOURCES, initial="simulated")
    starting_balance = forms.DecimalField(
        min_value=Decimal("1"), max_digits=20, decimal_places=2, initial=Decimal("1000"), help_text="USD"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start >= end:
            self.add_error("end", "must be after the start")
        return cleaned
