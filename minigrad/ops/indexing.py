"""Indexing: ``x[idx]`` (basic and advanced), gather, index_select, index_put (``x[idx] = v``).

Gradients of advanced indexing scatter-add, so repeated indices accumulate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype
from ..autograd.function import Op
from ..autograd.graph import Context
from ..tensor import Tensor, _wrap_dim
from ._registry import export
from ._util import as_int_array, check_tensor, operand, sum_to


def _normalize_index(index: Any) -> Any:
    """Turn Tensors inside an index into ndarrays, checking their dtypes."""
    if isinstance(index, tuple):
        return tuple(_normalize_index(i) for i in index)
    if isinstance(index, Tensor):
        arr = index._data
        if arr.dtype.kind == "f":
            raise IndexError(
                "tensors used as indices must be long, int, byte or bool tensors (got "
                f"minigrad.{index.dtype.name})"
            )
        return arr
    if isinstance(index, list):
        arr = np.asarray(index)
        # torch turns a list of Python floats into a long index (truncated): x[[0.5, 1.7]] is x[[0, 1]], and
        # x[[]] selects nothing (NumPy would make the empty list float64)
        if arr.size == 0 or arr.dtype.kind == "f":
            return arr.astype(np.int64)
        return arr
    return index


def split_index(index: Any) -> tuple[Any, Any]:
    """torch's order: integer indices select first (their dims disappear), then the tensors index what
    is left. numpy instead treats ints as advanced indices, which moves the advanced dims to the front
    when a slice separates them (``x[0, :, idx]``). Returns (basic index, advanced index or None); with
    no int beside a tensor index, numpy and torch agree and the index is returned whole."""
    items = index if isinstance(index, tuple) else (index,)
    is_int = [isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)) for i in items]
    if not (any(is_int) and any(isinstance(i, np.ndarray) for i in items)):
        return index, None
    first: list[Any] = []
    second: list[Any] = []
    for i, integer in zip(items, is_int):
        if integer:
            first.append(i)
        elif isinstance(i, np.ndarray):
            first.extend([slice(None)] * (i.ndim if i.dtype == np.bool_ else 1))
            second.append(i)
        elif i is Ellipsis:
            first.append(i)
            second.append(i)
        else:  # slice or None: applied in the first step, kept whole in the second
            first.append(i)
            second.append(slice(None))
    return tuple(first), tuple(second)


def _is_basic(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) for i in items)


def _check_bounds(shape: tuple[int, ...], index: Any) -> None:
    """torch's IndexError for an out-of-range integer index (numpy's message names no tensor size)."""
    items = index if isinstance(index, tuple) else (index,)
    # None, Ellipsis and a Python bool (which adds a dim, like None) index no dim; a bool mask indexes its ndim
    used = sum(i.ndim if isinstance(i, np.ndarray) and i.dtype == np.bool_ else 1
               for i in items if i is not None and i is not Ellipsis and not isinstance(i, (bool, np.bool_)))
    if used > len(shape):
        if not shape and used == 1 and isinstance(items[0], (int, np.integer)):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                             "in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    dim = 0
    advanced = 0  # torch numbers the dims of tensor indices among the tensor-indexed dims only
    for i in items:
        if i is None:
            continue
        if i is Ellipsis:
            dim = len(shape) - sum(1 for j in items if j is not None and j is not Ellipsis) + dim
            continue
        if isinstance(i, (int, np.integer)) and dim < len(shape):
            if not -shape[dim] <= i < shape[dim]:
                raise IndexError(
                    f"index {int(i)} is out of bounds for dimension {dim} with size {shape[dim]}"
                )
        elif isinstance(i, np.ndarray) and i.dtype.kind in "iu" and dim < len(shape) and i.size:
            if i.max() >= shape[dim] or i.min() < -shape[dim]:
                bad = i.max() if i.max() >= shape[dim] else i.min()
                raise IndexError(
                    f"index {int(bad)} is out of bounds for dimension {advanced} with size {shape[dim]}"
                )
        step = i.ndim if isinstance(i, np.ndarray) and i.dtype == np.bool_ else 1
        dim += step
        advanced += step if isinstance(i, np.ndarray) else 0


class Index(Op):
    name = "Index"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, index: Any) -> np.ndarray:
        ctx.shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        gx = np.zeros(ctx.shape, dtype=g.dtype)
        if _is_basic(ctx.index):
            gx[ctx.index] = g
        else:
            np.add.at(gx, ctx.index, g)  # repeated indices accumulate
        return (gx,)


class BasicIndex(Index):
    name = "Select"
    is_view = True

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, index: Any) -> np.ndarray:
        ctx.shape, ctx.index = x.shape, index
        out = x[index]
        # NumPy returns a copied scalar for a full integer index; torch returns a 0-d view of the
        # storage (writes reach ``x``, the version counter is shared): ``x[i, j, ...]`` is that view.
        return out if isinstance(out, np.ndarray) else x[(*(index if isinstance(index, tuple) else (index,)), ...)]


def getitem(self: Tensor, index: Any) -> Tensor:
    """``x[index]``: ints, slices, None, Ellipsis, int and bool arrays/tensors."""
    idx = _normalize_index(index)
    _check_bounds(self.shape, idx)
    if _is_basic(idx):
        return BasicIndex.apply(self, index=idx)
    first, second = split_index(idx)
    try:
        if second is None:
            return Index.apply(self, index=idx)
        return Index.apply(BasicIndex.apply(self, index=first), index=second)
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor of shape {list(self.shape)})") from None


export("__getitem__", function=False)(getitem)


class IndexPut(Op):
    """Out-of-place ``x[index] = v``; ``index`` is a ``split_index`` pair (basic part, advanced part)."""

    name = "IndexPut"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, v: np.ndarray, index: tuple[Any, Any], accumulate: bool) -> np.ndarray:
        ctx.index, ctx.vshape, ctx.accumulate = index, v.shape, accumulate
        out = x.copy()
        put(out, index, v, accumulate)
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        gx = g.copy()
        if not ctx.accumulate:
            put(gx, ctx.index, 0, False)
        gv = sum_to(np.asarray(take(g, ctx.index)), ctx.vshape) if ctx.needs_input_grad[1] else None
        return gx, gv


def take(x: np.ndarray, index: tuple[Any, Any]) -> np.ndarray:
    """``x[index]`` for a ``split_index`` pair."""
    first, second = index
    return x[first] if second is None else x[first][second]


def put(x: np.ndarray, index: tuple[Any, Any], v: Any, accumulate: bool) -> None:
    """``x[index] = v`` (or ``+=`` with repeated indices accumulating) in place, for a ``split_index`` pair;
    the basic part is a view, so writing through it writes ``x``."""
    first, second = index
    target, idx = (x, first) if second is None else (x[first], second)
    try:
        if accumulate:
            np.add.at(target, idx, v)
        else:
            target[idx] = v
    except ValueError:  # numpy's broadcasting error; torch raises RuntimeError
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(np.shape(v))} cannot be broadcast to indexing result "
            f"of shape {list(np.shape(target[idx]))}"
        ) from None


def index_put(x: Tensor, index: Any, value: Any, accumulate: bool = False) -> Tensor:
    """Out-of-place ``x[index] = value`` (used by ``__setitem__`` when gradients flow)."""
    v = operand(value, x.dtype)
    idx = _normalize_index(index)
    _check_bounds(x.shape, idx)
    return IndexPut.apply(x, v.to(x.dtype), index=split_index(idx), accumulate=accumulate)


class Gather(Op):
    name = "Gather"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: int, index: np.ndarray) -> np.ndarray:
        ctx.shape, ctx.axis = x.shape, axis
        ctx.save_for_backward(index)
        return np.take_along_axis(x, index, axis)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (index,) = ctx.saved_tensors
        gx = np.zeros(ctx.shape, dtype=g.dtype)
        # scatter-add along axis: build full index tuples so repeated indices accumulate
        grids = list(np.indices(index.shape, sparse=True))
        grids[ctx.axis] = index
        np.add.at(gx, tuple(grids), g)
        return (gx,)


@export(methods=("gather",))
def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j] = input[index[i][j]][j] (dim=0) etc.; index has input's number of dims."""
    check_tensor(input, "gather")
    idx = as_int_array(index, "gather")
    axis = _wrap_dim(dim, input.ndim, "gather")
    if idx.size == 0:  # torch checks nothing else for an empty index: an empty result of its shape
        return getitem(input.reshape(-1), slice(0, 0)).reshape(idx.shape)
    if max(idx.ndim, 1) != max(input.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if input.ndim == 0 or idx.ndim == 0:  # a scalar counts as one element along dim 0 (torch)
        return gather(input.reshape(input.shape or (1,)), axis, Tensor._make(idx.reshape(idx.shape or (1,)))
                      ).reshape(idx.shape)
    for d in range(input.ndim):
        if d != axis and idx.shape[d] > input.shape[d]:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(idx.shape)} to be no larger "
                f"than self {list(input.shape)} apart from dimension {axis}"
            )
    if idx.size and (idx.min() < 0 or idx.max() >= input.shape[axis]):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"gather(): index {int(bad)} is out of bounds for dimension {axis} with size {input.shape[axis]}")
    # take_along_axis broadcasts; torch uses the index's own extent in the other dims
    sub = tuple(slice(0, s) if d != axis else slice(None) for d, s in enumerate(idx.shape))
    if sub and any(idx.shape[d] != input.shape[d] for d in range(input.ndim) if d != axis):
        part = getitem(input, sub)
        return Gather.apply(part, axis=axis, index=idx)
    return Gather.apply(input, axis=axis, index=idx)


