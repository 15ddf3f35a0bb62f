"""Backend adapters: ``minigrad`` (default under test), ``torch`` (the reference), or ``module:Class``."""

from __future__ import annotations

import importlib
import os
from typing import Any

from .base import Backend, ModuleBackend

__all__ = ["Backend", "ModuleBackend", "load_backend", "default_backend_name", "reference"]

_CACHE: dict[str, Any] = {}


def default_backend_name() -> str:
    """``$CONFORMANCE_BACKEND`` or ``minigrad``."""
    return os.environ.get("CONFORMANCE_BACKEND", "minigrad")


def load_backend(spec: str | None = None) -> Backend:
    """``minigrad``, ``torch``, or ``package.module:Class`` (instantiated without arguments); cached."""
    spec = spec or default_backend_name()
    if spec not in _CACHE:
        if spec == "minigrad":
            from .minigrad import MinigradBackend
            _CACHE[spec] = MinigradBackend()
        elif spec == "torch":
            from .torch import TorchBackend
            _CACHE[spec] = TorchBackend()
        elif ":" in spec:
            mod, _, cls = spec.partition(":")
            _CACHE[spec] = getattr(importlib.import_module(mod), cls)()
        else:
            raise ValueError(f"unknown backend {spec!r} (use minigrad, torch or package.module:Class)")
    return _CACHE[spec]


def reference() -> Backend:
    """The torch reference backend (the oracles use it)."""
    return load_backend("torch")
