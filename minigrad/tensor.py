"""The Tensor: an ndarray plus what autograd needs (grad, requires_grad, grad_fn, version)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from . import _dtype
from ._dtype import dtype as DType
from .autograd import graph
from .autograd.grad_mode import is_grad_enabled


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _shape_arg(size: Sequence[Any]) -> tuple[int, ...]:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` like torch."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


class Tensor:
    """A multi-dimensional array that can record the operations applied to it."""

    __slots__ = (
        "_data", "_grad", "_requires_grad", "grad_fn", "_output_nr", "_version", "_base",
        "_hooks", "_accumulator", "_retains_grad", "__weakref__",
    )
    __array_priority__ = 1000  # make ``ndarray + Tensor`` defer to Tensor.__radd__

    def __init__(self, *args: Any) -> None:
        """``Tensor(2, 3)`` is an uninitialised float tensor; ``Tensor(data)`` copies data as float."""
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            data = np.array(args[0], dtype=_dtype.get_default_dtype().np)
        else:
            data = np.empty(_shape_arg(args), dtype=_dtype.get_default_dtype().np)
        self._init(data)

    def _init(self, data: np.ndarray, requires_grad: bool = False) -> None:
        self._data = data
        self._grad: Tensor | None = None
        self._requires_grad = requires_grad
        self.grad_fn: graph.Node | None = None
        self._output_nr = 0
        self._version = [0]
        self._base: Tensor | None = None
        self._hooks: list[Callable[[Tensor], Any]] = []
        self._accumulator: weakref.ref[graph.AccumulateGrad] | None = None
        self._retains_grad = False

    @classmethod
    def _make(cls, data: Any, requires_grad: bool = False) -> Tensor:
        """Wrap an array without copying (internal fast path)."""
        t = object.__new__(cls)
        arr = data if type(data) is np.ndarray else np.asarray(data)
        if arr.dtype not in _dtype._BY_NP:
            _dtype.from_numpy_dtype(arr.dtype)  # raises the clear error
        t._init(arr, requires_grad)
        return t

    # ---- basic properties -------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> DType:
        return _dtype._BY_NP[self._data.dtype]  # _make guarantees a supported dtype

    @property
    def device(self) -> Any:
        from ._device import device

        return device("cpu")

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward`` (None until then)."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        """torch's checks: a Tensor (or None) of this tensor's shape and dtype, and not the tensor itself."""
        if value is not None:
            if not isinstance(value, Tensor):
                kind = type(value)
                name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {name}")
            if value is self:
                raise RuntimeError("can't assign Variable as its own grad")
            if value.dtype is not self.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype.c_type}' to a tensor with grad_dtype "
                    f"'{self.dtype.scalar_type}'. The gradient must match the tensor's grad_dtype (defaults to the "
                    "tensor's dtype). You can set the tensor's grad_dtype attribute with a specific dtype, or None to "
                    "allow any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its gradient "
                    "may break downstream systems that assume they match."
                )
            if value.shape != self.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                    f"'{list(self.shape)}'. Please ensure that the gradient and the tensor are the same size"
                )
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.grad_fn is not None:  # torch: the attribute is a leaf's; requires_grad_(True) is allowed
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        self._set_requires_grad(value, "only Tensors of floating point and complex dtype can require gradients")

    def _set_requires_grad(self, value: bool, non_float_message: str) -> None:
        """torch words the integer-dtype error differently for the attribute, ``requires_grad_()`` and
        factories (``tensor(..., requires_grad=True)``): each caller passes its message."""
        if value and not self._data.dtype.kind == "f":
            raise RuntimeError(non_float_message)
        if not value and self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self._requires_grad = bool(value)

    @property
    def data(self) -> Tensor:
        """A tensor sharing this tensor's storage, outside the graph and with a version counter of its own:
        unlike ``detach()``, writes through ``.data`` are invisible to autograd (torch's ``.data``)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if self.requires_grad and not value.dtype.is_floating_point:
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex dtype")
        self._data = value._data

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def _version_number(self) -> int:
        return self._version[0]

    def _bump_version(self) -> None:
        self._version[0] += 1

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        if self.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[_wrap_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return int(self._data.itemsize)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        return self

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    # ---- conversion ------------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shared memory, like torch); refused for a tensor that requires grad while grad
        mode is on (torch allows it under no_grad), unless ``force``."""
        if self.requires_grad and is_grad_enabled() and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return self._data

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def _python_scalar(self) -> Any:
        if self._data.size != 1:  # torch: ValueError here, RuntimeError from item()
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __float__(self) -> float:
        return float(self._python_scalar())

    def __int__(self) -> int:
        return int(self._python_scalar())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape {list(self.shape)})"
            )
        return bool(self.item())

    def cpu(self) -> Tensor:
        return self

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(other_tensor)``; only the CPU exists."""
        target = parse_to_args(args, kwargs)
        if target is None or target is self.dtype:
            return self
        from .ops.elementwise import cast

        return cast(self, target)

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return f"minigrad.{self.dtype.scalar_type}Tensor"
        return self.to(_dtype.as_dtype(dtype))

    def float(self) -> Tensor:
        return self.to(_dtype.float32)

    def double(self) -> Tensor:
        return self.to(_dtype.float64)

    def long(self) -> Tensor:
        return self.to(_dtype.int64)

    def int(self) -> Tensor:
        return self.to(_dtype.int32)

    def bool(self) -> Tensor:
        return self.to(_dtype.bool_)

    # ---- autograd ----------------------------------------------------------------------------
    def detach(self) -> Tensor:
        """A tensor sharing storage (and version counter) but outside the graph."""
        t = Tensor._make(self._data)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self._set_requires_grad(requires_grad, "only Tensors of floating point dtype can require gradients")
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        self._retains_grad = True
        if self.grad_fn.retained is None:
            self.grad_fn.retained = {}
        self.grad_fn.retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            hooks = self._hooks
        else:
            if self.grad_fn.pre_hooks is None:
                self.grad_fn.pre_hooks = {}
            hooks = self.grad_fn.pre_hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Sequence[Tensor] | None = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) . gradient into every leaf's ``.grad``."""
        from .autograd import backward

        backward([self], gradient, retain_graph, create_graph, inputs)  # a non-Tensor gradient fails as in torch

    # ---- in place ---------------------------------------------------------------------------
    def _check_inplace(self, op: str) -> None:
        if is_grad_enabled() and self.requires_grad:
            if self.grad_fn is None:
                raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place operation.")
            base = self._base
            if base is not None and base.grad_fn is None and base.requires_grad:
                raise RuntimeError(
                    f"{op}: a view of a leaf Variable that requires grad is being used in an in-place operation."
                )
        data = self._data
        if not data.flags.writeable and any(st == 0 and n > 1 for st, n in zip(data.strides, data.shape)):
            raise RuntimeError(  # an expanded tensor: several elements share one memory location
                f"{op}: unsupported operation: more than one element of the written-to tensor refers to a single "
                "memory location. Please clone() the tensor before performing the operation."
            )

    def _assign(self, result: Tensor, op: str) -> Tensor:
        """Make ``self`` hold ``result`` in place: same storage, bumped version, result's graph."""
        self._check_inplace(op)
        if result.shape != self.shape:
            raise RuntimeError(
                f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(result.shape)}"
            )
        if not _dtype.can_cast(result.dtype, self.dtype):
            raise RuntimeError(
                f"{op}: result type {result.dtype.scalar_type} can't be cast to the desired output type "
                f"{self.dtype.scalar_type}"
            )
        tracking = is_grad_enabled() and result.requires_grad
        if tracking and self._base is not None and self._base.requires_grad:
            raise RuntimeError(
                f"{op}: minigrad does not support differentiable in-place operations on a view of a "
                "tensor that requires grad; use an out-of-place op instead"
            )
        if not self._data.flags.writeable:  # e.g. from_numpy of a read-only array: write to a copy
            self._data = self._data.copy()
        if tracking and result.grad_fn is not None and result.grad_fn.ctx is not None:
            # the op may have saved self's old values: keep a copy for it (torch saves "original self")
            ctx = result.grad_fn.ctx
            if any(v is self._data for v in ctx._saved):
                original = self._data.copy()
                ctx._saved = tuple(original if v is self._data else v for v in ctx._saved)
                ctx._versions = [e for e in ctx._versions if e[0] is not self._version]
        np.copyto(self._data, result._data, casting="unsafe")
        self._bump_version()
        if tracking:
            self._rebase(result.grad_fn, result._output_nr)
            self._requires_grad = True
        return self

    def _rebase(self, node: graph.Node | None, output_nr: int) -> None:
        """Give ``self`` a new history (an in-place op); a retained gradient moves along, as in torch."""
        old, old_nr = self.grad_fn, self._output_nr
        self.grad_fn = node
        self._output_nr = output_nr
        if self._retains_grad and node is not None:
            if old is not None and old.retained is not None:
                old.retained.pop(old_nr, None)
            self._retains_grad = False
            self.retain_grad()

    def zero_(self) -> Tensor:
        self._check_inplace("zero_")
        self._data[...] = 0
        self._bump_version()
        return self

    def fill_(self, value: Any) -> Tensor:
        self._check_inplace("fill_")
        self._data[...] = value.item() if isinstance(value, Tensor) else value
        self._bump_version()
        return self

    def copy_(self, src: Tensor) -> Tensor:
        from .ops.shape import broadcast_to

        src = src if isinstance(src, Tensor) else Tensor._make(np.asarray(src))
        from .ops.elementwise import cast

        return self._assign(cast(broadcast_to(src, self.shape), self.dtype), "copy_")

    def __setitem__(self, index: Any, value: Any) -> None:
        from .ops.indexing import index_put

        if is_grad_enabled() and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            self._assign(index_put(self, index, value), "__setitem__")
            return
        self._check_inplace("__setitem__")
        from .ops.indexing import _check_bounds, _normalize_index, put, split_index

        idx = _normalize_index(index)
        _check_bounds(self.shape, idx)
        put(self._data, split_index(idx), value._data if isinstance(value, Tensor) else value, False)
        self._bump_version()

    # ---- printing ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        return _format_tensor(self)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as torch does."""
        if self.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    __str__ = __repr__


