"""Reductions: sum, mean, var, std, prod, max/min, amax/amin, argmax/argmin, logsumexp, norms, cumsum.

Tie semantics follow torch 2.13: a full ``max()``/``min()`` and ``amax``/``amin`` split the gradient
evenly among tied elements; ``max(dim)``/``min(dim)`` send it all to the returned (first) index.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections import namedtuple
from typing import Any

import numpy as np

from .. import _dtype
from ..autograd.function import Op
from ..autograd.graph import Context
from ..tensor import Tensor, _wrap_dim
from ._registry import export
from ._util import check_tensor, dims

values_indices = namedtuple("values_indices", ["values", "indices"])


def _expand_back(g: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
    """Broadcast a reduced gradient back over the reduced axes."""
    if axes is None:
        axes = tuple(range(len(shape)))
    if not keepdim:
        g = g.reshape([1 if i in axes else s for i, s in enumerate(shape)])
    return np.broadcast_to(g, shape)


def _count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    if axes is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


class Sum(Op):
    name = "Sum"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axes: Any, keepdim: bool) -> np.ndarray:
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return np.sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        return (np.array(_expand_back(g, ctx.shape, ctx.axes, ctx.keepdim)),)


class Mean(Op):
    name = "Mean"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axes: Any, keepdim: bool) -> np.ndarray:
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        if _count(x.shape, axes) == 0:  # torch gives nan silently; numpy would warn
            return np.full(np.sum(x, axis=axes, keepdims=keepdim).shape, np.nan, dtype=x.dtype)
        return np.mean(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        n = _count(ctx.shape, ctx.axes)
        return (_expand_back(g, ctx.shape, ctx.axes, ctx.keepdim) / n,)


@export(methods=("sum",))
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None, keepdims: Any = None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (all by default); integer and bool inputs sum as int64, as torch."""
    check_tensor(input, "sum")
    dim = axis if dim is None else dim
    keepdim = keepdims if keepdims is not None else keepdim
    axes = dims(dim, input.ndim, "sum")
    if dtype is not None:
        input = input.to(_dtype.as_dtype(dtype))
    elif not input.dtype.is_floating_point:
        input = input.to(_dtype.int64)
    return Sum.apply(input, axes=axes, keepdim=keepdim)


@export(methods=("mean",))
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None, keepdims: Any = None) -> Tensor:
    """Mean over ``dim``; like torch, integer inputs are an error (ask for a float dtype)."""
    check_tensor(input, "mean")
    dim = axis if dim is None else dim
    keepdim = keepdims if keepdims is not None else keepdim
    if dtype is not None:
        input = input.to(_dtype.as_dtype(dtype))
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {input.dtype.scalar_type}"
        )
    return Mean.apply(input, axes=dims(dim, input.ndim, "mean"), keepdim=keepdim)


def _constant_slices(x: np.ndarray, axes: Any, keepdims: bool) -> np.ndarray:
    """Where every reduced value is equal: the spread there is exactly 0. numpy's mean of identical values is
    inexact along a strided axis (3 x 1e-8 summed and divided by 3 is not 1e-8), which would leave a
    spurious std of ~1e-24 and a gradient of rounding noise; torch's Welford reduction gives exactly 0."""
    if _count(x.shape, axes) == 0:
        return np.zeros(np.sum(x, axis=axes, keepdims=keepdims).shape, dtype=bool)
    top = np.max(x, axis=axes, keepdims=keepdims)
    return (top == np.min(x, axis=axes, keepdims=keepdims)) & np.isfinite(top)


def _centered(x: np.ndarray, axes: Any) -> np.ndarray:
    """``x - mean(x)`` over ``axes``, exactly 0 on slices of identical values."""
    centered = x - np.mean(x, axis=axes, keepdims=True)
    return np.where(_constant_slices(x, axes, True), x.dtype.type(0), centered)


