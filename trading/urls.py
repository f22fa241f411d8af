"""The dashboard's URLs, all in the ``dashboard`` namespace.

The overview, activity, health, kill switch and backtests live here; the bot pages
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
    path("backtests/", views.backtest_list_page, name="backtest_list"),
    path("backtests/new/", views.backtest_new, name="backtest_new"),
    path("backtests/jobs/<str:job_id>/", views.backtest_job, name="backtest_job"),
    path("backtests/jobs/<str:job_id>/partials/progress/", views.backtest_job_panel, name="backtest_job_panel"),
    path("backtests/<int:pk>/", views.backtest_detail, name="backtest_detail"),
    path("backtests/<int:pk>/chart/", views.backtest_chart_data, name="backtest_chart"),
    path("bots/", include("bots.urls")),
    path("market/", include("market.urls")),
]
