"""Shape ops: reshape/view, flatten, squeeze/unsqueeze, transpose/permute, expand, cat/stack, split."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.function import Op
from ..autograd.graph import Context
from ..tensor import Tensor, _shape_arg, _wrap_dim
from ._registry import export
from ._util import check_tensor, sum_to


class Reshape(Op):
    name = "View"
    is_view = True

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        return (g.reshape(ctx.shape),)


def _infer_shape(op: str, numel: int, old: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with its -1 resolved, checked as torch's infer_size does (in its order and wording)."""
    inferred = None
    for i, s in enumerate(shape):
        if s == -1:
            if inferred is not None:
                raise RuntimeError(f"{op}: only one dimension can be inferred")
            inferred = i
        elif s < 0:
            raise RuntimeError(f"{op}: invalid shape dimension {s} at index {i} of shape {list(shape)}")
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if -1 in shape:
        if known == 0 and numel == 0:
            raise RuntimeError(
                f"{op}: cannot reshape tensor of 0 elements into shape {list(shape)} because the unspecified "
                "dimension size -1 can be any value and is ambiguous")
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _check_size_arg(op: str, arg: str, size: Any) -> None:
    """torch's argument-parser error for a size given as a bare number to the function form."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{op}(): argument '{arg}' (position 2) must be tuple of ints, not {type(size).__name__}")


@export("reshape", function=False)
def _reshape_method(input: Tensor, *shape: Any) -> Tensor:
    """``Tensor.reshape``: same data, new shape (one dim may be -1); sizes as varargs or one sequence."""
    check_tensor(input, "reshape")
    new = _infer_shape("reshape", input.numel(), input.shape, _shape_arg(shape))
    return Reshape.apply(input, shape=new)


@export(methods=())
def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    """Same data, new shape (one dim may be -1)."""
    _check_size_arg("reshape", "shape", shape)
    return _reshape_method(input, shape)


@export("view", function=False)
def view(input: Tensor, *shape: Any) -> Tensor:
    """``Tensor.view``: reshape (``view(dtype)`` is not supported)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        raise RuntimeError("view(dtype) is not supported by minigrad; use .to(dtype)")
    check_tensor(input, "view")
    return Reshape.apply(input, shape=_infer_shape("view", input.numel(), input.shape, _shape_arg(shape)))


@export("view_as", "reshape_as", function=False)
def view_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


