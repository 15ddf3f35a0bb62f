"""Creation functions: tensor, zeros/ones/full/empty, arange/linspace/eye, random, *_like."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _dtype, _random
from ._device import on_cpu
from ._dtype import dtype as DType
from .ops._registry import export
from .tensor import Tensor, _shape_arg


def _infer_dtype(data: Any) -> DType:
    """torch.tensor's inference: a tensor's, array's or NumPy scalar's own dtype; bool, int64 or the default
    float for Python scalars; the promotion of all the elements of a (nested) sequence."""
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, (np.ndarray, np.generic)):  # before float: np.float64 is a float subclass
        return _dtype.from_numpy_dtype(data.dtype)
    if isinstance(data, bool):
        return _dtype.bool_
    if isinstance(data, int):
        return _dtype.int64
    if isinstance(data, float):
        return _dtype.get_default_dtype()
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    if isinstance(data, (list, tuple)):
        best: DType | None = None
        for item in data:
            d = _infer_dtype(item)
            best = d if best is None else _dtype.promote_types(best, d)
        return best or _dtype.get_default_dtype()
    raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _check_nested_lengths(data: Any, dim: int = 0) -> None:
    """torch.tensor's check that nested sequences are rectangular (its ValueError, before NumPy sees them)."""
    if not isinstance(data, (list, tuple)) or not data:
        return
    if not isinstance(data[0], (list, tuple)):
        for item in data:
            if isinstance(item, (list, tuple)):
                raise TypeError(f"'{type(item).__name__}' object cannot be interpreted as an integer")
        return
    expected = len(data[0])
    for item in data:
        if not isinstance(item, (list, tuple)):
            raise TypeError("not a sequence")
        if len(item) != expected:
            raise ValueError(f"expected sequence of length {expected} at dim {dim + 1} (got {len(item)})")
    for item in data:
        _check_nested_lengths(item, dim + 1)


def _check_numbers(data: Any) -> None:
    """With an explicit dtype torch reads every element as a number (NumPy would turn None into nan)."""
    if isinstance(data, (list, tuple)):
        for item in data:
            _check_numbers(item)
    elif not isinstance(data, (bool, int, float, np.generic, np.ndarray, Tensor)):
        raise TypeError(f"must be real number, not {type(data).__name__}")


#: torch's warning for ``tensor(a_tensor)``, word for word
COPY_CONSTRUCT_WARNING = (
    "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
    "sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor)."
)


def _to_array(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_to_array(d) for d in data]
    return data


@on_cpu
def tensor(data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, ndarrays, tensors)."""
    if isinstance(data, Tensor):
        warnings.warn(COPY_CONSTRUCT_WARNING, UserWarning, stacklevel=3)
    _check_nested_lengths(data)
    if dtype is not None:
        _check_numbers(data)
    d = _dtype.as_dtype(dtype, "tensor") if dtype is not None else _infer_dtype(data)
    arr = np.array(_to_array(data), dtype=d.np, copy=True)
    t = Tensor._make(arr)
    return _requiring_grad(t) if requires_grad else t


@on_cpu
def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with an ndarray/tensor of the same dtype."""
    if isinstance(data, Tensor):  # shared unless a cast is asked for (torch: data.to(dtype))
        return data if dtype is None else data.to(_dtype.as_dtype(dtype, "as_tensor"))
    if isinstance(data, np.ndarray) and (dtype is None or _dtype.as_dtype(dtype, "as_tensor").np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._make(array)


def _requiring_grad(t: Tensor) -> Tensor:
    """``requires_grad=True`` at creation (torch's factory wording of the integer-dtype error)."""
    t._set_requires_grad(True, "Only Tensors of floating point and complex dtype can require gradients")
    return t


def _factory(fill: Any, size: Sequence[Any], dtype: Any, requires_grad: bool, op: str) -> Tensor:
    d = _dtype.as_dtype(dtype, op) if dtype is not None else _dtype.get_default_dtype()
    shape = _shape_arg(size)
    negative = [s for s in shape if s < 0]
    if negative:
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative[0]}: {list(shape)}")
    arr = np.empty(shape, dtype=d.np) if fill is None else np.full(shape, fill, dtype=d.np)
    t = Tensor._make(arr)
    return _requiring_grad(t) if requires_grad else t


@on_cpu
def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _factory(0, size, dtype, requires_grad, "zeros")


@on_cpu
def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _factory(1, size, dtype, requires_grad, "ones")


@on_cpu
def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _factory(None, size, dtype, requires_grad, "empty")


