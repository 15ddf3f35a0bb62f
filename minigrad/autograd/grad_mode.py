"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode (an alias of no_grad here)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations record the graph (True unless inside no_grad)."""
    return getattr(_state, "enabled", True)


def _set(enabled: bool) -> None:
    _state.enabled = bool(enabled)


class _GradMode:
    """Context manager and decorator that sets grad mode and restores the previous one."""

    _enabled = True

    def __enter__(self) -> None:
        self._prev = is_grad_enabled()
        _set(self._enabled)

    def __exit__(self, *exc: object) -> None:
        _set(self._prev)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):  # noqa: N801 - torch's name
    """Disable graph recording (for evaluation and parameter updates)."""

    _enabled = False


class enable_grad(_GradMode):  # noqa: N801
    """Enable graph recording inside a no_grad block."""

    _enabled = True


class inference_mode(_GradMode):  # noqa: N801
    """Alias of :class:`no_grad` (minigrad has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        self._enabled = not mode

    def __call__(self, fn: F) -> F:
        mode = not self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class set_grad_enabled(_GradMode):  # noqa: N801
    """Set grad mode on (True) or off (False); takes effect immediately, like torch."""

    def __init__(self, mode: bool) -> None:
        self._prev = is_grad_enabled()
        self._enabled = bool(mode)
        _set(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _set(self._prev)

    def __call__(self, fn: F) -> F:
        _set(self._prev)  # used as a decorator: don't leave the mode changed
        mode = self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
