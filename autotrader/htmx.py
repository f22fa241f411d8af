"""What every dashboard view shares: the typed htmx request.

Who may call a view is not decided here but once for every view, by
``autotrader.access.StaffRequiredMiddleware`` (which also answers an htmx poll
without a session with ``HX-Redirect``, so the whole page goes to the login).
"""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