@on_cpu
def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; the dtype follows the value (bool/int64/default float)."""
    if dtype is None:
        dtype = _dtype.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    return _factory(fill_value, (tuple(size),), dtype, requires_grad, "full")


def _like(x: Tensor, dtype: Any) -> tuple[tuple[int, ...], Any]:
    return tuple(x.shape), dtype if dtype is not None else x.dtype


@on_cpu
def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(input, dtype)
    return _factory(0, (shape,), d, requires_grad, "zeros_like")


@on_cpu
def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(input, dtype)
    return _factory(1, (shape,), d, requires_grad, "ones_like")


@on_cpu
def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(input, dtype)
    return _factory(None, (shape,), d, requires_grad, "empty_like")


@on_cpu
def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(input, dtype)
    return _factory(fill_value, (shape,), d, requires_grad, "full_like")


@on_cpu
def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Values from start (default 0) up to, not including, end: int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dtype.int64 if ints else _dtype.get_default_dtype()
    d = _dtype.as_dtype(dtype, "arange")
    if d is _dtype.bool_:
        raise NotImplementedError('"arange_cpu" not implemented for \'Bool\'')
    n = max(int(np.ceil((end - start) / step)), 0)
    t = Tensor._make((start + step * np.arange(n, dtype=np.float64 if d.is_floating_point else np.int64)).astype(d.np))
    return _requiring_grad(t) if requires_grad else t


@on_cpu
def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _dtype.as_dtype(dtype, "linspace") if dtype is not None else _dtype.get_default_dtype()
    t = Tensor._make(np.linspace(start, end, steps).astype(d.np))
    return _requiring_grad(t) if requires_grad else t


@on_cpu
def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    for name, size in (("n", n), ("m", m)):
        if size is not None and size < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {size}")
    d = _dtype.as_dtype(dtype, "eye") if dtype is not None else _dtype.get_default_dtype()
    t = Tensor._make(np.eye(n, m, dtype=d.np))
    return _requiring_grad(t) if requires_grad else t


#: the ATen kernel torch names when a random function meets a non-floating dtype
_RANDOM_KERNELS = {"rand": "check_uniform_bounds", "randn": "normal_kernel_cpu"}


def _random_tensor(arr: np.ndarray, dtype: Any, requires_grad: bool, op: str) -> Tensor:
    d = _dtype.as_dtype(dtype, op) if dtype is not None else _dtype.get_default_dtype()
    if not d.is_floating_point:
        raise NotImplementedError(f'"{_RANDOM_KERNELS[op]}" not implemented for \'{d.scalar_type}\'')
    t = Tensor._make(arr.astype(d.np))
    return _requiring_grad(t) if requires_grad else t


@on_cpu
def rand(*size: Any, generator: _random.Generator | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from minigrad's generator (streams differ from torch's)."""
    return _random_tensor(_random.rng(generator, "rand").random(_shape_arg(size)), dtype, requires_grad, "rand")


@on_cpu
def randn(*size: Any, generator: _random.Generator | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    return _random_tensor(_random.rng(generator, "randn").standard_normal(_shape_arg(size)), dtype, requires_grad, "randn")


@on_cpu
def randint(low: int, high: int | None = None, size: Sequence[int] = (), *, generator: _random.Generator | None = None, dtype: Any = None, device: Any = None) -> Tensor:
    """Integers uniform in [low, high) (int64 by default)."""
    if isinstance(high, (tuple, list)):  # torch's randint(high, size) form
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    d = _dtype.as_dtype(dtype, "randint") if dtype is not None else _dtype.int64
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if not d.is_floating_point:  # torch checks the range against the integer dtype
        info = (0, 1) if d is _dtype.bool_ else (np.iinfo(d.np).min, np.iinfo(d.np).max)
        if not info[0] <= low <= info[1]:
            raise RuntimeError(f"from is out of bounds for {d.c_type}")
        if not info[0] <= high - 1 <= info[1]:
            raise RuntimeError(f"to - 1 is out of bounds for {d.c_type}")
    return Tensor._make(_random.rng(generator, "randint").integers(low, high, size=tuple(size)).astype(d.np))


@on_cpu
def randperm(n: int, *, generator: _random.Generator | None = None, dtype: Any = None, device: Any = None) -> Tensor:
    d = _dtype.as_dtype(dtype, "randperm") if dtype is not None else _dtype.int64
    return Tensor._make(_random.rng(generator, "randperm").permutation(n).astype(d.np))


def rand_like(input: Tensor, *, dtype: Any = None) -> Tensor:
    return rand(tuple(input.shape), dtype=dtype or input.dtype)


def randn_like(input: Tensor, *, dtype: Any = None) -> Tensor:
    return randn(tuple(input.shape), dtype=dtype or input.dtype)


def clone(input: Tensor) -> Tensor:
    """A differentiable copy."""
    from .ops.elementwise import Cast

    return Cast.apply(input, target=input.dtype)


# ---- Tensor methods that create tensors (registered on Tensor like the ops) ----------------------
@export("uniform_", function=False)
def uniform_(self: Tensor, a: Any = 0.0, b: Any = 1.0, *, generator: Any = None) -> Tensor:
    """Fill in place with U(a, b) samples."""
    self._check_inplace("uniform_")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    self._data[...] = _random.rng(generator, "uniform_").uniform(a, b, self.shape)
    self._bump_version()
    return self


@export("normal_", function=False)
def normal_(self: Tensor, mean: Any = 0.0, std: Any = 1.0, *, generator: Any = None) -> Tensor:
    """Fill in place with N(mean, std**2) samples."""
    self._check_inplace("normal_")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    self._data[...] = _random.rng(generator, "normal_").normal(mean, std, self.shape)
    self._bump_version()
    return self


@export("new_tensor", function=False)
def new_tensor(self: Tensor, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


@export("new_zeros", function=False)
def new_zeros(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


@export("new_ones", function=False)
def new_ones(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


@export("new_full", function=False)
def new_full(self: Tensor, size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)


@export("new_empty", function=False)
def new_empty(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


@export("clone", function=False)
def _clone_method(self: Tensor, *, memory_format: Any = None) -> Tensor:
    return clone(self)


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a minigrad Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """Number of elements."""
    return input.numel()
