"""``minigrad.linalg``: vector norms."""

from __future__ import annotations

from typing import Any

from .ops.reduction import vector_norm
from .tensor import Tensor

__all__ = ["norm", "vector_norm"]


def norm(x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Vector norm (the 2-norm by default); matrix norms are not supported."""
    return vector_norm(x, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
