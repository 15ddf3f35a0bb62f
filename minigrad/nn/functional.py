"""``minigrad.nn.functional``: activations (from :mod:`minigrad.ops`), linear, dropout, one_hot, losses.

Losses take torch's ``reduction`` ('mean' | 'sum' | 'none') and the deprecated ``size_average`` /
``reduce`` flags, validate their inputs with torch's exception classes and messages, and use the
dedicated ops of :mod:`minigrad.nn._loss_ops` where a composition would be wrong at a kink.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import _dtype, _random
from ..autograd.grad_mode import is_grad_enabled
from ..ops._util import fails_in_backward, kernel_not_implemented
from ..ops.activation import elu, gelu, hardtanh, implicit_softmax_dim, leaky_relu, relu6, silu, softplus
from ..ops.activation import log_softmax as _log_softmax
from ..ops.activation import softmax as _softmax
from ..ops.elementwise import relu as _relu
from ..ops.elementwise import sigmoid, sub, tanh, where
from ..tensor import Tensor
from . import _loss_ops

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "elu",
    "gelu", "hardtanh", "hinge_embedding_loss", "huber_loss", "l1_loss", "leaky_relu", "linear",
    "log_softmax", "mse_loss", "multi_margin_loss", "nll_loss", "one_hot", "relu", "relu6", "sigmoid",
    "silu", "smooth_l1_loss", "softmax", "softplus", "tanh",
]

def _tname(t: Tensor) -> str:
    return t.dtype.scalar_type


# ---------------------------------------------------------------------------------------------
# Activations: thin wrappers only where torch's signature has an extra argument
# ---------------------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) (gradient 0 at 0); ``inplace`` writes the result into ``input``."""
    out = _relu(input)
    return input._assign(out, "relu_") if inplace else out


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """Softmax along ``dim`` (torch's signature; without ``dim`` torch's deprecated implicit choice)."""
    if dim is None:
        dim = implicit_softmax_dim("softmax", input.ndim, _stacklevel)
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """Log-softmax along ``dim``, stable for inputs of magnitude 1e4 (without ``dim``: torch's implicit choice)."""
    if dim is None:
        dim = implicit_softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _log_softmax(input, dim, dtype)