def parse_to_args(args: Sequence[Any], kwargs: dict[str, Any]) -> DType | None:
    """The dtype asked for by ``to(dtype)``/``to(device)``/``to(tensor)``/``to(dtype=...)`` (None: keep);
    any device but the CPU is an error."""
    from ._device import check_device

    target = kwargs.get("dtype")
    for a in args:
        if isinstance(a, Tensor):
            target = a.dtype
        elif isinstance(a, DType):
            target = a
        else:
            check_device(a)
    check_device(kwargs.get("device"))
    return None if target is None else _dtype.as_dtype(target)


class Size(tuple):
    """A shape, as ``torch.Size`` (a tuple of ints)."""

    def __repr__(self) -> str:
        return f"minigrad.Size({list(self)})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


def _wrap_dim(dim: int, ndim: int, op: str = "op") -> int:
    """Normalise a possibly negative dim, with torch's IndexError when out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def _format_tensor(t: Tensor) -> str:
    arr = t._data
    if arr.dtype.kind == "f":
        finite = arr[np.isfinite(arr)]
        integral = finite.size > 0 and np.all(finite == np.round(finite))
        big = finite.size > 0 and (np.abs(finite).max() >= 1e8 or (np.abs(finite[finite != 0]).min(initial=1) < 1e-4))
        if integral and not big:
            fmt = {"float_kind": lambda x: f"{x:.0f}."}
        elif big:
            fmt = {"float_kind": lambda x: f"{x:.4e}"}
        else:
            fmt = {"float_kind": lambda x: f"{x:.4f}"}
        body = np.array2string(arr, separator=", ", formatter=fmt, prefix="tensor(")
    else:
        body = np.array2string(arr, separator=", ", prefix="tensor(")
    extras = []
    if arr.dtype != _dtype.get_default_dtype().np and arr.dtype not in (np.int64, np.bool_):
        extras.append(f"dtype=minigrad.{t.dtype.name}")
    if arr.size == 0:
        body = "[]"
        if arr.ndim > 1:  # torch names the shape of an empty tensor unless it is 1-D
            extras.insert(0, f"size={tuple(arr.shape)}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body, *extras]) + ")"
