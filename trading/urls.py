"""The dashboard's URLs, all in the ``dashboard`` namespace.

The overview, activity, health and kill switch live here; the bot pages
(bots/urls.py) and the chart data (market/urls.py) are included below so the
whole dashboard hangs off one line in autotrader/urls.py.
"""

from django.urls import include, path

from trading import views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("partials/portfolio/", views.portfolio_panel, name="portfolio_panel"),
    path("partials/bot-cards/", views.bot_cards_panel, name="bot_cards_panel"),
    path("partials/activity/", views.activity_panel, name="activity_panel"),
    path("partials/status-bar/", views.status_bar, name="status_bar"),
    path("health/", views.health, name="health"),
    path("health/partials/panel/", views.health_panel, name="health_panel"),
    path("health/partials/log/", views.log_tail_panel, name="log_tail_panel"),
    path("kill-switch/", views.kill_switch_confirm, name="kill_switch"),
    path("kill-switch/change/", views.kill_switch_change, name="kill_switch_change"),
    path("bots/", include("bots.urls")),
    path("market/", include("market.urls")),
]
