"""Fixtures for the harness's own tests."""

from __future__ import annotations

import os
from typing import Any

import pytest

from conformance import profiles
from conformance.backends import load_backend
from conformance.backends.minigrad import available

profiles.pin_threads()
profiles.register()


@pytest.fixture(scope="session")
def base_backend() -> Any:
    """The backend the planted bugs wrap: minigrad (torch only if minigrad's core does not import)."""
    return load_backend(os.environ.get("CONFORMANCE_BACKEND") or ("minigrad" if available() else "torch"))


@pytest.fixture(scope="session")
def torch_backend() -> Any:
    return load_backend("torch")
