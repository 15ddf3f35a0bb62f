"""``minigrad.linalg``: vector norms (and the Frobenius norm of a matrix)."""

from __future__ import annotations

from typing import Any

from .ops.reduction import vector_norm
from .tensor import Tensor

__all__ = ["norm", "vector_norm"]


def norm(x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """``torch.linalg.norm``: with ``ord`` None the 2-norm of the flattened input (Frobenius over two dims);
    with ``ord`` a vector norm over one dim, or 'fro' over two. Other matrix norms (an ``ord`` over two dims,
    which torch computes from singular values or column sums) are not supported and raise."""
    if ord is None:
        return vector_norm(x, 2, dim, keepdim, dtype=dtype)
    if dim is None and x.ndim not in (1, 2):
        raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {x.ndim}D.")
    matrix = (dim is None and x.ndim == 2) or (isinstance(dim, (tuple, list)) and len(dim) == 2)
    if ord == "fro" or ord == "nuc" or matrix:
        if not matrix:
            raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
        if ord != "fro":
            raise NotImplementedError(f"linalg.norm: the matrix norm ord={ord!r} is not supported by minigrad "
                                      "(vector norms, and 'fro' over two dims)")
        return vector_norm(x, 2, dim, keepdim, dtype=dtype)
    return vector_norm(x, ord, dim, keepdim, dtype=dtype)