@export(methods=("flatten",))
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    check_tensor(input, "flatten")
    if input.ndim == 0:  # a 0-d input takes dims -1 and 0 (torch checks them first)
        _wrap_dim(start_dim, 0, "flatten"), _wrap_dim(end_dim, 0, "flatten")
        return reshape(input, (1,))
    s, e = _wrap_dim(start_dim, input.ndim, "flatten"), _wrap_dim(end_dim, input.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shp = input.shape
    new = shp[:s] + (int(np.prod(shp[s : e + 1], dtype=np.int64)),) + shp[e + 1 :]
    return reshape(input, new)


@export(methods=("unflatten",))
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    d = _wrap_dim(dim, input.ndim, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        inner = _infer_shape("view", input.shape[d], (input.shape[d],), sizes)
    except RuntimeError as exc:  # torch rewords a product mismatch and wraps any other infer_size error
        reason = str(exc).removeprefix("view: ")
        if "is invalid for input of size" in reason:
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {d} "
                               f"({input.shape[d]}) in the input tensor") from None
        raise RuntimeError(f"unflatten got an unexpected error:\n{reason}") from None
    return reshape(input, input.shape[:d] + inner + input.shape[d + 1 :])


@export(methods=("squeeze",))
def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Drop size-1 dims (all, or those in ``dim``; a dim of another size is left alone, as torch)."""
    check_tensor(input, "squeeze")
    if dim is None:
        new = tuple(s for s in input.shape if s != 1)
    else:
        ds = {_wrap_dim(d, input.ndim, "squeeze") for d in ((dim,) if isinstance(dim, int) else dim)}
        new = tuple(s for i, s in enumerate(input.shape) if not (i in ds and s == 1))
    return reshape(input, new)


@export(methods=("unsqueeze",))
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``."""
    check_tensor(input, "unsqueeze")
    d = _wrap_dim(dim, input.ndim + 1, "unsqueeze")
    return reshape(input, input.shape[:d] + (1,) + input.shape[d:])


class Permute(Op):
    name = "Permute"
    is_view = True

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        ctx.axes = axes
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        return (np.transpose(g, np.argsort(ctx.axes)),)


@export(methods=("permute",))
def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder dims."""
    check_tensor(input, "permute")
    given = _shape_arg(dims)
    if len(given) != input.ndim:  # torch checks the length before the range of each dim
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
            f"of the desired ordering of dimensions i.e. input.dim() = {input.ndim} is not equal to "
            f"len(dims) = {len(given)}")
    axes = tuple(_wrap_dim(d, input.ndim, "permute") for d in given)
    if sorted(axes) != list(range(input.ndim)):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, axes=axes)


@export("transpose", "swapaxes", "swapdims", methods=("transpose", "swapaxes", "swapdims"))
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    check_tensor(input, "transpose")
    a, b = _wrap_dim(dim0, input.ndim, "transpose"), _wrap_dim(dim1, input.ndim, "transpose")
    axes = list(range(input.ndim))
    if input.ndim:
        axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(input, axes=tuple(axes))


@export(methods=("t",))
def t(input: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dims."""
    check_tensor(input, "t")
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def _T(self: Tensor) -> Tensor:
    return permute(self, tuple(range(self.ndim - 1, -1, -1)))


def _mT(self: Tensor) -> Tensor:
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return transpose(self, -2, -1)


Tensor.T = property(_T)  # type: ignore[attr-defined]
Tensor.mT = property(_mT)  # type: ignore[attr-defined]


class Expand(Op):
    name = "Expand"
    is_view = True

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        return (sum_to(g, ctx.shape),)


@export("broadcast_to", function=False)
def _broadcast_to_method(input: Tensor, *size: Any) -> Tensor:
    """``Tensor.broadcast_to``: sizes as varargs or one sequence."""
    return expand(input, *size)


@export(methods=())
def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    """Broadcast to ``size`` (-1 keeps a dim); the result is a read-only view."""
    _check_size_arg("broadcast_to", "size", size)
    return expand(input, *size) if len(size) else expand(input, ())


@export("expand", function=False)
def expand(input: Tensor, *sizes: Any) -> Tensor:
    """``Tensor.expand``: repeat size-1 dims without copying."""
    check_tensor(input, "expand")
    shape = _shape_arg(sizes) if sizes and sizes != ((),) else ()
    lead = len(shape) - input.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand({input.type()}{{{list(input.shape)}}}, size={list(shape)}): the number of sizes provided "
            f"({len(shape)}) must be greater or equal to the number of dimensions in the tensor ({input.ndim})"
        )
    # a negative size that survives torch's checks (any, for a 0-d tensor) fails when it counts the elements
    overflow = RuntimeError("numel: integer multiplication overflow")
    if input.ndim == 0 and any(s < 0 for s in shape):
        raise overflow
    target = list(shape)
    for i in range(len(shape) - 1, -1, -1):  # torch checks from the last dim
        s = shape[i]
        if i < lead:
            if s == -1:  # other negative sizes reach the element count below, as in torch
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) isn't allowed in a leading, non-existing dimension {i}")
            continue
        have = input.shape[i - lead]
        want = have if s == -1 else s
        if have != want and have != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({want}) must match the existing size ({have}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(shape)}.  Tensor sizes: {list(input.shape)}"
            )
        target[i] = want
    if any(s < 0 for s in target):
        raise overflow
    return Expand.apply(input, shape=tuple(target))


@export("expand_as", function=False)
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


class Cat(Op):
    name = "Cat"

    @staticmethod
    def forward(ctx: Context, *xs: np.ndarray, axis: int) -> np.ndarray:
        ctx.axis = axis
        ctx.sizes = [x.shape[axis] for x in xs]
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        cuts = np.cumsum(ctx.sizes)[:-1]
        return tuple(np.split(g, cuts, axis=ctx.axis))


def _check_seq(op: str, tensors: Sequence[Tensor]) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not {type(tensors).__name__}")
    if not tensors:
        if op == "cat":  # torch's Python-level check of cat/concat/concatenate
            raise ValueError("minigrad.cat(): expected a non-empty list of Tensors")
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    for i, t_ in enumerate(tensors):
        check_tensor(t_, op, f"tensors[{i}]")
    return list(tensors)


def _promote_all(tensors: list[Tensor]) -> list[Tensor]:
    from .. import _dtype

    dt = tensors[0].dtype
    for x in tensors[1:]:
        dt = _dtype.promote_types(dt, x.dtype)
    return [x.to(dt) for x in tensors]


