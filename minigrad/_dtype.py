"""dtypes and torch's type-promotion rules."""

from __future__ import annotations

import numpy as np


class dtype:  # noqa: N801 - torch's name
    """A tensor element type, mirroring ``torch.dtype``."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_rank")

    #: minigrad has no complex dtypes (torch's attribute, always False here)
    is_complex = False

    def __init__(self, name: str, np_dtype: type, is_floating_point: bool, rank: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = is_floating_point
        self.is_signed = name != "bool"
        self.itemsize = self.np.itemsize  # bytes per element, as torch.dtype.itemsize
        self._rank = rank  # order used for promotion within the standard lattice

    def __repr__(self) -> str:
        return f"minigrad.{self.name}"

    @property
    def scalar_type(self) -> str:
        """torch's scalar-type name used in its error messages ('Float', 'Long', ...)."""
        return _SCALAR_TYPE[self.name]

    @property
    def c_type(self) -> str:
        """The C++ type name torch prints in some messages ('float', 'double', 'long int', ...)."""
        return _C_TYPE[self.name]

    def __reduce__(self) -> str:
        return self.name


bool_ = dtype("bool", np.bool_, False, 0)
int32 = dtype("int32", np.int32, False, 2)
int64 = dtype("int64", np.int64, False, 3)
float32 = dtype("float32", np.float32, True, 5)
float64 = dtype("float64", np.float64, True, 6)

_SCALAR_TYPE = {"bool": "Bool", "int32": "Int", "int64": "Long", "float32": "Float", "float64": "Double"}
_C_TYPE = {"bool": "bool", "int32": "int", "int64": "long int", "float32": "float", "float64": "double"}
ALL_DTYPES = (bool_, int32, int64, float32, float64)
_BY_NP = {d.np: d for d in ALL_DTYPES}
_default_dtype = float32


def from_numpy_dtype(np_dtype: np.dtype) -> dtype:
    """The minigrad dtype of a NumPy dtype; unsupported dtypes are an error, never a silent cast."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except KeyError:
        supported = ", ".join(d.name for d in ALL_DTYPES)
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. "
            f"The only supported types are: {supported}."
        ) from None


#: the Python types torch accepts as a ``dtype=`` argument, and the dtype each stands for
_PYTHON_TYPES: dict[type, dtype] = {float: float64, int: int64, bool: bool_}


def as_dtype(d: object, op: str = "to") -> dtype:
    """A ``dtype=`` argument of ``op`` as a minigrad dtype: a dtype, or the Python types float/int/bool (as
    torch, which rejects dtype names and NumPy types with a TypeError naming the op)."""
    if isinstance(d, dtype):
        return d
    if isinstance(d, type) and d in _PYTHON_TYPES:
        return _PYTHON_TYPES[d]
    raise TypeError(f"{op}(): argument 'dtype' must be minigrad.dtype, not {type(d).__name__}")


def can_cast(from_: dtype, to: dtype) -> bool:
    """torch.can_cast (also the rule for in-place results): never to a lower category (float -> integer,
    integer -> bool), any width within a category (float64 -> float32 is allowed)."""
    if from_.is_floating_point and not to.is_floating_point:
        return False
    return not (from_ is not bool_ and to is bool_)


def get_default_dtype() -> dtype:
    """The dtype of tensors created from Python floats (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype; like torch, only float32 and float64 are allowed."""
    global _default_dtype
    if not isinstance(d, dtype):
        raise TypeError("invalid dtype object: only floating-point types are supported as the default type")
    if d not in (float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    _default_dtype = d


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types for the dtypes minigrad supports."""
    return a if a._rank >= b._rank else b


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    # c10's combine_categories: a higher-priority operand keeps its dtype unless a lower-priority
    # operand belongs to a higher category (bool < integer < floating).
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def scalar_dtype(value: object) -> dtype:
    """The dtype a Python scalar takes when it meets a tensor ("wrapped number")."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return _default_dtype
    raise TypeError(f"unsupported scalar type {type(value).__name__}")


def result_type(*operands: object) -> dtype:
    """torch.result_type over tensors and Python scalars.

    Tensors with dim >= 1 take priority over 0-d tensors, which take priority over Python scalars;
    a lower-priority operand only matters when it is of a higher category (e.g. float scalar with an
    int tensor gives the default float dtype).
    """
    from .tensor import Tensor

    dim_result = zero_result = wrapped_result = None
    for op in operands:
        if isinstance(op, Tensor):
            if op.ndim > 0:
                dim_result = op.dtype if dim_result is None else promote_types(dim_result, op.dtype)
            else:
                zero_result = op.dtype if zero_result is None else promote_types(zero_result, op.dtype)
        else:
            d = scalar_dtype(op)
            wrapped_result = d if wrapped_result is None else promote_types(wrapped_result, d)
    out = _combine(dim_result, _combine(zero_result, wrapped_result))
    assert out is not None
    return out
