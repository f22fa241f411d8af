"""The kill switch's confirmation step."""

from __future__ import annotations

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
