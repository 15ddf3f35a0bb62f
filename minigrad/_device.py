"""``minigrad.device`` and ``minigrad.cuda``: there is only the CPU, but scripts that ask can run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class device:  # noqa: N801 - torch's name
    """A device description, as ``torch.device``. Any type may be named (like torch, which lets you build
    ``device("cuda")`` on a machine without one); moving a tensor anywhere but the CPU is an error."""

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:  # noqa: A002
        text = str(type)
        if ":" in text:
            text, idx = text.split(":", 1)
            index = int(idx)
        self.type = text
        self.index = index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


def check_device(where: Any) -> None:
    """Only the CPU exists: naming CUDA fails as in a torch built without it (``AssertionError``), any other
    device as a RuntimeError naming it."""
    if where is None or str(where) == "cpu":
        return
    kind = where.type if isinstance(where, device) else str(where).split(":", 1)[0]
    if kind == "cuda":
        raise AssertionError("minigrad not compiled with CUDA enabled")
    raise RuntimeError(f"minigrad only supports the CPU device, got {str(where)!r}")


def on_cpu(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A factory taking ``device=``: checked by :func:`check_device` before anything is built."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_device(kwargs.get("device"))
        return fn(*args, **kwargs)

    return wrapper


class _Cuda:
    """``minigrad.cuda``: no CUDA device exists (seeding is a no-op, as in torch without a GPU)."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Silently ignored without CUDA, as torch documents."""

    @staticmethod
    def manual_seed_all(seed: int) -> None:
        """Silently ignored without CUDA, as torch documents."""


cuda = _Cuda()