# ---------------------------------------------------------------------------------------------
# linear, dropout, one_hot
# ---------------------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, with weight of shape (out_features, in_features) as torch."""
    if bias is not None and input.ndim > 0 and weight.ndim == 2:  # torch's fused addmm checks dtypes first
        for name, t in (("self", bias), ("mat1", input)):
            if t.dtype is not weight.dtype:
                raise RuntimeError(f"{name} and mat2 must have the same dtype, but got {_tname(t)} and {_tname(weight)}")
    out = input.matmul(weight.t())
    if bias is None:
        return out
    if weight.ndim == 2 and (bias.ndim <= 1 or input.ndim == 2):
        # torch's addmm path (2-D input, or any input with a vector bias, flattened): the bias is expanded to
        # (rows, out_features) first, so a mismatch is expand's error, naming those sizes
        rows = math.prod(input.shape[:-1]) if input.ndim else 1
        bias.expand(rows, weight.shape[0])
    result = out + bias
    if result.shape != out.shape:  # elsewhere torch adds the bias in place: it cannot grow the output
        raise RuntimeError(f"output with shape {list(out.shape)} doesn't match the broadcast shape "
                           f"{list(result.shape)}")
    return result


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (identity in eval).

    The mask is drawn from minigrad's global generator (seed with ``minigrad.manual_seed``).
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if not input.dtype.is_floating_point and p != 1.0:  # p == 1 is input * 0 in torch: any dtype
        raise RuntimeError(f"result type Float can't be cast to the desired output type {_tname(input)}")
    arr = input._data
    if p == 1.0:
        noise = np.zeros(arr.shape, dtype=arr.dtype)
    else:
        keep = _random.rng().random(arr.shape) >= p  # Bernoulli(1 - p)
        noise = keep.astype(arr.dtype) / arr.dtype.type(1 - p)
    out = input * Tensor._make(noise)
    return input._assign(out, "dropout_") if inplace else out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a trailing class dimension (classes inferred when -1)."""
    if not isinstance(tensor, Tensor) or tensor.dtype is not _dtype.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    arr = tensor._data
    if num_classes == -1:
        if arr.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(arr.max()) + 1
    if arr.size:
        if arr.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if arr.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros((*arr.shape, num_classes), dtype=np.int64)
    np.put_along_axis(out, arr[..., None], 1, axis=-1)
    return Tensor._make(out)


# ---------------------------------------------------------------------------------------------
# Loss helpers
# ---------------------------------------------------------------------------------------------
def _legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    ret = "mean" if (size_average is None or size_average) and (reduce is None or reduce) else (
        "sum" if reduce is None or reduce else "none"
    )
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.", stacklevel=3
    )
    return ret


def _reduction(reduction: str, size_average: bool | None = None, reduce: bool | None = None) -> str:
    """Validate ``reduction`` (torch's ValueError) or translate the legacy flags."""
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.", stacklevel=3)
        return "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if loss.numel() == 0:  # torch: the mean of nothing is nan (without NumPy's warning)
        return loss.sum() * float("nan")
    return loss.mean()


def _check_sized(target: Any, input: Any) -> None:
    """torch's Python-level losses compare ``target.size()`` with ``input.size()`` first: a non-tensor fails
    there with Python's AttributeError (target first)."""
    for x in (target, input):
        if not isinstance(x, Tensor):
            raise AttributeError(f"'{type(x).__name__}' object has no attribute 'size'")


def _check_tensor(x: Any, name: str, arg: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position {1 if arg == 'input' else 2}) must be Tensor, not {type(x).__name__}")
    return x


#: regression losses torch computes as ``input - target`` first (so bool operands hit sub's refusal)
_SUBTRACTING_KERNELS = frozenset({"abs_cpu"})
#: kernels whose output takes the input's dtype (so a float target cannot be cast into an integer input)
_OUTPUT_IN_INPUT_DTYPE = frozenset({"huber_cpu"})


def _pointwise_operands(name: str, kernel: str, input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """torch's size warning, broadcasting (with torch's error) and dtype promotion for regression losses."""
    _check_sized(target, input)
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )
    shape = _broadcast_shape(input.shape, target.shape)
    dt = _dtype.promote_types(input.dtype, target.dtype)
    if kernel in _SUBTRACTING_KERNELS and _dtype.bool_ in (input.dtype, target.dtype):
        sub(input, target)  # raises torch's bool-subtraction error
    if kernel in _OUTPUT_IN_INPUT_DTYPE:
        if not _dtype.can_cast(dt, input.dtype):
            raise RuntimeError(f"result type {dt.scalar_type} can't be cast to the desired output type {_tname(input)}")
        dt = input.dtype if input.dtype.is_floating_point else dt
    if not dt.is_floating_point:
        raise kernel_not_implemented(kernel, dt)
    return input.to(dt).broadcast_to(shape), target.to(dt).broadcast_to(shape)


def _broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """np.broadcast_shapes with torch's broadcast_tensors message."""
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        n = max(len(a), len(b))
        pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
        # a failed broadcast always has a mismatching dim; torch names the last one
        d = max(d for d in range(n) if pa[d] != pb[d] and 1 not in (pa[d], pb[d]))
        raise RuntimeError(
            f"The size of tensor a ({pa[d]}) must match the size of tensor b ({pb[d]}) at non-singleton dimension {d}"
        ) from None


def _weighted(loss: Tensor, weight: Tensor | None, input: Tensor, reduction: str, mean_by_weight: bool) -> Tensor:
    """torch 2.13's optional per-element ``weight`` of mse/l1/huber."""
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    weighted = loss * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean":
        return weighted.sum() / weight.sum() if mean_by_weight else weighted.mean()
    # torch's weighted path is Python code with its own check (no legacy 'elementwise_mean' alias)
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def _loss_reduction(reduction: str, weight: Tensor | None, size_average: bool | None = None,
                    reduce: bool | None = None) -> str:
    """``reduction`` checked as torch checks it: by the kernel without ``weight``, by :func:`_weighted` with it."""
    if weight is None or size_average is not None or reduce is not None:
        return _reduction(reduction, size_average, reduce)
    return reduction


def _weighted_operands(name: str, kernel: str, input: Tensor, target: Tensor,
                       weight: Tensor | None) -> tuple[Tensor, Tensor]:
    """With ``weight`` torch subtracts the broadcast operands in Python first (so bool gets ``-``'s error)."""
    if weight is not None and _dtype.bool_ in (input.dtype, target.dtype):
        sub(input, target)  # raises torch's bool-subtraction error
    return _pointwise_operands(name, kernel, input, target)


# ---------------------------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------------------------
def mse_loss(
    input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
    reduction: str = "mean", weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error (x - y)^2; mismatched shapes warn and broadcast, as torch."""
    x, y = _weighted_operands("mse_loss", "mse_cpu", input, target, weight)
    reduction = _loss_reduction(reduction, weight, size_average, reduce)
    return _weighted((x - y).square(), weight, input, reduction, True)


def l1_loss(
    input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
    reduction: str = "mean", weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error |x - y| (gradient 0 where x == y, as torch)."""
    x, y = _weighted_operands("l1_loss", "abs_cpu", input, target, weight)
    reduction = _loss_reduction(reduction, weight, size_average, reduce)
    return _weighted((x - y).abs(), weight, input, reduction, True)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Tensor | None = None
) -> Tensor:
    """0.5 d^2 for |d| < delta, else delta (|d| - 0.5 delta); gradient delta*sign(d) at |d| = delta."""
    x, y = _pointwise_operands("huber_loss", "huber_cpu", input, target)
    if input.dtype is not target.dtype:  # torch's backward wants the gradient in each operand's own dtype
        if input.requires_grad:
            x = fails_in_backward(x, RuntimeError(f"Found dtype {_tname(target)} but expected {_tname(input)}"))
        else:
            y = fails_in_backward(y, RuntimeError(f"Found dtype {_tname(input)} but expected {_tname(target)}"))
    reduction = _loss_reduction(reduction, weight)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _weighted(_loss_ops.HuberLoss.apply(x, y, delta=float(delta)), weight, input, reduction, False)


def smooth_l1_loss(
    input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
    reduction: str = "mean", beta: float = 1.0,
) -> Tensor:
    """0.5 d^2 / beta for |d| < beta, else |d| - 0.5 beta (l1_loss when beta == 0)."""
    x, y = _pointwise_operands("smooth_l1_loss", "smooth_l1_cpu", input, target)
    reduction = _reduction(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return _reduce((x - y).abs(), reduction)
    return _reduce(_loss_ops.SmoothL1Loss.apply(x, y, beta=float(beta)), reduction)


# ---------------------------------------------------------------------------------------------
# Classification losses
# ---------------------------------------------------------------------------------------------
def _not_differentiable(fn: str, arg: str, t: Tensor | None) -> None:
    """torch refuses a weight that requires grad where its kernel has no derivative for it."""
    if t is not None and t.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"The function '{fn}' is not differentiable with respect to argument '{arg}'. "
            "This input cannot have requires_grad True."
        )


def _check_weight(weight: Tensor | None, input: Tensor, n_classes: int) -> np.ndarray | None:
    if weight is None:
        return None
    _not_differentiable("nll_loss_forward", "weight", weight)
    if weight.ndim != 1 or weight.shape[0] != n_classes:
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} classes or no classes but got "
            f"weight tensor of shape: {list(weight.shape)}"
        )
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {_tname(input)} but found {_tname(weight)}")
    return weight._data


