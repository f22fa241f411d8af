"""What every dashboard view shares: the typed htmx request and a login check that suits polling.

A panel polls every few seconds. When its session expires, Django's
``login_required`` would answer the poll with a redirect that htmx follows,
swapping the whole login page into a small panel. Here an htmx request is
answered with ``HX-Redirect`` instead, so the browser goes to the login page
and comes back to the page the trader was on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required as django_login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's ``login_required``, but an htmx request without a session redirects the whole page."""
    page_view = django_login_required(view)

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.htmx and not request.user.is_authenticated:
            current = urlsplit(request.htmx.current_url or "/")
            back = current.path + (f"?{current.query}" if current.query else "")
            response = HttpResponse(status=401)
            response["HX-Redirect"] = redirect_to_login(back, settings.LOGIN_URL)["Location"]
            return response
        return page_view(request, *args, **kwargs)

    return wrapper
