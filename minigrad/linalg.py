"""``minigrad.linalg``: vector and matrix norms."""

from __future__ import annotations

import math
from typing import Any

from .ops.linalg import svdvals
from .ops.reduction import vector_norm
from .tensor import Tensor, _wrap_dim

__all__ = ["norm", "vector_norm"]

_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def norm(x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch's ``linalg.norm``: without ``ord`` the 2-norm over ``dim`` (all of it by default); with ``ord``,
    a vector norm over one dim or a matrix norm over two (a 1-D or 2-D input when ``dim`` is None)."""
    if dim is not None and not isinstance(dim, (list, tuple)):
        dim = (dim,)
    if dim is not None and len(dim) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    if dim is None and ord is not None and x.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {x.ndim}D.")
    if ord is None:
        return vector_norm(x, 2, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        return _matrix_norm(x, ord, (-2, -1) if dim is None else dim, keepdim, dtype)
    if dim is None:  # a 1-D or 2-D input here (checked above)
        dim = tuple(range(x.ndim))
    if len(dim) == 2:
        return _matrix_norm(x, ord, dim, keepdim, dtype)
    return vector_norm(x, ord, dim, keepdim, dtype=dtype)


def _matrix_norm(x: Tensor, ord: Any, dim: Any, keepdim: bool, dtype: Any) -> Tensor:
    """torch's ``linalg.matrix_norm``, composed as torch composes it (so ties and kinks get its gradients):
    'fro' a 2-norm over both dims, 'nuc' / 2 / -2 the sum / max / min of the singular values,
    1 / -1 (inf / -inf) the max / min over columns (rows) of the 1-norms along the other dim."""
    if ord not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if x.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if not x.dtype.is_floating_point:  # checked on the input, before a dtype= cast
        raise RuntimeError(f"linalg.matrix_norm: Expected a floating point or complex tensor as input. "
                           f"Got {x.dtype.scalar_type}")
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d0, d1 = (_wrap_dim(int(d), x.ndim, "linalg.matrix_norm") for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    if dtype is not None:
        x = x.to(dtype)
    if ord == "fro":
        return vector_norm(x, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(x.ndim) if i not in (d0, d1)]
        sv = svdvals(x.permute(rest + [d0, d1]))
        out = sv.sum(-1) if ord == "nuc" else sv.amax(-1) if ord == 2 else sv.amin(-1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    if abs(ord) == math.inf:
        d0, d1 = d1, d0
    if not keepdim and d0 < d1:
        d1 -= 1
    cols = vector_norm(x, 1, (d0,), keepdim)
    return cols.amax(d1, keepdim=keepdim) if ord > 0 else cols.amin(d1, keepdim=keepdim)
