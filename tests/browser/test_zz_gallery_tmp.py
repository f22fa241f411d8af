from datetime import timedelta
import pytest
from .test_dashboard import _tick, _trade_history

pytestmark = pytest.mark.browser


def test_gallery(page, live_server, demo, market, clock, artifacts, tmp_path, settings):
    settings.LOG_DIR = tmp_path
    (tmp_path / "runner.log").write_text("\n".join(f"2026-01-11 12:00:{i:02d},000 INFO trading.runner tick at ...: 2 bots in 40 ms (0 ordered, 0 errors)" for i in range(60)) + "\n")
    _trade_history(demo[0], market, clock)
    for _ in range(3):
        _tick(market, clock)
    page.goto(live_server.url + "/")
    page.locator(f"#bot-card-{demo[0].pk}").screenshot(path=str(artifacts / "x-card.png"))
    page.screenshot(path=str(artifacts / "x-overview.png"), full_page=True)
    page.goto(live_server.url + "/health/")
    page.screenshot(path=str(artifacts / "x-health.png"), full_page=True)
    page.goto(live_server.url + "/bots/new/")
    page.fill("#id_rsi__weight", "0.9")
    page.fill("#id_rsi__period", "1")
    page.get_by_role("button", name="Create bot").click()
    page.screenshot(path=str(artifacts / "x-form.png"), full_page=True)
    page.goto(live_server.url + "/kill-switch/")
    page.screenshot(path=str(artifacts / "x-kill.png"), full_page=True)
    page.goto(f"{live_server.url}/bots/{demo[0].pk}/")
    page.locator("#chart[data-state=ready]").wait_for()
    page.locator("#bot-header").screenshot(path=str(artifacts / "x-header.png"))