def _check_class_target(input: Tensor, target: Tensor) -> None:
    """nll_loss's shape and dtype checks, with torch's classes and messages."""
    _check_class_target_shape(input, target)
    if target.dtype is not _dtype.int64:  # torch checks the shapes first (a wrong-shaped probability target)
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_tname(target)}")


def _check_class_target_shape(input: Tensor, target: Tensor) -> None:
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim == 1:  # torch's order: the target's rank, its dtype, then its size
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.dtype is not _dtype.int64:
            raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_tname(target)}")
        if target.ndim == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
        return
    target_batch = target.shape[0] if target.ndim else 0  # torch counts a 0-d target as a batch of 0
    if input.shape[0] != target_batch:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({target_batch}).")
    if input.ndim == 2:
        if target.ndim != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        return
    expected = (input.shape[0], *input.shape[2:])
    if tuple(target.shape) != expected:
        if input.ndim == 4 and target.ndim != 3:
            raise RuntimeError(
                f"only batches of spatial targets supported (3D tensors) but got targets of dimension: {target.ndim}")
        if input.ndim == 4:
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}")
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")


def nll_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
    ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of log-probabilities ``input`` (N, C, d1, ...) at class indices ``target``.

    ``'mean'`` divides by the summed weights of the non-ignored targets (nan when all are ignored).
    """
    _check_tensor(input, "nll_loss_nd", "input")
    _check_tensor(target, "nll_loss_nd", "target")
    reduction = _reduction(reduction, size_average, reduce)
    _check_class_target(input, target)
    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    w = _check_weight(weight, input, n_classes)
    if not input.dtype.is_floating_point:
        raise kernel_not_implemented("nll_loss_out_frame", input.dtype)
    x = input.unsqueeze(0) if input.ndim == 1 else input
    t = target._data.reshape(1) if input.ndim == 1 else target._data
    ignored = t == ignore_index
    bad = (~ignored) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].flat[0])} is out of bounds.")
    safe = np.where(ignored, 0, t)
    dt = x.dtype.np
    wt = (np.ones(safe.shape, dtype=dt) if w is None else w[safe].astype(dt)) * (~ignored)
    out = _loss_ops.NllLoss.apply(x, target=safe, wt=wt, reduction=reduction)
    if input.ndim == 1 and reduction == "none":
        out = out.reshape(tuple(target.shape))
    return out


def cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
    ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean", label_smoothing: float = 0.0,
) -> Tensor:
    """log_softmax over dim 1 (dim 0 for unbatched input) followed by the NLL of class indices, or
    the cross-entropy with class probabilities when ``target`` has ``input``'s shape.

    ``label_smoothing`` mixes the target with the uniform distribution, with torch's formulas for
    weights and ignored targets.
    """
    _check_tensor(input, "cross_entropy_loss", "input")
    _check_tensor(target, "cross_entropy_loss", "target")
    reduction = _reduction(reduction, size_average, reduce)
    if label_smoothing > 1.0:  # torch accepts a negative value and smooths nothing
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    if input.shape == target.shape:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim)
    if input.ndim == 0:  # torch's class dim is 1 here, out of range for a 0-d input
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    _check_class_target(input, target)
    logp = log_softmax(input, class_dim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0.0:
        return nll
    n_classes = input.shape[class_dim]
    ignore_mask = Tensor._make(np.asarray(target._data == ignore_index))
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_dim] = n_classes
        smooth = -(logp * weight.reshape(shape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    smooth = smooth.masked_fill(ignore_mask, 0.0)
    if reduction == "mean":
        keep = target._data.reshape(-1) != ignore_index
        if weight is not None:
            denom = weight._data[target._data.reshape(-1)[keep]].sum(dtype=logp.dtype.np)
        else:
            denom = logp.dtype.np.type(keep.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = smooth.sum() / Tensor._make(np.asarray(denom, dtype=logp.dtype.np))
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / n_classes)


def _cross_entropy_probs(
    input: Tensor, target: Tensor, weight: Tensor | None, reduction: str, label_smoothing: float, class_dim: int
) -> Tensor:
    """torch's cross_entropy_loss_prob_target: -sum(w * target * log_softmax(input)) over classes."""
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"Expected floating point type for target with class probabilities, got {_tname(target)}")
    n_classes = input.shape[class_dim]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(
            f"cross_entropy: weight tensor should be defined either for all {n_classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )
    logp = log_softmax(input, class_dim)
    tgt = target * (1 - label_smoothing) + (label_smoothing / n_classes) if label_smoothing > 0 else target
    prod = logp * tgt
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_dim] = n_classes
        prod = prod * weight.reshape(shape)
    if reduction == "none":
        return -prod.sum(class_dim)
    if reduction == "sum":
        return -prod.sum()
    if input.numel() == 0:
        return -prod.sum() * float("nan")
    return -prod.sum() / (input.numel() // n_classes)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
    reduce: bool | None = None, reduction: str = "mean",
) -> Tensor:
    """-(y log x + (1 - y) log(1 - x)) for probabilities x, each log clamped to >= -100 as torch."""
    _check_sized(target, input)
    reduction = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) is "
            "deprecated. Please ensure they have the same size."
        )
    if target.dtype is not input.dtype:
        raise RuntimeError(f"Found dtype {_tname(target)} but expected {_tname(input)}")
    if not input.dtype.is_floating_point:
        raise kernel_not_implemented("binary_cross_entropy", input.dtype)
    x, y = input, target
    if x._data.size and not ((x._data >= 0) & (x._data <= 1)).all():
        raise RuntimeError("all elements of input should be between 0 and 1")
    if y._data.size and not ((y._data >= 0) & (y._data <= 1)).all():
        raise RuntimeError("all elements of target should be between 0 and 1")
    _not_differentiable("binary_cross_entropy", "weight", weight)
    loss = _loss_ops.BinaryCrossEntropy.apply(x, y)
    if weight is not None:
        from ..ops._util import broadcast_shapes_for

        # torch multiplies into the loss in place: the weight may broadcast to the loss, not widen it
        wide = broadcast_shapes_for("binary_cross_entropy", loss.shape, weight.shape)
        if wide != loss.shape:
            raise RuntimeError(f"output with shape {list(loss.shape)} doesn't match the broadcast shape {list(wide)}")
        loss = loss * weight.broadcast_to(loss.shape)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
    reduce: bool | None = None, reduction: str = "mean", pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + BCE in one stable op: gradient exactly sigmoid(x) - y, finite for |x| ~ 1e4.

    ``pos_weight`` (broadcast over the last dims) weighs the positive term, ``weight`` each element.
    """
    _check_sized(target, input)
    reduction = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    if not input.dtype.is_floating_point:
        raise kernel_not_implemented("log_sigmoid_cpu", input.dtype)
    if target.dtype is _dtype.bool_:  # torch computes 1 - target
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"result type {_tname(input)} can't be cast to the desired output type {_tname(target)}")
    dt = _dtype.promote_types(input.dtype, target.dtype)
    x, y = input.to(dt), target.to(dt)
    _not_differentiable("binary_cross_entropy_with_logits", "weight", weight)
    _not_differentiable("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    if pos_weight is not None:
        wide = _broadcast_shape(pos_weight.shape, x.shape)
        if tuple(wide) != tuple(x.shape):  # torch scales the loss in place: pos_weight may not widen it
            raise RuntimeError(f"output with shape {list(x.shape)} doesn't match the broadcast shape {list(wide)}")
        loss = _loss_ops.BinaryCrossEntropyWithLogits.apply(x, y, pos_weight.to(dt).broadcast_to(wide))
    else:
        loss = _loss_ops.BinaryCrossEntropyWithLogits.apply(x, y)
    if weight is not None:
        wide = _broadcast_shape(weight.shape, loss.shape)
        if tuple(wide) != tuple(loss.shape):  # multiplied in place as well
            raise RuntimeError(f"output with shape {list(loss.shape)} doesn't match the broadcast shape {list(wide)}")
        loss = loss * weight
    return _reduce(loss, reduction)


def multi_margin_loss(
    input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
    size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge: sum over j != y of w[y] * max(0, margin - x[y] + x[j])^p, divided by C.

    The gradient of ``max(0, z)`` at ``z == 0`` is 0, as torch's.
    """
    _check_tensor(input, "multi_margin_loss", "input")
    _check_tensor(target, "multi_margin_loss", "target")
    reduction = _reduction(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    if input.ndim > 2 or (input.ndim >= 1 and input.shape[-1] == 0):
        raise RuntimeError(
            f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: {list(input.shape)}"
        )
    if target.dtype is not _dtype.int64:
        raise RuntimeError(f"expected scalar type Long but found {_tname(target)}")
    if not input.dtype.is_floating_point:
        raise kernel_not_implemented("multi_margin_loss_cpu_kernel", input.dtype)
    x = input.reshape(1, -1) if input.ndim < 2 else input
    n, c = x.shape
    t = target._data.reshape(-1)
    if (input.ndim == 2 and (target.ndim != 1 or target.shape[0] != n)) or (input.ndim < 2 and t.size != 1):
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of input samples "
            f"(batch size). Expected target size [{n}], but got {list(target.shape)}. Input has shape "
            f"{list(input.shape)}."
        )
    _not_differentiable("multi_margin_loss", "weight", weight)
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"inconsistent weight size, expected {c} but got {list(weight.shape)}")
    if weight is not None and weight.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {_tname(input)} but found {_tname(weight)}")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise RuntimeError("target out of range")
    idx = Tensor._make(t.reshape(n, 1))
    x_y = x.gather(1, idx)
    others = Tensor._make((np.arange(c)[None, :] != t[:, None]).astype(x.dtype.np))
    z = (margin - x_y + x).relu() * others
    terms = z if p == 1 else z.square()
    if weight is not None:
        terms = terms * weight.to(x.dtype).index_select(0, Tensor._make(t)).reshape(n, 1)
    per_sample = terms.sum(1) / c
    if input.ndim < 2:
        per_sample = per_sample.reshape(())
    return _reduce(per_sample, reduction)


def hinge_embedding_loss(
    input: Tensor, target: Tensor, margin: float = 1.0, size_average: bool | None = None,
    reduce: bool | None = None, reduction: str = "mean",
) -> Tensor:
    """x where target == 1, max(0, margin - x) where target == -1 (torch's formula, which adds both
    terms for targets that are neither)."""
    _check_tensor(input, "hinge_embedding_loss", "input")
    _check_tensor(target, "hinge_embedding_loss", "target")
    reduction = _reduction(reduction, size_average, reduce)
    if input.dtype is _dtype.bool_:  # torch computes margin - input
        sub(True, input)
    # an integer input keeps its dtype (the margin term truncated), so 'mean' then fails as torch's mean()
    dt = _dtype.promote_types(input.dtype, target.dtype) if input.dtype.is_floating_point else input.dtype
    x = input.to(dt)
    zero = Tensor._make(np.zeros((), dtype=dt.np))
    margin_clamp = (margin - x).clamp_min(0).to(dt)
    output_margin = where(target != 1, margin_clamp, zero)
    output_self = where(target != -1, x, zero)
    return _reduce(output_margin + output_self, reduction)

