"""Gradient clipping by total norm or by value, with torch's formulas (in the gradients' dtype)."""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterable

import numpy as np

from ... import _dtype
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor

_TensorOrTensors = Tensor | Iterable[Tensor]


def _vector_norm(arr: np.ndarray, p: float) -> np.ndarray:
    """The p-norm of a flattened array as a 0-d array of its dtype (p = inf, -inf, 0 or any real)."""
    a = np.abs(arr.reshape(-1))
    if p == float("inf"):
        return a.max(initial=0).astype(arr.dtype)
    if p == float("-inf"):
        return a.min(initial=np.inf).astype(arr.dtype)
    if p == 0:
        return np.asarray(np.count_nonzero(a), dtype=arr.dtype)
    if p == 1:
        return a.sum(dtype=arr.dtype)
    if p == 2:
        return np.sqrt(np.sum(a * a, dtype=arr.dtype))
    return np.power(np.sum(np.power(a, p), dtype=arr.dtype), 1.0 / p).astype(arr.dtype)


def get_total_norm(
    tensors: _TensorOrTensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: bool | None = None
) -> Tensor:
    """The norm of the per-tensor norms (= the norm of all tensors concatenated into one vector)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._make(np.asarray(0.0, dtype=_dtype.get_default_dtype().np))
    for t in tensors:
        if not t.dtype.is_floating_point:  # torch's vector_norm refuses integer gradients
            raise RuntimeError(
                f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {t.dtype.scalar_type}"
            )
    norms = [_vector_norm(t._data, norm_type) for t in tensors]
    dt = np.result_type(*norms)
    total = _vector_norm(np.stack([n.astype(dt) for n in norms]), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return Tensor._make(np.asarray(total))


def clip_grads_with_norm_(
    parameters: _TensorOrTensors, max_norm: float, total_norm: Tensor, foreach: bool | None = None
) -> None:
    """Scale every gradient by min(max_norm / (total_norm + 1e-6), 1), in place."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    denominator = total_norm + 1e-6  # as torch: a total_norm of the wrong type fails here with Python's TypeError
    tn = denominator._data if isinstance(denominator, Tensor) else np.asarray(denominator, dtype=np.float64)
    coef = np.minimum(tn.dtype.type(float(max_norm)) / tn, tn.dtype.type(1.0))
    with no_grad():
        for g in grads:
            np.multiply(g._data, coef.astype(g._data.dtype), out=g._data, casting="unsafe")
            g._bump_version()


def clip_grad_norm_(
    parameters: _TensorOrTensors, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Clip the gradients' total norm to ``max_norm`` in place; returns the total norm before clipping.

    Every gradient is multiplied by ``min(max_norm / (total_norm + 1e-6), 1)``, as torch does.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_value_(parameters: _TensorOrTensors, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    clip_value = float(clip_value)
    with no_grad():
        for p in parameters:
            if p.grad is not None:
                np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
                p.grad._bump_version()
