#!/usr/bin/env bash
# Installs the system packages the build and tests need, when missing. Needs root for apt;
# as a normal user it only reports what is missing. Offline it works once they are installed.
set -euo pipefail
# The build and `make run` need these; `--test` adds what only `make test` uses: docker-compose (v1,
# validates docker/docker-compose.yml without an engine) and chromium + chromium-driver (the web UI's
# browser tests, tests/integration/test_ui_*.py with Selenium).
packages=(libpq-dev libcurl4-openssl-dev postgresql postgresql-client pkg-config openssl python3 ${EXTRA_APT_PACKAGES:-})
if [ "${1:-}" = --test ]; then packages+=(docker-compose chromium chromium-driver); fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/switchboard-apt.log 2>&1 || {
  apt-get update -q >/tmp/switchboard-apt-update.log 2>&1
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/switchboard-apt.log 2>&1 \
    || { tail -n 30 /tmp/switchboard-apt.log >&2; exit 1; }
}
# Debian's package starts a system cluster on 5432; we never use it, but leave it as the user had it.
