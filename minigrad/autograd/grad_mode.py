"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode (no_grad plus a flag here).

Each is a context manager and a decorator (of plain and generator functions), as in torch; ``no_grad``,
``enable_grad`` and ``inference_mode`` also decorate without parentheses.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations record the graph (True unless inside no_grad)."""
    return getattr(_state, "enabled", True)


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` block is active (minigrad has no inference tensors: it is only a flag)."""
    return getattr(_state, "inference", False)


def _set(enabled: bool) -> None:
    _state.enabled = bool(enabled)


def _decorate(fn: F, make: Callable[[], Any]) -> F:
    """``fn`` run inside a fresh context ``make()``; a generator function runs inside it at each resumption
    (torch's ``_wrap_generator``)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            gen = fn(*args, **kwargs)
            try:
                with make():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with make():
                            gen.close()
                        raise
                    except BaseException as e:  # noqa: BLE001 - passed on into the generator, as torch does
                        with make():
                            response = gen.throw(e)
                    else:
                        with make():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return generator  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with make():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _GradMode:
    """Context manager and decorator that sets grad mode and restores the previous one."""

    _enabled = True

    def __new__(cls, orig_func: Any = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)  # used as a decorator without parentheses: @no_grad

    def __enter__(self) -> None:
        self._prev = is_grad_enabled()
        _set(self._enabled)

    def __exit__(self, *exc: object) -> None:
        _set(self._prev)

    def __call__(self, fn: F) -> F:
        return _decorate(fn, self.clone)

    def clone(self) -> _GradMode:
        return self.__class__()


class no_grad(_GradMode):  # noqa: N801 - torch's name
    """Disable graph recording (for evaluation and parameter updates)."""

    _enabled = False


class enable_grad(_GradMode):  # noqa: N801
    """Enable graph recording inside a no_grad block."""

    _enabled = True


class inference_mode(_GradMode):  # noqa: N801
    """``no_grad`` that also sets :func:`is_inference_mode_enabled` (minigrad has no inference tensors);
    ``inference_mode(False)`` enables grad, as torch's does."""

    def __new__(cls, mode: Any = True) -> Any:
        if isinstance(mode, bool):
            return object.__new__(cls)
        return cls()(mode)  # @inference_mode without parentheses

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode
        self._enabled = not mode

    def __enter__(self) -> None:
        self._prev = is_grad_enabled()
        self._prev_inference = is_inference_mode_enabled()
        _set(self._enabled)
        _state.inference = self.mode

    def __exit__(self, *exc: object) -> None:
        _set(self._prev)
        _state.inference = self._prev_inference

    def clone(self) -> inference_mode:
        return inference_mode(self.mode)


class set_grad_enabled(_GradMode):  # noqa: N801
    """Set grad mode on (True) or off (False); takes effect immediately, like torch."""

    def __new__(cls, mode: bool) -> Any:
        return object.__new__(cls)

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'enabled' (position 1) must be bool, not "
                            f"{type(mode).__name__}")
        self._prev = is_grad_enabled()
        self.mode = mode
        _set(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _set(self._prev)

    def __call__(self, fn: F) -> F:
        _set(self._prev)  # used as a decorator: don't leave the mode changed
        return _decorate(fn, self.clone)

    def clone(self) -> set_grad_enabled:
        return set_grad_enabled(self.mode)
