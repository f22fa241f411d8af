"""The dependency split: requirements.txt is what the running system needs, requirements-dev.txt adds
the test and lint tools. Every line is pinned to an exact version, the runtime file holds everything
the runtime code imports and no test tool, and nothing is pinned that nothing needs.

Reads the installed distributions' metadata (the venv test.sh built from requirements-dev.txt);
no network.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from django.conf import settings
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_CODE = ("autotrader", "market", "bots", "trading", "manage.py")
LOCAL = {"autotrader", "market", "bots", "trading", "tests", "_setup"}  # _setup: bench/'s helper
TEST_TOOLS = re.compile(r"^(pytest.*|hypothesis.*|schemathesis|playwright|ruff|time-machine)$")
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")

# Needed at run time although no module imports them by name.
RUNTIME_UNIMPORTED = {
    "gunicorn": "start.sh's web server",
    "psycopg": "Django's PostgreSQL backend, for a postgres:// DATABASE_URL",
    "psycopg-binary": "psycopg's C implementation (psycopg[binary]): no libpq needed on the host",
}
# Needed by test.sh although no test imports them by name.
DEV_UNIMPORTED = {
    "ruff": "test.sh's lint and format check",
    "pytest-django": "the pytest plugin behind every Django test",
}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(filename: str) -> dict[str, str]:
    """name -> version of every requirement line; fails on one that is not pinned with ==."""
    assert (ROOT / filename).is_file(), f"{filename} is missing"
    found: dict[str, str] = {}
    for number, raw in enumerate((ROOT / filename).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line == "-r requirements.txt":
            continue
        match = PINNED.match(line)
        assert match, f"{filename}:{number}: {line!r} is not pinned as name==version"
        name = norm(match[1])
        assert name not in found, f"{filename}:{number}: {match[1]} listed twice"
        found[name] = match[2]
    return found


def imported_roots(*paths: str) -> set[str]:
    """The top-level names of every absolute import in these files and folders (lazy ones too)."""
    roots: set[str] = set()
    for path in paths:
        base = ROOT / path
        for file in [base] if base.is_file() else sorted(base.rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text(), str(file))):
                if isinstance(node, ast.Import):
                    roots.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    roots.add(node.module.split(".")[0])
    return roots - set(sys.stdlib_module_names) - LOCAL


def distributions_of(roots: set[str]) -> dict[str, set[str]]:
    """import name -> the distributions that provide it (normalised names)."""
    provided = packages_distributions()
    missing = sorted(root for root in roots if root not in provided)
    assert not missing, f"imported but provided by no installed distribution: {missing}"
    return {root: {norm(d) for d in provided[root]} for root in roots}


@cache
def dependencies(dist: str) -> frozenset[str]:
    """The distributions ``dist`` needs, without extras."""
    try:
        lines = requires(dist) or []
    except PackageNotFoundError:
        raise AssertionError(f"{dist} is pinned but not installed: run ./scripts/test.sh to install") from None
    out = set()
    for line in lines:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            out.add(norm(req.name))
    return frozenset(out)


def closure(dists: set[str]) -> set[str]:
    seen, todo = set(), list(dists)
    while todo:
        dist = todo.pop()
        if dist not in seen:
            seen.add(dist)
            todo.extend(dependencies(dist))
    return seen


def runtime_roots() -> set[str]:
    """Imported by the runtime code, or named in settings (apps, middleware, backends)."""
    dotted = [*settings.INSTALLED_APPS, *settings.MIDDLEWARE, *settings.AUTHENTICATION_BACKENDS]
    return (imported_roots(*RUNTIME_CODE) | {path.split(".")[0] for path in dotted}) - LOCAL


def runtime_distributions() -> set[str]:
    """One pinned distribution for each runtime import, and the ones needed unimported."""
    runtime = pins("requirements.txt")
    chosen = set(RUNTIME_UNIMPORTED)
    for dists in distributions_of(runtime_roots()).values():
        chosen |= dists & set(runtime) or dists
    return chosen


def test_every_line_of_both_files_is_pinned_to_an_exact_version():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert runtime and dev
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
    both = sorted(set(runtime) & set(dev))
    assert not both, f"in requirements.txt already, requirements-dev.txt includes it with -r: {both}"


def test_every_runtime_import_is_satisfied_by_requirements_txt():
    runtime = set(pins("requirements.txt"))
    assert {"django", "numpy", "coinbase"} <= runtime_roots()  # the scan sees the code
    unmet = {root: sorted(d) for root, d in distributions_of(runtime_roots()).items() if not d & runtime}
    assert not unmet, f"imported by the running system but not in requirements.txt: {unmet}"
    missing = sorted(set(RUNTIME_UNIMPORTED) - runtime)
    assert not missing, f"needed at run time but not in requirements.txt: {missing}"


def test_requirements_txt_holds_no_test_tool():
    tools = sorted(name for name in pins("requirements.txt") if TEST_TOOLS.match(name))
    assert not tools, f"test tools belong in requirements-dev.txt, not requirements.txt: {tools}"


def test_the_runtime_pins_are_what_the_runtime_imports_and_their_dependencies():
    runtime = set(pins("requirements.txt"))
    needed = closure(runtime_distributions())
    assert not runtime - needed, f"pinned in requirements.txt but nothing needs them: {sorted(runtime - needed)}"
    assert not needed - runtime, f"needed at run time but not pinned: {sorted(needed - runtime)}"


def test_the_dev_pins_are_what_the_tests_import_and_their_dependencies():
    runtime, dev = set(pins("requirements.txt")), set(pins("requirements-dev.txt"))
    test_dists = set(DEV_UNIMPORTED)
    for dists in distributions_of(imported_roots("tests", "bench")).values():
        test_dists |= dists & (runtime | dev) or dists
    needed = closure(runtime_distributions() | test_dists)
    unused = sorted(dev - needed)
    assert not unused, f"pinned in requirements-dev.txt but nothing needs them: {unused}"
    assert not needed - runtime - dev, f"needed by the tests but not pinned: {sorted(needed - runtime - dev)}"
