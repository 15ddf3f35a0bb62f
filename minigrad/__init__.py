"""minigrad: reverse-mode automatic differentiation on NumPy, with PyTorch's names and semantics.

``import minigrad as torch`` runs an ordinary small PyTorch training loop on the CPU.
"""

from __future__ import annotations

from . import ops
from ._device import cuda, device
from ._dtype import (
    bool_ as bool,  # noqa: A001 - torch.bool
)
from ._dtype import (
    can_cast,
    dtype,
    float32,
    float64,
    get_default_dtype,
    int32,
    int64,
    promote_types,
    result_type,
    set_default_dtype,
)
from ._random import Generator, initial_seed, manual_seed
from .autograd import (
    enable_grad,
    inference_mode,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
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
    is_tensor,
    linspace,
    numel,
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
from .serialization import load, save
from .tensor import Size, Tensor

__version__ = "0.1.0"

float = float32  # noqa: A001 - torch.float
double = float64
long = int64
int = int32  # noqa: A001 - torch.int

globals().update(_FUNCTIONS)


_install_methods(Tensor)

from . import (  # noqa: E402,F401  (need Tensor's methods installed)
    autograd,
    linalg,  # noqa: E402,F401
    nn,
    optim,
    utils,
)
