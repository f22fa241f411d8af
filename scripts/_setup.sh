# Sourced by start.sh and test.sh: make a fresh clone runnable.
# Creates .venv, installs the pinned requirements file named as the first
# argument when it (or a file it includes with -r) changes, and writes a
# random Django secret key to data/secret_key on first run.
#   start.sh: source _setup.sh requirements.txt      (what the running system needs)
#   test.sh:  source _setup.sh requirements-dev.txt  (that and the test and lint tools)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      PYTHON="$candidate"
      break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "autotrader needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi

# One stamp per requirements file (.venv/.requirements.sha256, .venv/.requirements-dev.sha256):
# the hash of the file and of the files it includes with -r. Installing a file stamps the files
# it includes too, so start.sh after test.sh installs nothing (a venv with the test tools runs).
requirements="${1:?_setup.sh: name the requirements file to install}"
req_includes() { sed -n 's/^-r[[:space:]]*//p' "$1"; }
req_hash() { { cat "$1"; req_includes "$1" | while read -r inc; do cat "$inc"; done; } | sha256sum | cut -d' ' -f1; }
req_stamp() { echo ".venv/.$(basename "$1" .txt).sha256"; }
if [ "$(cat "$(req_stamp "$requirements")" 2>/dev/null || true)" != "$(req_hash "$requirements")" ]; then
  echo "Installing pinned $requirements into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  for f in "$requirements" $(req_includes "$requirements"); do
    req_hash "$f" > "$(req_stamp "$f")"
  done
fi

mkdir -p "${DATA_DIR:-data}" "${LOG_DIR:-logs}"
if [ -z "${DJANGO_SECRET_KEY:-}" ] && [ -z "${DJANGO_SECRET_KEY_FILE:-}" ] && [ ! -s "${DATA_DIR:-data}/secret_key" ]; then
  umask 077
  .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))' > "${DATA_DIR:-data}/secret_key"
  umask 022
fi
export PATH="$ROOT/.venv/bin:$PATH"
