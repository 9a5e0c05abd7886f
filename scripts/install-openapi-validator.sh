#!/usr/bin/env bash
# Installs openapi-spec-validator (PyPI) into .build/openapi-venv for the OpenAPI validity test
# (Tests/RegistryAPITests/OpenAPIValidatorTests). Never fails the build: without network (or
# without python3-venv) it says so, and that test is skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=.build/openapi-venv
if [ -x "$venv/bin/openapi-spec-validator" ]; then exit 0; fi
mkdir -p .build
if ! python3 -m venv "$venv" >/tmp/switchboard-openapi-venv.log 2>&1; then
  echo "SKIP OpenAPI validation: python3 -m venv failed (see /tmp/switchboard-openapi-venv.log)" >&2
  rm -rf "$venv"; exit 0
fi
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --timeout 20 --retries 1 'openapi-spec-validator>=0.7,<1' \
    >/tmp/switchboard-openapi-pip.log 2>&1; then
  echo "SKIP OpenAPI validation: pip could not install openapi-spec-validator (no network?); see /tmp/switchboard-openapi-pip.log" >&2
  rm -rf "$venv"; exit 0
fi
echo "installed openapi-spec-validator into $venv"