@export("cat", "concat", "concatenate", methods=())
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (1-D empty tensors are skipped, as torch)."""
    ts = _check_seq("cat", tensors)
    for i, x in enumerate(ts):
        if x.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    kept = [x for x in ts if not (x.ndim == 1 and x.shape[0] == 0)]  # torch skips legacy empty 1-D tensors
    if not kept:
        return Cat.apply(*_promote_all(ts), axis=0)
    ref = kept[0]
    axis = _wrap_dim(dim, ref.ndim, "cat")
    for i, x in enumerate(ts):
        if x is not ref and x.ndim == 1 and x.shape[0] == 0:
            continue
        if x.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {x.ndim}")
        for j, (want, got) in enumerate(zip(ref.shape, x.shape)):
            if j != axis and want != got:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis}. Expected size {want} but got size "
                    f"{got} for tensor number {i} in the list. (shapes {[list(y.shape) for y in ts]})")
    # the skipped empty tensors still take part in the type promotion (torch: cat([f32, f64 of shape (0,)]) is f64)
    dt = _promote_all(ts)[0].dtype
    return Cat.apply(*(x.to(dt) for x in kept), axis=axis)


@export(methods=())
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim."""
    ts = _check_seq("stack", tensors)
    for i, x in enumerate(ts):
        if x.shape != ts[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ts[0].shape)} at entry 0 "
                f"and {list(x.shape)} at entry {i}"
            )
    d = _wrap_dim(dim, ts[0].ndim + 1, "stack")
    return cat([unsqueeze(x, d) for x in ts], d)


@export("hstack", methods=())
def hstack(tensors: Sequence[Tensor]) -> Tensor:
    ts = _check_seq("hstack", tensors)
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


@export("vstack", methods=())
def vstack(tensors: Sequence[Tensor]) -> Tensor:
    ts = _check_seq("vstack", tensors)
    return cat([x if x.ndim >= 2 else reshape(x, (1, -1)) for x in ts], 0)


@export(methods=("narrow",))
def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The slice ``start:start+length`` along ``dim`` (a view), with torch's checks in torch's order."""
    check_tensor(input, "narrow")
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    d = _wrap_dim(dim, input.ndim, "narrow")
    size = input.shape[d]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    start = start + size if start < 0 else start
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    index: list[Any] = [slice(None)] * input.ndim
    index[d] = slice(start, start + length)
    return input[tuple(index)]


@export(methods=("split",))
def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` (the last may be smaller) or of the given section sizes."""
    check_tensor(tensor, "split")
    d = _wrap_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
        if size == 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sections = [builtins.min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sections = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sections):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes={sections}")
        if builtins.sum(sections) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                f"dimension {dim}), but got split_sizes={sections}"
            )
    out, start = [], 0
    for s in sections:
        out.append(narrow(tensor, d, start, s))
        start += s
    return tuple(out)


@export(methods=("chunk",))
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of ceil(n / chunks) (fewer when n is small), as torch."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = _wrap_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:  # torch: `chunks` empty pieces
        return tuple(narrow(input, d, 0, 0) for _ in range(chunks))
    return split(input, -(-n // chunks), d)  # pieces of ceil(n / chunks)


@export(methods=("unbind",))
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    d = _wrap_dim(dim, input.ndim, "unbind")
    return tuple(squeeze(x, d) for x in split(input, 1, d))


class Flip(Op):
    name = "Flip"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        ctx.axes = axes
        return np.flip(x, axes).copy()

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        return (np.flip(g, ctx.axes).copy(),)


@export(methods=("flip",))
def flip(input: Tensor, dims: Sequence[int]) -> Tensor:
    axes = tuple(_wrap_dim(d, input.ndim, "flip") for d in dims)
    repeated = [d for i, d in enumerate(axes) if d in axes[:i]]
    if repeated:
        raise RuntimeError(f"flip: dim {repeated[0]} appears multiple times in the list of dims")
    return Flip.apply(input, axes=axes)


class Repeat(Op):
    name = "Repeat"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, reps: tuple[int, ...]) -> np.ndarray:
        lead = len(reps) - x.ndim
        ctx.shape, ctx.reps, ctx.lead = x.shape, reps, lead
        return np.tile(x.reshape((1,) * lead + x.shape), reps)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        base = (1,) * ctx.lead + ctx.shape
        split_shape = []
        for r, s in zip(ctx.reps, base):
            split_shape += [r, s]
        g = g.reshape(split_shape).sum(axis=tuple(range(0, 2 * len(base), 2)))
        return (g.reshape(ctx.shape),)


@export("repeat", function=False)
def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """``Tensor.repeat``: tile the tensor ``sizes`` times along each dim."""
    reps = _shape_arg(sizes)
    if len(reps) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    padded = (1,) * (len(reps) - input.ndim) + input.shape
    out_shape = [r * s for r, s in zip(reps, padded)]
    negative = next((s for s in out_shape if s < 0), None)
    if negative is not None:
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative}: {out_shape}")
    return Repeat.apply(input, reps=reps)
