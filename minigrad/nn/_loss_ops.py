"""Loss ops whose gradient a composition of primitive ops would get wrong at a kink or unstably.

Each class is one differentiable op (forward on ndarrays and its vector-Jacobian product side by
side, as in :mod:`minigrad.ops`), matching torch 2.13's formulas:

* ``HuberLoss`` / ``SmoothL1Loss``: at ``|d| == delta`` (``beta``) the gradient is
  ``delta * sign(d)`` (``sign(d)``), the value from the linear branch, as torch.
* ``BinaryCrossEntropy``: log clamped to >= -100; gradient ``(x - y) / max(x (1 - x), 1e-12)``.
* ``BinaryCrossEntropyWithLogits``: gradient exactly ``sigmoid(x) - y`` (``0.5 - y`` at 0, where a
  composition through ``abs``/``relu`` would give a wrong value) and finite for |x| ~ 1e4.
* ``NllLoss``: picks ``-w[t] * logp[t]`` per element and reduces inside the op, so that the
  ``'mean'`` reduction divides by the total weight of the non-ignored targets, as torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Op
from ..autograd.graph import Context
from ..ops.elementwise import sigmoid_array

# torch stores BCE's epsilon as a float constant, so in float64 it is float32(1e-12), not 1e-12
_BCE_EPS = float(np.float32(1e-12))


def _softplus_neg(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(-x)) without overflow: max(-x, 0) + log1p(exp(-|x|))."""
    return np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))


class HuberLoss(Op):
    """Elementwise huber(x - y): 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)."""

    name = "HuberLoss"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, y: np.ndarray, delta: float) -> np.ndarray:
        d = x - y
        ad = np.abs(d)
        ctx.save_for_backward(d)
        ctx.delta = delta
        return np.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (d,) = ctx.saved_tensors
        gx = (g * np.clip(d, -ctx.delta, ctx.delta)).astype(g.dtype, copy=False)
        return gx, -gx


class SmoothL1Loss(Op):
    """Elementwise smooth_l1(x - y): 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta (beta > 0)."""

    name = "SmoothL1Loss"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, y: np.ndarray, beta: float) -> np.ndarray:
        d = x - y
        ad = np.abs(d)
        ctx.save_for_backward(d)
        ctx.beta = beta
        return np.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (d,) = ctx.saved_tensors
        b = ctx.beta
        slope = np.where(d < -b, -1.0, np.where(d > b, 1.0, d / b))
        gx = (g * slope).astype(g.dtype, copy=False)
        return gx, -gx


class BinaryCrossEntropy(Op):
    """Elementwise -(y log x + (1 - y) log(1 - x)) with each log clamped to >= -100."""

    name = "BinaryCrossEntropy"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        return ((y - 1) * log_1mx - y * log_x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = (g * (x - y) / np.maximum((1 - x) * x, _BCE_EPS)).astype(g.dtype, copy=False)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gy = (-g * np.log(x / (1 - x))).astype(g.dtype, copy=False)  # -logit(x), as torch
        return gx, gy


class BinaryCrossEntropyWithLogits(Op):
    """Elementwise (1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x)); ``pos_weight`` optional third input."""

    name = "BinaryCrossEntropyWithLogits"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, y: np.ndarray, *pos_weight: np.ndarray) -> np.ndarray:
        sp = _softplus_neg(x)
        ctx.save_for_backward(x, y, *pos_weight)
        if pos_weight:
            log_weight = (pos_weight[0] - 1) * y + 1
            return ((1 - y) * x + log_weight * sp).astype(x.dtype, copy=False)
        return ((1 - y) * x + sp).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, y, *pw = ctx.saved_tensors
        s = sigmoid_array(x)
        if pw:
            log_weight = (pw[0] - 1) * y + 1
            gx = g * (log_weight * s - pw[0] * y)
            gy = g * ((pw[0] - 1) * _softplus_neg(x) - x) if ctx.needs_input_grad[1] else None
            return gx.astype(g.dtype, copy=False), gy, None
        gx = g * (s - y)
        gy = -g * x if ctx.needs_input_grad[1] else None
        return gx.astype(g.dtype, copy=False), gy


class NllLoss(Op):
    """-w[t] * logp[n, t, ...] per element, reduced ('none' | 'sum' | 'mean' over the total weight).

    ``target`` (with ignored entries replaced by 0) and ``wt`` (the weight of each element's target,
    0 where ignored) are ndarray attributes: the op is differentiable in ``logp`` only, as torch's.
    """

    name = "NllLoss"

    @staticmethod
    def forward(ctx: Context, logp: np.ndarray, target: np.ndarray, wt: np.ndarray, reduction: str) -> np.ndarray:
        idx = np.expand_dims(target, 1)
        picked = np.take_along_axis(logp, idx, axis=1).squeeze(1)
        losses = -wt * picked
        ctx.target, ctx.wt, ctx.reduction, ctx.shape = target, wt, reduction, logp.shape
        if reduction == "none":
            return losses
        total = losses.sum(dtype=logp.dtype)
        if reduction == "sum":
            return np.asarray(total, dtype=logp.dtype)
        ctx.total_weight = wt.sum(dtype=logp.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(total / ctx.total_weight, dtype=logp.dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        grad = np.zeros(ctx.shape, dtype=g.dtype)
        if ctx.reduction == "mean":
            if ctx.total_weight == 0:  # every target ignored: torch returns a zero gradient
                return (grad,)
            g = g / ctx.total_weight
        per_elem = (-ctx.wt * g).astype(g.dtype, copy=False)
        np.put_along_axis(grad, np.expand_dims(ctx.target, 1), np.expand_dims(per_elem, 1), axis=1)
        return (grad,)
