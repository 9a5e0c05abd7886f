"""Shared fixtures: `stack` is one running Switchboard (registry + gateway + provider-stub on a
fresh database) for the whole test session; tests that change global state (providers, the
catalog at large) start their own with `Stack.start()` instead."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from stack import Stack  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    with Stack.start() as running:
        yield running
