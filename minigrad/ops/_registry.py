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


#: Python's binary operator methods: for an operand that is neither a tensor nor a number they return
#: NotImplemented (torch does the same), so ``t == "relu"`` is False and ``t < "a"`` raises Python's TypeError
_BINARY_OPERATORS = frozenset(
    f"__{p}{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor")
    for p in ("", "r", "i")
) | {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"}


def _operator(fn: Callable[..., Any]) -> Callable[..., Any]:
    import numbers

    import numpy as np

    def method(self: Any, other: Any) -> Any:
        if not isinstance(other, (type(self), numbers.Number, np.ndarray)):
            return NotImplemented
        return fn(self, other)

    method.__name__ = method.__qualname__ = getattr(fn, "__name__", "operator")
    method.__doc__ = fn.__doc__
    return method


def install_methods(cls: type) -> None:
    """Attach every registered method to the Tensor class."""
    for name, fn in METHODS.items():
        setattr(cls, name, _operator(fn) if name in _BINARY_OPERATORS else fn)
