"""Flatten parameters into one vector and back (``parameters_to_vector`` / ``vector_to_parameters``)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...ops.shape import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the flattened parameters into one 1-D tensor (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (replacing their data, as torch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected minigrad.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for p in parameters:
        n = p.numel()
        chunk = vec.detach()[pointer : pointer + n].view(p.shape)  # torch's view error when vec is too short
        p.data = Tensor._make(np.array(chunk._data, dtype=p.dtype.np))
        pointer += n
