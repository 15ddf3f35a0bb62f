"""Reverse-mode automatic differentiation: ``backward``, ``grad``, grad modes, custom Functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .anomaly_mode import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .function import Function, FunctionCtx
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .graph import Node, run_backward

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = [
    "Function", "FunctionCtx", "Node", "backward", "detect_anomaly", "enable_grad", "grad", "inference_mode",
    "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "is_grad_enabled", "is_inference_mode_enabled", "no_grad", "set_detect_anomaly",
    "set_grad_enabled",
]


def _as_list(x: Any) -> list[Any]:
    """A Tensor or a sequence of them as a list (anything else fails as ``tuple(x)`` does in torch)."""
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _root_grads(outputs: list[Tensor], grad_outputs: Any) -> list[np.ndarray]:
    """The gradient seeding each output: given ones (Tensors; extra ones are ignored, as torch zips them) or ones
    of an implicit scalar output."""
    from ..tensor import Tensor

    for out in outputs:
        if not isinstance(out, Tensor):
            raise AssertionError("Expected output to be a minigrad.Tensor")
    given = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)  # a Tensor is one
    for g in given:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
    if len(given) < len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(given)} gradients")
    grads = []
    for i, (out, g) in enumerate(zip(outputs, given)):  # torch's _make_grads, before the engine's checks
        if g is None:
            if out.requires_grad and out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            grads.append(np.ones(out.shape, dtype=out.dtype.np))
            continue
        arr = g._data
        if arr.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of minigrad.Size({list(arr.shape)}) and "
                f"output[{i}] has a shape of minigrad.Size({list(out.shape)})."
            )
        grads.append(arr.astype(out.dtype.np, copy=False))
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
    return grads


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """Accumulate the gradients of ``tensors`` (weighted by ``grad_tensors``) into the leaves."""
    if create_graph:
        raise NotImplementedError("minigrad does not support create_graph=True (higher-order gradients) yet")
    outs = _as_list(tensors)
    ins = None if inputs is None else _as_list(inputs)
    if ins is not None and not ins:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    grads = _root_grads(outs, grad_tensors)
    if ins is not None:
        ins = list({id(t): t for t in ins}.values())  # an input listed twice accumulates once, as in torch
        for t in ins:  # torch retains the gradient of each input, in order (a non-leaf's .grad is its retained one;
            t.retain_grad()  # an input that does not require grad fails here)
        got = run_backward(outs, grads, bool(retain_graph), ins, allow_unused=True)
        from .graph import _accumulate_into

        for t, g in zip(ins, got or []):
            if g is not None and t.grad_fn is None:
                _accumulate_into(t, g)
        return
    run_backward(outs, grads, bool(retain_graph))


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated."""
    from ..tensor import Tensor

    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, but got: allow_unused=False."
        )
    if create_graph:
        raise NotImplementedError("minigrad does not support create_graph=True (higher-order gradients) yet")
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    if not ins:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grads = _root_grads(outs, grad_outputs)
    for t in ins:  # checked by torch's engine after the outputs
        if not isinstance(t, Tensor):
            raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got {type(t).__name__}")
    got = run_backward(outs, grads, bool(retain_graph), ins, allow_unused=bool(allow_unused) or materialize_grads)
    result: list[Tensor | None] = []
    for t, g in zip(ins, got or []):
        if g is None and materialize_grads:
            g = np.zeros(t.shape, dtype=t.dtype.np)
        result.append(None if g is None else Tensor._make(g))
    return tuple(result)