@export(methods=("index_select",))
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Rows (along ``dim``) picked by a 1-D index; repeated rows accumulate their gradient."""
    check_tensor(input, "index_select")
    idx = as_int_array(index, "index_select")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    axis = _wrap_dim(dim, input.ndim, "index_select")
    if input.ndim == 0:  # torch: a scalar takes exactly one index, 0
        if idx.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
        if int(idx.reshape(-1)[0]) != 0:
            raise IndexError("index out of range in self")
        return Index.apply(input.reshape(1), index=(np.zeros(1, dtype=np.int64),)).reshape(())
    full: list[Any] = [slice(None)] * input.ndim
    full[axis] = idx.reshape(-1)
    n = input.shape[axis] if input.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        flat = idx.reshape(-1)
        bad = int(flat[(flat < 0) | (flat >= n)][0])
        if axis > 0:  # torch's kernel for an inner dim words it so
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
        raise IndexError(f"index_select(): index out of range in self (index {bad} for dimension {axis} "
                         f"with size {n})")
    return Index.apply(input, index=tuple(full))


@export(methods=("masked_fill",))
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """Replace elements where ``mask`` is True by ``value`` (gradient 0 there)."""
    from .elementwise import where

    if mask.dtype is not _dtype.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype.c_type}")
    return where(mask, operand(value, input.dtype), input)


@export(methods=("nonzero",))
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    if input.ndim == 0:  # torch: one (empty) index row per nonzero scalar
        n = int(input._data != 0)
        if as_tuple:
            return (Tensor._make(np.zeros(n, np.int64)),)
        return Tensor._make(np.zeros((n, 0), np.int64))
    idx = np.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in idx)
    return Tensor._make(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64))
