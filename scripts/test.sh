#!/usr/bin/env bash
# Set up like start.sh but with the test and lint tools too (requirements-dev.txt),
# lint, and run the test suite. Extra arguments go to pytest
# (e.g. ./scripts/test.sh -m "not slow" for the fast core tests).
source "$(dirname "$0")/_setup.sh" requirements-dev.txt

ruff check .
ruff format --check .
python manage.py makemigrations --check --dry-run -v0 || { echo "models changed without a migration" >&2; exit 1; }
exec python -m pytest "$@"
