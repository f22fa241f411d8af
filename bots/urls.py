"""The dashboard's bot pages, panels and controls (included by trading/urls.py)."""

from django.urls import path

from bots import views

urlpatterns = [
    path("new/", views.bot_new, name="bot_new"),
    path("<int:pk>/", views.bot_detail, name="bot_detail"),
    path("<int:pk>/edit/", views.bot_edit, name="bot_edit"),
    path("<int:pk>/partials/header/", views.bot_header_panel, name="bot_header_panel"),
    path("<int:pk>/partials/signals/", views.bot_signals_panel, name="bot_signals_panel"),
    path("<int:pk>/partials/confirmations/", views.bot_confirmations_panel, name="bot_confirmations_panel"),
    path("<int:pk>/partials/orders/", views.bot_orders_panel, name="bot_orders_panel"),
    path("<int:pk>/start/", views.start_bot, name="bot_start"),
    path("<int:pk>/stop/", views.stop_bot, name="bot_stop"),
    path("<int:pk>/evaluate/", views.evaluate_bot, name="bot_evaluate"),
    path("<int:pk>/reset-confirmation/", views.reset_bot_confirmation, name="bot_reset_confirmation"),
]
