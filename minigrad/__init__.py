"""minigrad: reverse-mode automatic differentiation on NumPy, with PyTorch's names and semantics.

``import minigrad as torch`` runs an ordinary small PyTorch training loop on the CPU.
"""

from __future__ import annotations

from typing import Any

from . import _dtype, _random, ops
from ._dtype import (
    bool_ as bool,  # noqa: A001 - torch.bool
    dtype,
    float32,
    float64,
    get_default_dtype,
    int32,
    int64,
    promote_types,
    set_default_dtype,
)
from ._random import Generator, initial_seed, manual_seed
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    as_tensor,
    clone,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .ops._registry import FUNCTIONS as _FUNCTIONS
from .ops._registry import install_methods as _install_methods
from .tensor import Size, Tensor

__version__ = "0.1.0"

float = float32  # noqa: A001 - torch.float
double = float64
long = int64
int = int32  # noqa: A001 - torch.int

globals().update(_FUNCTIONS)


def _tensor_extras() -> None:
    import numpy as np

    from .ops._registry import METHODS

    def uniform_(self: Tensor, a: Any = 0.0, b: Any = 1.0, *, generator: Any = None) -> Tensor:
        self._check_inplace("uniform_")
        self._data[...] = _random.rng(generator).uniform(a, b, self.shape)
        self._bump_version()
        return self

    def normal_(self: Tensor, mean: Any = 0.0, std: Any = 1.0, *, generator: Any = None) -> Tensor:
        self._check_inplace("normal_")
        self._data[...] = _random.rng(generator).normal(mean, std, self.shape)
        self._bump_version()
        return self

    def new_tensor(self: Tensor, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_zeros(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self: Tensor, size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def clone_method(self: Tensor, *, memory_format: Any = None) -> Tensor:
        return clone(self)

    def numpy_shares(self: Tensor) -> np.ndarray:
        return self._data

    for fn in (uniform_, normal_, new_tensor, new_zeros, new_ones, new_full, new_empty):
        METHODS[fn.__name__] = fn
    METHODS["clone"] = clone_method


_tensor_extras()
_install_methods(Tensor)

from . import autograd, nn, optim, utils  # noqa: E402,F401  (need Tensor's methods installed)
from . import linalg  # noqa: E402,F401
