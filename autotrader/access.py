"""Who may use the dashboard: an active staff user, checked on every request.

One middleware guards every view by default (Django's ``LoginRequiredMiddleware``,
raised from "logged in" to "active staff"), so a new page cannot forget the check
and a user demoted or deactivated after logging in loses the dashboard on the next
request, session or not. Views that must stay open say so with Django's
``login_not_required``: the admin's login page, the liveness probe, and the API,
whose views (DRF marks them) check staff themselves and answer in JSON.

The answers:

- no session: the login page (``?next=`` back here);
- a session of a user who is not active staff: 403, with a page that says why;
- an htmx poll or control: the same status with ``HX-Redirect`` to the login
  page, so the whole page leaves rather than a small panel swapping in a login
  form or silently going stale (the admin's login page then says which account
  is signed in and that it is not allowed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

NOT_STAFF = "This account may not use autotrader: the dashboard and the API are for active staff users only."


def is_dashboard_user(user: Any) -> bool:
    """The one rule: a signed-in, active staff user (the admin and the API's ``IsAdminUser`` agree)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


class StaffRequiredMiddleware(LoginRequiredMiddleware):
    """Refuse every view to anyone but active staff, unless the view is marked ``login_not_required``."""

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not getattr(view_func, "login_required", True) or is_dashboard_user(request.user):
            return None
        signed_in = request.user.is_authenticated
        if getattr(request, "htmx", False):
            current = urlsplit(request.htmx.current_url or "/")  # type: ignore[attr-defined]
            back = current.path + (f"?{current.query}" if current.query else "")
            response = HttpResponse(status=403 if signed_in else 401)
            response["HX-Redirect"] = redirect_to_login(back, settings.LOGIN_URL)["Location"]
            return response
        if not signed_in:
            return self.handle_no_permission(request, view_func)
        raise PermissionDenied(NOT_STAFF)


def client_ip(request: HttpRequest) -> str:
    """The caller's address for login throttling, trusting exactly ``DJANGO_PROXY_COUNT`` proxies.

    Behind a reverse proxy every request comes from the proxy's address, so all
    callers would share one lockout. Each trusted proxy appends the address it
    saw to ``X-Forwarded-For``; the entry that many places from the right is
    the one the outermost trusted proxy saw. Entries further left are whatever
    the caller sent and are never trusted (a client could write any address
    there to dodge its lockout).
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.DJANGO_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < count:
        return remote  # a request that did not come through every proxy (a local probe)
    return hops[-count]
