"""Small helpers shared by the op modules: operand conversion, unbroadcasting, dims."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _dtype
from .._dtype import dtype as DType
from ..autograd.function import Op
from ..autograd.graph import Context
from ..tensor import Tensor, _wrap_dim


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reduce a broadcast gradient back to ``shape`` (the adjoint of broadcasting)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1
    )
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out.reshape(shape)


def operand(x: Any, dtype: DType) -> Tensor:
    """A tensor operand: Tensors pass through, Python scalars become 0-d constants of ``dtype``."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating)):
        return Tensor._make(np.asarray(x, dtype=dtype.np))
    raise TypeError(
        f"expected a Tensor or a Python number as operand, got {type(x).__name__}"
    )


def check_tensor(x: Any, op: str, arg: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def broadcast_shapes_for(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast shape of ``shapes`` with torch's error (plus the op and the full shapes).

    Like torch's TensorIterator, operands are folded in order: tensor a is the shape broadcast so far,
    tensor b the next operand; of several mismatching dims the last one is named."""
    result: tuple[int, ...] = tuple(shapes[0]) if shapes else ()
    for shape in shapes[1:]:
        ndim = max(len(result), len(shape))
        a = (1,) * (ndim - len(result)) + tuple(result)
        b = (1,) * (ndim - len(shape)) + tuple(shape)
        for d in range(ndim - 1, -1, -1):
            if a[d] != b[d] and a[d] != 1 and b[d] != 1:
                raise RuntimeError(
                    f"The size of tensor a ({a[d]}) must match the size of tensor b ({b[d]}) at "
                    f"non-singleton dimension {d} ({op} of shapes "
                    + " and ".join(str(list(s)) for s in shapes) + ")")
        result = tuple(y if x == 1 else x for x, y in zip(a, b))
    return result


def dims(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """Normalise ``dim`` (None, int or sequence) to a tuple of non-negative axes, None = all.

    A 0-d tensor accepts dim 0 and -1 as torch does (a scalar is reduced over itself: all of it)."""
    if dim is None:
        return None
    if isinstance(dim, (int, np.integer)):
        axis = _wrap_dim(int(dim), ndim, op)
        return (axis,) if ndim else None
    out = tuple(_wrap_dim(int(d), ndim, op) for d in dim)
    if len(set(out)) != len(out):
        repeated = next(d for i, d in enumerate(out) if d in out[:i])
        raise RuntimeError(f"{op}: dim {repeated} appears multiple times in the list of dims")
    return out if out and ndim else None


def kernel_not_implemented(kernel: str, dt: DType) -> NotImplementedError:
    """torch's refusal of a dtype its CPU kernel has no loop for (raise the result)."""
    return NotImplementedError(f"\"{kernel}\" not implemented for '{dt.scalar_type}'")


class _FailsInBackward(Op):
    """Identity whose backward raises: torch errors that only its derivative formulas hit."""

    name = "FailsInBackward"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, error: Exception) -> np.ndarray:
        ctx.error = error
        return x

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        raise ctx.error


def fails_in_backward(x: Tensor, error: Exception) -> Tensor:
    """``x`` itself, except that a gradient flowing back through it raises ``error`` (as torch's backward
    formula would); ``x`` unchanged when it does not require grad."""
    from ..autograd.grad_mode import is_grad_enabled

    return _FailsInBackward.apply(x, error=error) if x.requires_grad and is_grad_enabled() else x


def float_dtype(*xs: Any) -> DType:
    """Result dtype of ops that always produce floats (div, exp on ints, mean)."""
    d = _dtype.result_type(*xs)
    return d if d.is_floating_point else _dtype.get_default_dtype()


#: torch's wording of the index-dtype error per op
_INDEX_DTYPES = {"gather": "int32/int64", "index_select": "int32 or int64"}


def as_int_array(x: Any, op: str, arg: str = "index") -> np.ndarray:
    """An index argument as an int64 array, with torch's dtype error."""
    arr = x._data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype {_INDEX_DTYPES.get(op, 'int64')} for {arg} "
                           f"(got {arr.dtype})")
    return arr.astype(np.int64, copy=False)


def shape_str(shape: Sequence[int]) -> str:
    return "x".join(str(s) for s in shape)
