"""The dashboard's market data (included by trading/urls.py)."""

from django.urls import path

from market import views

urlpatterns = [
    path("chart/bot/<int:pk>/", views.bot_chart, name="bot_chart"),
]
