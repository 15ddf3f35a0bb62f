"""Where ops are exported: one decorator puts a function in the ``minigrad`` namespace and/or on Tensor.

``FUNCTIONS`` and ``METHODS`` are the lists the conformance catalogue checks its coverage against.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

FUNCTIONS: dict[str, Callable[..., Any]] = {}
METHODS: dict[str, Callable[..., Any]] = {}


def export(*names: str, methods: tuple[str, ...] | None = None, function: bool = True) -> Callable[[F], F]:
    """Export ``fn`` as ``minigrad.<name>`` (unless ``function=False``) and as Tensor methods.

    ``names`` default to the function's own name; ``methods`` default to the same names.
    """

    def deco(fn: F) -> F:
        fn_names = names or (fn.__name__,)
        if function:
            for n in fn_names:
                FUNCTIONS[n] = fn
        for m in fn_names if methods is None else methods:
            METHODS[m] = fn
        return fn

    return deco


def install_methods(cls: type) -> None:
    """Attach every registered method to the Tensor class."""
    for name, fn in METHODS.items():
        setattr(cls, name, fn)
