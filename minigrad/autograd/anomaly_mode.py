"""Anomaly detection, as ``torch.autograd.detect_anomaly`` / ``set_detect_anomaly``.

While enabled, every recorded node keeps the stack of the forward call that created it; when its backward
fails, the engine warns with that stack before re-raising, and (with ``check_nan``) a backward that returns
NaN raises ``Function 'XBackward0' returned nan values in its 0th output.``
"""

from __future__ import annotations

import warnings
from typing import Any

_enabled = False
_check_nan = True


def is_anomaly_enabled() -> bool:
    return _enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _check_nan


def _set(mode: bool, check_nan: bool) -> tuple[bool, bool]:
    """Set both flags (bools only, as torch's ``set_anomaly_enabled``); the previous pair."""
    global _enabled, _check_nan
    for position, (name, value) in enumerate((("enabled", mode), ("check_nan", check_nan)), 1):
        if not isinstance(value, bool):
            raise TypeError(f"set_anomaly_enabled(): argument '{name}' (position {position}) must be bool, not "
                            f"{type(value).__name__}")
    previous = (_enabled, _check_nan)
    _enabled, _check_nan = mode, check_nan
    return previous


class set_detect_anomaly:  # noqa: N801 - torch's name
    """Turn anomaly detection on or off; takes effect at once, and restores the previous state when used
    as a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._previous = _set(mode, check_nan)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _set(*self._previous)


class detect_anomaly:  # noqa: N801 - torch's name
    """Context manager enabling anomaly detection inside its block."""

    def __init__(self, check_nan: bool = True) -> None:
        self._check_nan = check_nan
        self._previous = (_enabled, _check_nan)
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        self._previous = _set(True, self._check_nan)

    def __exit__(self, *exc: Any) -> None:
        _set(*self._previous)
