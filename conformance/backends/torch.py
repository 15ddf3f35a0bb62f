"""The torch adapter: the reference implementation (and, for testing the harness, a backend under test)."""

from __future__ import annotations

import os

import torch

from .base import ModuleBackend


def pin_threads() -> None:
    """One thread, highest float32 matmul precision: deterministic, comparable numbers."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    torch.set_float32_matmul_precision("highest")


class TorchBackend(ModuleBackend):
    """``ModuleBackend(torch)`` with pinned threads."""

    name = "torch"

    def __init__(self) -> None:
        pin_threads()
        super().__init__(torch, "torch")

    def version(self) -> str:
        return torch.__version__
