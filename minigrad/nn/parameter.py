"""``Parameter``: a leaf Tensor that a Module registers as trainable state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import _dtype
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter: a leaf with ``requires_grad=True`` by default.

    Like ``torch.nn.Parameter`` it shares storage with the tensor it wraps, so an optimiser that
    updates ``p`` in place updates the module, and assigning it to a Module attribute registers it.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            arr = np.empty((0,), dtype=_dtype.get_default_dtype().np)
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            # torch's Parameter calls data.detach(): anything but a tensor fails there
            raise AttributeError(f"'{type(data).__name__}' object has no attribute 'detach'")
        p = object.__new__(cls)
        p._init(arr)
        if isinstance(data, Tensor):
            p._version = data._version  # shares storage, so shares the version counter
        # torch's factory wording of the integer-dtype error
        p._set_requires_grad(requires_grad, "Only Tensors of floating point and complex dtype can require gradients")
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        """All the work happens in ``__new__`` (Tensor.__init__ would allocate new storage)."""

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        # as torch: values and requires_grad are copied, .grad is not (copy.deepcopy itself consults memo)
        result = type(self)(Tensor._make(self._data.copy()), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol: Any) -> Any:
        # torch rebuilds from ``self.data``: copy.copy shares the values (pickling serialises them)
        return (_rebuild_parameter, (self._data, self.requires_grad))


def _rebuild_parameter(data: np.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._make(data), requires_grad)


def zero_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Reset gradients (``Module.zero_grad`` and ``Optimizer.zero_grad``): to None, or to zeros in place."""
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            if p.grad.grad_fn is not None:
                p.grad.detach_()
            else:
                p.grad.requires_grad_(False)
            p.grad._data[...] = 0
            p.grad._bump_version()