def _dof(n: int, correction: float) -> float:
    """Degrees of freedom ``max(0, n - correction)``, as torch's var/std backward (so the gradient is nan,
    not a sign-flipped 0, when the correction exceeds the count)."""
    return n - correction if n > correction else 0.0


class Var(Op):
    name = "Var"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axes: Any, correction: float, keepdim: bool) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.axes, ctx.correction, ctx.keepdim = axes, correction, keepdim
        out = np.var(x.astype(np.float64), axis=axes, ddof=correction, keepdims=keepdim)
        return np.where(_constant_slices(x, axes, keepdim) & ~np.isnan(out), 0.0, out).astype(x.dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (x,) = ctx.saved_tensors
        n = _count(x.shape, ctx.axes)
        centered = _centered(x, ctx.axes)
        return (_expand_back(g, x.shape, ctx.axes, ctx.keepdim) * centered * (g.dtype.type(2) / g.dtype.type(_dof(n, ctx.correction))),)


class Std(Op):
    name = "Std"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axes: Any, correction: float, keepdim: bool) -> np.ndarray:
        out = np.std(x.astype(np.float64), axis=axes, ddof=correction, keepdims=keepdim)
        out = np.where(_constant_slices(x, axes, keepdim) & ~np.isnan(out), 0.0, out).astype(x.dtype)
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.correction, ctx.keepdim = axes, correction, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, out = ctx.saved_tensors
        n = _count(x.shape, ctx.axes)
        centered = _centered(x, ctx.axes)
        # torch masks the gradient to 0 where std == 0 (instead of 0/0)
        scale = _expand_back(np.where(out == 0, 0, g / out).astype(g.dtype, copy=False), x.shape, ctx.axes, ctx.keepdim)
        return (scale * centered / g.dtype.type(_dof(n, ctx.correction)),)


def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None:
        return float(correction)
    return 1.0 if unbiased is None or unbiased else 0.0


def _var_args(name: str, input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any) -> tuple[Any, float]:
    check_tensor(input, name)
    if isinstance(dim, bool):  # var(x, False) is var(x, unbiased=False)
        unbiased, dim = dim, None
    if not input.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    return dims(dim, input.ndim, name), _correction(unbiased, correction)


def _var_std(op: type[Op], name: str, input: Tensor, axes: Any, corr: float, keepdim: bool) -> Tensor:
    if _count(input.shape, axes) - corr <= 0:  # torch's warning, not numpy's
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
            "factor (input numel divided by output numel).", UserWarning, stacklevel=3,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return op.apply(input, axes=axes, correction=corr, keepdim=keepdim)


@export(methods=("var",))
def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``)."""
    axes, corr = _var_args("var", input, dim, unbiased, keepdim, correction)
    return _var_std(Var, "var", input, axes, corr, keepdim)


@export(methods=("std",))
def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    """Standard deviation with Bessel's correction by default."""
    axes, corr = _var_args("std", input, dim, unbiased, keepdim, correction)
    return _var_std(Std, "std", input, axes, corr, keepdim)


