"""The minigrad adapter: minigrad mirrors torch's API, so the generic adapter serves it as is."""

from __future__ import annotations

import importlib

from .base import ModuleBackend


class MinigradBackend(ModuleBackend):
    """``ModuleBackend(minigrad)``."""

    name = "minigrad"

    def __init__(self) -> None:
        super().__init__(importlib.import_module("minigrad"), "minigrad")


def available() -> bool:
    """Whether minigrad imports and has its core (``minigrad.tensor``)."""
    try:
        mod = importlib.import_module("minigrad")
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return False
    return hasattr(mod, "tensor")
