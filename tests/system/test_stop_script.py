"""stop.sh ends every process of the system, even after a parent or a guard was SIGKILLed.

start.sh runs each process in its own process group; a qcluster's processes die with
their parent (PR_SET_PDEATHSIG). The test starts the system with the real scripts,
kills the worker supervisor's guard and then the supervisor itself and gunicorn's
master with SIGKILL (leaving gunicorn's workers orphaned), and checks that status.sh
shows what is left and that after stop.sh no process of any group remains.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.system.harness import ROOT, children, free_port, process_group, wait_until
from trading.workers import descendants

pytestmark = pytest.mark.slow

NAMES = ("web", "worker", "runner")


def _script(name: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / name)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"{name}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_stop_ends_every_process_after_parents_were_killed(system_db, redis_server, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COINBASE_", "SIM_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="autotrader.settings",
        DJANGO_SECRET_KEY="system-tests-only",
        DATA_DIR=str(tmp_path / "data"),
        LOG_DIR=str(tmp_path / "logs"),
        DATABASE_URL=system_db.url,
        REDIS_URL=redis_server.url,
        PORT=str(free_port()),
        WEB_WORKERS="2",
        STOP_SECONDS="10",
    )
    pids: dict[str, int] = {}
    try:
        _script("start.sh", env)
        pids = {name: int((tmp_path / "data" / f"{name}.pid").read_text()) for name in NAMES}
        worker = pids["worker"]
        wait_until(lambda: len(descendants(worker)) >= 5, timeout=60, what="the guard, 2 workers, monitor, pusher")
        status = _script("status.sh", env)
        for pid in [worker, *descendants(worker), pids["web"], *descendants(pids["web"]), pids["runner"]]:
            assert f" {pid}" in status, f"status.sh does not show process {pid}:\n{status}"

        (guard,) = children(worker)
        os.kill(guard, signal.SIGKILL)  # the supervisor replaces the cluster, whose processes died with it
        replaced = lambda: len(descendants(worker)) >= 5 and guard not in descendants(worker)  # noqa: E731
        wait_until(replaced, timeout=30, what="a new cluster")
        os.kill(worker, signal.SIGKILL)
        os.kill(pids["web"], signal.SIGKILL)  # gunicorn's workers are orphaned
        wait_until(lambda: not process_group(worker), timeout=10, what="the workers to die with their supervisor")
        assert "worker: not running" in _script("status.sh", env)

        _script("stop.sh", env)
        for name, pgid in pids.items():
            assert not process_group(pgid), f"{name}: {process_group(pgid)} still running after stop.sh"
        status = _script("status.sh", env)
        assert all(f"{name}: not running" in status for name in pids), status
    finally:
        for pgid in pids.values():
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
