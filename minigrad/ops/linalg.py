"""Matrix products: matmul (1-D, 2-D, batched, broadcasting), mm, bmm, mv, dot, outer."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _dtype
from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graph import Context
from ..tensor import Tensor
from ._registry import export
from ._util import broadcast_shapes_for, check_tensor, kernel_not_implemented, shape_str, sum_to


class Matmul(Op):
    """matmul with numpy's promotion of 1-D operands; gradients reduced over broadcast batch dims."""

    name = "Mm"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        a, b = ctx.saved_tensors
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = sum_to(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = sum_to(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


def _matmul_check(a: Tensor, b: Tensor) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    if a.ndim == 1 and b.ndim == 1:
        if a.shape[0] != b.shape[0]:
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have "
                f"the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements respectively"
            )
        return
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.ndim >= 3 and b.ndim <= 2:  # torch folds the batch of a into rows and calls mm / mv
        rows = math.prod(a.shape[:-1])
        if k_a != k_b:
            if b.ndim == 1:
                raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{k_a}), vec ({k_b})")
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{k_a} and {shape_str(b.shape)})")
        return
    if a.ndim <= 2 and b.ndim <= 2:
        if k_a != k_b:
            sa = (1, a.shape[0]) if a.ndim == 1 else a.shape
            if b.ndim == 1:
                raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x{a.shape[1]}), "
                                   f"vec ({b.shape[0]})")
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({shape_str(sa)} and {shape_str(b.shape)})")
        return
    # batched: the batch dims broadcast first (torch's infer_size message), then bmm checks the inner sizes
    batch_a = a.shape[:-2] if a.ndim > 2 else ()
    batch_b = b.shape[:-2] if b.ndim > 2 else ()
    batch = broadcast_shapes_for("matmul", batch_a, batch_b)
    if k_a != k_b:
        n = math.prod(batch)
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {k_a}] "
                           f"but got: [{n}, {k_b}].")


def _matmul_kernel(a: Tensor, b: Tensor) -> tuple[str, Tensor, Tensor]:
    """The kernel torch's matmul dispatches to, with its (first, second) operands: dot (1-D @ 1-D),
    addmv (matrix @ vector), mm (2-D, or batched @ matrix folded to 2-D) or bmm (batched). A matrix or
    vector ``a`` that requires grad times a batched ``b`` is folded the other way: b^T @ a^T."""
    if a.ndim == 1 and b.ndim == 1:
        return "dot", a, b
    if b.ndim == 1:
        return "addmv", a, b
    if b.ndim == 2:
        return "mm", a, b
    if a.ndim <= 2 and a.requires_grad and is_grad_enabled():
        return ("addmv", b, a) if a.ndim == 1 else ("mm", b, a)
    if b.ndim == 3 and b.shape[0] == 1 and math.prod(a.shape[:-2]) != 1 and b.requires_grad and is_grad_enabled():
        return "mm", a, b  # a batch-1 ``b`` that requires grad is squeezed and ``a`` folded
    return "bmm", a, b


#: the CPU kernel names torch reports for a bool product
_BOOL_KERNELS = {"dot": "dot", "addmv": "addmv_impl_cpu", "mm": "addmm_impl_cpu_", "bmm": "bmm"}


def _matmul_dtype(a: Tensor, b: Tensor) -> _dtype.dtype:
    """The result dtype of ``a @ b``, or torch's error for mixed or bool dtypes, worded by the kernel
    torch dispatches to (bmm returns early, promoting, when an operand is empty)."""
    kernel, first, second = _matmul_kernel(a, b)
    x, y = first.dtype, second.dtype
    if kernel == "bmm" and (a.numel() == 0 or b.numel() == 0):
        return _dtype.result_type(a, b)
    if kernel == "bmm" and x is _dtype.bool_:  # bmm dispatches on its first operand before comparing dtypes
        raise kernel_not_implemented("bmm", x)
    if x is y:
        if x is _dtype.bool_:
            raise kernel_not_implemented(_BOOL_KERNELS[kernel], x)
        return x
    if kernel == "dot":
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {x.scalar_type} and {y.scalar_type}")
    if kernel == "addmv":
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {y.scalar_type}, {x.scalar_type}, "
                           f"and {y.scalar_type}")
    if kernel == "mm":
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {x.c_type} != {y.c_type}")
    raise RuntimeError(f"expected scalar type {x.scalar_type} but found {y.scalar_type}")


@export(methods=("matmul", "__matmul__"))
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch's rules for 1-D and batched operands."""
    check_tensor(input, "matmul"), check_tensor(other, "matmul", "other")
    dt = _matmul_dtype(input, other)
    _matmul_check(input, other)
    return Matmul.apply(input.to(dt), other.to(dt))


export("__rmatmul__", function=False)(lambda self, other: matmul(other, self))


@export(methods=("mm",))
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """2-D matrix product."""
    for arg, x in (("self", input), ("mat2", mat2)):
        if x.ndim != 2:
            raise RuntimeError(f"mm: {arg} must be a matrix (got {x.ndim}D)")
    return matmul(input, mat2)


@export(methods=("bmm",))
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched 3-D matrix product (no broadcasting)."""
    for arg, x in (("batch1", input), ("batch2", mat2)):
        if x.ndim != 3:
            raise RuntimeError(f"{arg} must be a 3D tensor (got {x.ndim}D)")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{input.shape[0]}, "
            f"{input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}]."
        )
    return matmul(input, mat2)


@export(methods=("mv",))
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1:
        # torch's numbers: the result's dims (always 1), the matrix's, the vector's
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    return matmul(input, vec)


@export(methods=("dot",))
def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {input.dtype.scalar_type} "
                           f"and {other.dtype.scalar_type}")
    return matmul(input, other)


@export("outer", "ger", methods=("outer", "ger"))
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors."""
    for arg, x in (("self", input), ("vec2", vec2)):
        if x.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {arg}, but got {x.ndim}-D")
    from .shape import reshape

    dt = _dtype.result_type(input, vec2)  # outer promotes, unlike matmul
    return matmul(reshape(input.to(dt), (-1, 1)), reshape(vec2.to(dt), (1, -1)))


class Svdvals(Op):
    """Singular values over the last two dims, descending; the VJP is ``U diag(g) V^T`` (U, V recomputed)."""

    name = "LinalgSvd"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        if a.size == 0:
            return np.zeros(a.shape[:-2] + (min(a.shape[-2:]),), dtype=a.dtype)
        return np.linalg.svd(a, compute_uv=False).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (a,) = ctx.saved_tensors
        if a.size == 0:
            return (np.zeros_like(a),)
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        return (np.matmul(u * g[..., None, :], vh).astype(a.dtype, copy=False),)


def svdvals(a: Tensor) -> Tensor:
    """Singular values of the matrices in the last two dims (``torch.linalg.svdvals``; used by the matrix norms)."""
    check_tensor(a, "linalg.svdvals")
    if a.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    return Svdvals.apply(a)