class Prod(Op):
    """Product. Without zeros the gradient is ``result / x`` (torch's formula and rounding); with zeros,
    the product of the other elements."""

    name = "Prod"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: Any, keepdim: bool) -> np.ndarray:
        out = np.prod(x, axis=axis, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdim = axis, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, out = ctx.saved_tensors
        if x.size == 0:
            return (np.zeros_like(x),)
        axis = ctx.axis
        dims_ = None if axis is None else (axis,)
        if not (x == 0).any():  # torch: grad * (result / input) when there is no zero (so is its rounding)
            return (_expand_back(g, x.shape, dims_, ctx.keepdim) * (_expand_back(out, x.shape, dims_, ctx.keepdim) / x),)
        # exclusive products from the left and from the right; like torch's cumprod, the running product
        # is accumulated in float64 and each output rounded to x's dtype (so 1e40 * 0 is 0, not nan)
        xm = (x.reshape(-1) if axis is None else np.moveaxis(x, axis, -1)).astype(np.float64)
        ones = np.ones(xm.shape[:-1] + (1,))
        left = np.cumprod(np.concatenate([ones, xm[..., :-1]], axis=-1), axis=-1).astype(x.dtype)
        right = np.flip(np.cumprod(np.flip(np.concatenate([xm[..., 1:], ones], axis=-1), -1), axis=-1), -1)
        others = left * right.astype(x.dtype)
        others = others.reshape(x.shape) if axis is None else np.moveaxis(others, -1, axis)
        return (_expand_back(g, x.shape, None if axis is None else (axis,), ctx.keepdim) * others,)


@export(methods=("prod",))
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    check_tensor(input, "prod")
    if dtype is not None:
        input = input.to(_dtype.as_dtype(dtype))
    elif not input.dtype.is_floating_point:
        input = input.to(_dtype.int64)
    axis = None if dim is None else _wrap_dim(dim, input.ndim, "prod")
    if input.ndim == 0:  # dim 0 / -1 of a scalar is the scalar itself (torch)
        axis = None
    return Prod.apply(input, axis=axis, keepdim=keepdim)


class AmaxAmin(Op):
    """amax/amin and full max()/min(): the gradient is split evenly among tied extrema."""

    name = "Amax"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axes: Any, keepdim: bool, largest: bool) -> np.ndarray:
        out = (np.max if largest else np.min)(x, axis=axes, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.keepdim = axes, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, out = ctx.saved_tensors
        hit = x == _expand_back(out, x.shape, ctx.axes, ctx.keepdim)
        count = np.sum(hit, axis=ctx.axes, keepdims=True)
        return (_expand_back(g, x.shape, ctx.axes, ctx.keepdim) * hit / count.astype(x.dtype),)


class MaxDim(Op):
    """max(dim)/min(dim) values: the whole gradient goes to the returned index."""

    name = "Max"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: int, keepdim: bool, indices: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(indices)
        ctx.shape, ctx.axis, ctx.keepdim = x.shape, axis, keepdim
        return np.take_along_axis(x, np.expand_dims(indices, axis), axis).reshape(
            indices.shape if not keepdim else np.expand_dims(indices, axis).shape
        )

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (indices,) = ctx.saved_tensors
        gx = np.zeros(ctx.shape, dtype=g.dtype)
        gk = g if ctx.keepdim else np.expand_dims(g, ctx.axis)
        np.put_along_axis(gx, np.expand_dims(indices, ctx.axis), gk, ctx.axis)
        return (gx,)


def _arg_extreme(x: np.ndarray, axis: int | None, largest: bool) -> np.ndarray:
    """First index of the max/min (nan counts as the extreme, as torch)."""
    if x.dtype.kind == "f" and np.isnan(x).any():
        return np.argmax(np.isnan(x), axis=axis)
    return (np.argmax if largest else np.argmin)(x, axis=axis)


def _max_min(name: str, largest: bool, input: Tensor, dim: Any, keepdim: bool, other: Any) -> Any:
    check_tensor(input, name)
    if isinstance(dim, Tensor) or other is not None:
        from .elementwise import maximum, minimum

        return (maximum if largest else minimum)(input, dim if other is None else other)
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        return AmaxAmin.apply(input, axes=None, keepdim=False, largest=largest)
    axis = _wrap_dim(dim, input.ndim, name)
    if input.ndim == 0:
        return values_indices(AmaxAmin.apply(input, axes=None, keepdim=keepdim, largest=largest), Tensor._make(np.asarray(0)))
    if input.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    idx = _arg_extreme(input._data, axis, largest).astype(np.int64)
    values = MaxDim.apply(input, axis=axis, keepdim=keepdim, indices=idx)
    return values_indices(values, Tensor._make(np.expand_dims(idx, axis) if keepdim else idx))


@export(methods=("max",))
def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A001
    """Full max (ties share the gradient), ``max(dim)`` -> (values, indices), or ``max(a, b)``."""
    return _max_min("max", True, input, dim, keepdim, other)


@export(methods=("min",))
def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A001
    return _max_min("min", False, input, dim, keepdim, other)


def _amax_amin(name: str, largest: bool, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    check_tensor(input, name)
    if input.ndim and dim is not None:  # torch checks each dim in turn: its range, then its size (as given)
        for d in [dim] if isinstance(dim, (int, np.integer)) else dim:
            if input.shape[_wrap_dim(int(d), input.ndim, name)] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    axes = dims(dim if dim != () else None, input.ndim, name)
    if input.numel() == 0 and axes is None:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")
    return AmaxAmin.apply(input, axes=axes, keepdim=keepdim, largest=largest)


@export(methods=("amax",))
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Max over dims; ties share the gradient evenly."""
    return _amax_amin("amax", True, input, dim, keepdim)


@export(methods=("amin",))
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return _amax_amin("amin", False, input, dim, keepdim)


def _argext(name: str, largest: bool, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    if check_tensor(input, name).dtype is _dtype.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if input.numel() == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        out = np.asarray(_arg_extreme(input._data.reshape(-1), None, largest), dtype=np.int64)
        return Tensor._make(out.reshape([1] * input.ndim) if keepdim else out)
    axis = _wrap_dim(dim, input.ndim, name)
    if input.ndim == 0:
        return Tensor._make(np.asarray(0, dtype=np.int64))
    idx = _arg_extreme(input._data, axis, largest).astype(np.int64)
    return Tensor._make(np.expand_dims(idx, axis) if keepdim else idx)


@export(methods=("argmax",))
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the first maximum (no gradient)."""
    return _argext("argmax", True, input, dim, keepdim)


@export(methods=("argmin",))
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _argext("argmin", False, input, dim, keepdim)


class Logsumexp(Op):
    name = "Logsumexp"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axes: Any, keepdim: bool) -> np.ndarray:
        m = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        if not keepdim:
            out = out.reshape([s for i, s in enumerate(x.shape) if i not in (axes or range(x.ndim))])
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.keepdim = axes, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, out = ctx.saved_tensors
        full = _expand_back(out, x.shape, ctx.axes, ctx.keepdim)
        return (_expand_back(g, x.shape, ctx.axes, ctx.keepdim) * ctx.xp.exp(x - full),)


@export(methods=("logsumexp",))
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed stably; all -inf gives -inf (and a nan gradient, as torch)."""
    check_tensor(input, "logsumexp")
    if not input.dtype.is_floating_point:
        input = input.to(_dtype.get_default_dtype())
    axes = dims(dim, input.ndim, "logsumexp") if dim != () else None
    return Logsumexp.apply(input, axes=axes if axes is not None else tuple(range(input.ndim)), keepdim=keepdim)


class VectorNorm(Op):
    name = "LinalgVectorNorm"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, ord: float, axes: Any, keepdim: bool, shortcut: bool = True) -> np.ndarray:
        a = np.abs(x)
        if x.size and _count(x.shape, axes) == 1 and ord != 0 and shortcut:
            # torch returns |x| for a one-element reduction (no squaring, so no underflow), except for a 0-d
            # input given a dim, which it reduces like any other (float32 [-1e-30] -> 0 for ord 2 and 3)
            out = np.sum(a, axis=axes, keepdims=keepdim)  # a sum of one element is that element
        elif ord == math.inf:
            out = np.max(a, axis=axes, keepdims=keepdim, initial=0)  # initial only matters when empty
        elif ord == -math.inf:
            out = np.min(a, axis=axes, keepdims=keepdim, initial=math.inf)
        elif ord == 0:
            out = np.sum(a != 0, axis=axes, keepdims=keepdim).astype(x.dtype)
        elif ord == 1:
            out = np.sum(a, axis=axes, keepdims=keepdim)
        elif ord == 2:
            out = np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdim))
        else:
            out = np.power(np.sum(np.power(a, ord), axis=axes, keepdims=keepdim), 1.0 / ord)
        out = np.asarray(out, dtype=x.dtype)
        ctx.save_for_backward(x, out)
        ctx.ord, ctx.axes, ctx.keepdim = ord, axes, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, out = ctx.saved_tensors
        p = ctx.ord
        norm = _expand_back(out, x.shape, ctx.axes, ctx.keepdim)
        gf = _expand_back(g, x.shape, ctx.axes, ctx.keepdim)
        if p == 0:
            return (np.zeros_like(x),)
        if p == 1:
            return (gf * np.sign(x),)
        if math.isinf(p):  # the gradient of amax(|x|): split evenly among ties (nan counts)
            a = np.abs(x)
            mask = (a == norm) | np.isnan(a)
            count = np.sum(mask, axis=ctx.axes, keepdims=True)
            return (np.sign(x) * (gf / count) * mask,)
        # torch's three branches, in the input's dtype (so they under/overflow where torch's do)
        a = np.abs(x)
        if p == 2:
            return ((gf * np.where(norm == 0, 0, x / norm)).astype(x.dtype),)
        if p < 1:
            scaled = np.where(x == 0, 0, np.sign(x) * np.power(a, p - 1))
            return ((scaled * gf * np.power(norm, 1 - p)).astype(x.dtype),)
        scaled = np.sign(x) * np.power(a, p - 1) if p < 2 else x * np.power(a, p - 2)
        scale = np.where(norm == 0, 0, gf / np.power(norm, p - 1))  # gradient 0 at the origin
        return ((scaled * scale).astype(x.dtype),)


def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """``linalg.vector_norm``: the ord-norm over ``dim`` (all elements by default)."""
    check_tensor(x, "linalg.vector_norm")
    if not x.dtype.is_floating_point:  # checked before dtype= applies, as torch does
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {x.dtype.scalar_type}"
        )
    if dtype is not None:
        x = x.to(_dtype.as_dtype(dtype))
    if not isinstance(ord, numbers.Number):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    axes = dims(dim, x.ndim, "linalg.vector_norm")
    if (ord < 0 or math.isinf(ord)) and x.numel() == 0:  # max, min and negative powers have no identity
        name = f"{ord:g}"
        if axes is None:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {name} norm on an empty tensor because the "
                "operation does not have an identity"
            )
        given = [dim] if isinstance(dim, (int, np.integer)) else list(dim)
        for a, d in zip(axes, given):
            if x.shape[a] == 0:  # torch's wording, its missing space included
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the {name} norm on the dimension {d}because this "
                    "dimension is empty and the operation does not have an identity"
                )
    return VectorNorm.apply(x, ord=float(ord), axes=axes, keepdim=keepdim, shortcut=x.ndim > 0 or dim is None)


@export(methods=("norm",))
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """``torch.norm``: vector norms over ``dim`` ('fro' is the 2-norm), or 'nuc', the nuclear norm over two
    dims (the last two of a 2-D input by default)."""
    if p in ("fro", None):
        p = 2
    if isinstance(p, str):  # 'nuc' (torch sends any other string to matrix_norm too, which rejects it)
        from ..linalg import _matrix_norm

        return _matrix_norm(input, p, (-2, -1) if dim is None else dim, keepdim, dtype)
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


class Cumsum(Op):
    name = "Cumsum"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: int) -> np.ndarray:
        ctx.axis = axis
        return np.cumsum(x, axis=axis) if x.ndim else x.copy()

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        if g.ndim == 0:
            return (g,)
        return (np.flip(np.cumsum(np.flip(g, ctx.axis), axis=ctx.axis), ctx.axis),)


@export(methods=("cumsum",))
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative sum along ``dim``."""
    check_tensor(input, "cumsum")
    if dtype is not None:
        input = input.to(_dtype.as_dtype(dtype))
    elif not input.dtype.is_floating_point:
        input = input.to(_dtype.int64)
    return Cumsum.apply(input, axis=_wrap_dim(dim, input.ndim, "cumsum"))
