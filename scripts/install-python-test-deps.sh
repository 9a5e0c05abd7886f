#!/usr/bin/env bash
# Installs the Python packages of tests/integration/requirements.txt into .build/py-venv (PyPI).
# Reinstalls when the requirements file changed. Without network it says so and exits 1 under
# CI=true (CI must run these tests), 0 elsewhere (scripts/test.sh then skips the Python tests).
set -uo pipefail
cd "$(dirname "$0")/.."
venv=.build/py-venv
requirements=tests/integration/requirements.txt
stamp="$venv/.requirements"
if [ -x "$venv/bin/pytest" ] && cmp -s "$requirements" "$stamp"; then exit 0; fi
fail() {
  echo "$1" >&2
  rm -rf "$venv"
  if [ "${CI:-}" = true ]; then exit 1; fi
  exit 0
}
mkdir -p .build
python3 -m venv "$venv" >/tmp/switchboard-py-venv.log 2>&1 \
  || fail "SKIP Python integration tests: python3 -m venv failed (see /tmp/switchboard-py-venv.log)"
"$venv/bin/pip" install --quiet --disable-pip-version-check --timeout 30 --retries 2 -r "$requirements" \
    >/tmp/switchboard-py-pip.log 2>&1 \
  || fail "SKIP Python integration tests: pip could not install $requirements (no network?); see /tmp/switchboard-py-pip.log"
cp "$requirements" "$stamp"
echo "installed $requirements into $venv"
