"""softmax / log_softmax and the nn.functional activations, each with its own stable vjp."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import _dtype
from ..autograd.function import Op
from ..autograd.graph import Context
from ..tensor import Tensor, _wrap_dim
from ._registry import export
from ._util import check_tensor, kernel_not_implemented
from .elementwise import erf_array, sigmoid_array


def implicit_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """torch's legacy dim of ``F.softmax(x)`` without ``dim`` (``_get_softmax_dim``), with its warning."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_like(name: str, op: type[Op], input: Tensor, dim: int | None, dtype: Any) -> Tensor:
    """softmax/log_softmax: cast to ``dtype`` first; torch's kernels have no integer loop (an empty
    input never reaches them)."""
    x = check_tensor(input, name)
    if dtype is not None:
        x = x.to(_dtype.as_dtype(dtype))
    if dim is None:  # torch.softmax / Tensor.softmax take dim as a required argument
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
    axis = _wrap_dim(dim, x.ndim, name) % max(x.ndim, 1)  # a 0-d input takes dims -1 and 0, as torch
    if not x.dtype.is_floating_point:
        if x.numel():
            kernel = "lastdim_kernel_impl" if axis >= x.ndim - 1 else "kernel_impl"
            raise kernel_not_implemented(f"{name}_{kernel}", x.dtype)
        return x.detach().clone()
    return op.apply(x, axis=axis)


class Softmax(Op):
    name = "Softmax"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: int) -> np.ndarray:
        if x.ndim == 0:  # x - max(x) is x - x: nan for an infinite x, as in torch
            out = np.exp(x - x) / np.exp(x - x)
        else:
            z = np.exp(x - np.max(x, axis=axis, keepdims=True)) if x.size else x.copy()
            out = z / np.sum(z, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (out,) = ctx.saved_tensors
        axis = ctx.axis if out.ndim else None
        return (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)


class LogSoftmax(Op):
    name = "LogSoftmax"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: int) -> np.ndarray:
        if x.ndim == 0:  # x - logsumexp(x) is x - x: nan for an infinite x, as in torch
            out = x - x
        elif x.size == 0:
            out = x.copy()
        else:
            shifted = x - np.max(x, axis=axis, keepdims=True)
            out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (out,) = ctx.saved_tensors
        axis = ctx.axis if out.ndim else None
        return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)


@export(methods=("softmax",))
def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the max for stability."""
    return _softmax_like("softmax", Softmax, input, dim, dtype)


@export(methods=("log_softmax",))
def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along ``dim``; finite for inputs of magnitude 1e4."""
    return _softmax_like("log_softmax", LogSoftmax, input, dim, dtype)


class LeakyRelu(Op):
    name = "LeakyRelu"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, slope: float) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.slope = slope
        return np.where(x > 0, x, x * slope).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (x,) = ctx.saved_tensors
        return (np.where(x > 0, g, g * ctx.slope).astype(g.dtype, copy=False),)  # slope at 0, as torch


class Elu(Op):
    name = "Elu"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, alpha: float) -> np.ndarray:
        out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
        ctx.save_for_backward(x)  # the input only, as torch: modifying the output in place stays legal
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (x,) = ctx.saved_tensors
        return (np.where(x > 0, g, g * ctx.alpha * np.exp(np.minimum(x, 0))).astype(g.dtype, copy=False),)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class Gelu(Op):
    name = "Gelu"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, approximate: str) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        return 0.5 * x * (1 + erf_array(x * _INV_SQRT_2))

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            t = np.tanh(inner)
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner),)
        cdf = 0.5 * (1 + erf_array(x * _INV_SQRT_2))
        pdf = np.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return (g * (cdf + x * pdf),)


class Silu(Op):
    name = "Silu"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        s = sigmoid_array(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, s = ctx.saved_tensors
        return (g * s * (1 + x * (1 - s)),)


class Softplus(Op):
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` (torch's exact switch)."""

    name = "Softplus"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * beta
        soft = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
        return np.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return (np.where(bx > ctx.threshold, g, g * sigmoid_array(bx)).astype(g.dtype, copy=False),)


class Hardtanh(Op):
    """clamp to [min_val, max_val]; gradient 0 at the boundaries (unlike clamp), as torch."""

    name = "Hardtanh"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, lo: float, hi: float) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (x,) = ctx.saved_tensors
        return (g * ((x > ctx.lo) & (x < ctx.hi)),)


def _activation(name: str, op: type[Op], x: Tensor, **attrs: Any) -> Tensor:
    check_tensor(x, name)
    if not x.dtype.is_floating_point:
        raise kernel_not_implemented(name, x.dtype)
    return op.apply(x, **attrs)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x; the gradient at 0 is negative_slope."""
    return _maybe_inplace(input, _activation("leaky_relu", LeakyRelu, input, slope=negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return _maybe_inplace(input, _activation("elu", Elu, input, alpha=alpha), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (exact, via erf) or its tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _activation("gelu", Gelu, input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    return _maybe_inplace(input, _activation("silu", Silu, input), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Smooth relu, stable for large |x|."""
    return _activation("softplus", Softplus, input, beta=beta, threshold=threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamp to [min_val, max_val], gradient 0 at the boundaries."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if check_tensor(input, "hardtanh").dtype is _dtype.bool_:  # integers are clamped, bools refused
        raise RuntimeError("Bool inputs not supported for hardtanh")
    return _maybe_inplace(input, Hardtanh.apply(input, lo=min_val, hi=max_val), inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def _maybe_inplace(input: Tensor, result: Tensor, inplace: bool) -> Tensor:
    return input._assign(result, "activation_") if inplace else result


