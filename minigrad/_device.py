"""``minigrad.device`` and ``minigrad.cuda``: there is only the CPU, but scripts that ask can run."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

#: the device types torch 2.13 knows, in the order its error message lists them
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                 "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")
#: "type" or "type:index" (no sign, no leading zero), as torch's device-string parser accepts
_DEVICE_STRING = re.compile(r"(?P<type>[A-Za-z_]+)(?::(?P<index>0|[1-9][0-9]*))?")


def _typename(v: Any) -> str:
    return "NoneType" if v is None else type(v).__name__


class device:  # noqa: N801 - torch's name
    """A device description, as ``torch.device``. Any type may be named (like torch, which lets you build
    ``device("cuda")`` on a machine without one); moving a tensor anywhere but the CPU is an error."""

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index  # noqa: A001
        if not isinstance(type, str):
            raise TypeError(f"device(): argument 'type' (position 1) must be str, not {_typename(type)}")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise TypeError(f"device(): argument 'index' (position 2) must be int, not {_typename(index)}")
        if not type:
            raise RuntimeError("Device string must not be empty")
        match = _DEVICE_STRING.fullmatch(type)
        if match is None:
            raise RuntimeError(f"Invalid device string: '{type}'")
        if match["type"] not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device string: "
                               f"{type}")
        if match["index"] is not None:
            if index is not None:
                raise RuntimeError("type (string) must not include an index because index was passed explicitly: "
                                   f"{type}")
            index = int(match["index"])
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type = match["type"]
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
    if where is None:
        return
    kind = (where if isinstance(where, device) else device(where)).type  # an invalid device string raises here
    if kind == "cpu":  # any index: torch puts "cpu:1" tensors on the one CPU
        return
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
