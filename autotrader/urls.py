"""URL map: the admin, health probes (the dashboard and API arrive with their issues)."""

from django.contrib import admin
from django.urls import include, path

from trading.views import healthz

admin.site.site_header = "autotrader"
admin.site.site_title = "autotrader"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/", include("autotrader.api.urls")),  # REST API, its schema and docs
    path("", include("trading.urls")),  # the dashboard
]
