"""Planted bugs: backends that wrap a correct one and get one thing wrong, to prove the harness finds it.

Every bug is a realistic autodiff or training bug (a wrong VJP sign or factor, a kink value, a tie rule, a
missing unbroadcast, scatter instead of scatter-add, a loss reduction dividing by the wrong count, an
optimiser or scheduler formula off by one, ...). Bugs are planted without editing the library, so the same
plants work on minigrad and on torch:

- op bugs compose the library's own public ops inside the adapter's ``apply`` (``detach``, ``where``,
  ``expand``): :func:`_grad_of` keeps the correct forward value and takes the gradient of a wrong
  surrogate, or the op is called with one argument dropped;
- engine bugs override the adapter's ``vjp``; optimiser, scheduler, clipping and init bugs override
  ``make_optimizer`` / ``make_scheduler`` / ``clip`` / ``init_sample`` (subclassing the library's own class
  where the bug lives inside a step);
- module bugs (nn layers, loss modules, DataLoader) hand out a proxy of the library in which one attribute
  is replaced by a subclass of the real one (:class:`_Namespace`).

:data:`PLANTS` is the table: bug -> what the shrunk message must name, which property catches it, what is
wrong. ``selftest`` runs each plant against its property and the unmodified backend once per property.
"""

from __future__ import annotations

import bisect
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis
import numpy as np
from hypothesis import HealthCheck, given, reject, settings

from .backends import load_backend
from .backends.base import ModuleBackend
from .catalog import OpSpec, get


@dataclass(frozen=True)
class Plant:
    """One planted bug: the property of ``kind`` about ``subject`` must fail naming ``subject``."""

    subject: str  # catalogue op, optimiser, scheduler, clip function, init (``init.<name>``), ``dag``, ...
    kind: str  # op / graph / network / training / init / stateful
    description: str
    machine: str = ""  # kind stateful: the state machine of ``conformance.stateful`` that drives the subject

    @property
    def target(self) -> str:
        """What the property is about: the subject, the state machine, or any MLP (network)."""
        return self.machine or ("mlp" if self.kind == "network" else self.subject)


P = Plant
#: bug -> (what the message must name, which property kind catches it, what is wrong)
PLANTS: dict[str, Plant] = {
    # ---- arithmetic
    "add_unbroadcast": P("add", "op", "add's gradient for a broadcast input is one slice, not the sum over it"),
    "sub_sign": P("sub", "op", "sub's VJP for the second input is not negated"),
    "mul_operand": P("mul", "op", "mul's VJP multiplies by the input itself instead of the other operand"),
    "div_denominator_sign": P("div", "op", "div's VJP for the denominator has the wrong sign (+a/b^2)"),
    "pow_exponent_log": P("pow", "op", "pow's VJP for the exponent lacks the factor log(base)"),
    # ---- unary elementwise
    "exp_sign": P("exp", "op", "exp's VJP has the wrong sign"),
    "relu_kink": P("relu", "op", "relu'(0) = 1 instead of 0"),
    "abs_kink": P("abs", "op", "abs'(0) = 1 instead of 0 (sign(0) taken as +1)"),
    "sigmoid_grad": P("sigmoid", "op", "sigmoid's VJP uses s instead of s * (1 - s)"),
    "maximum_tie": P("maximum", "op", "maximum sends the whole gradient to the first input on a tie, not half"),
    "where_ungated": P("where", "op", "where's VJP does not mask: both branches get the whole gradient"),
    # ---- activations
    "leaky_relu_kink": P("leaky_relu", "op", "leaky_relu'(0) = 1 instead of negative_slope"),
    "gelu_approximate": P("gelu", "op", "gelu always uses the tanh approximation"),
    "softplus_threshold": P("softplus", "op", "softplus ignores threshold (not linear above it; overflows)"),
    "hardtanh_as_clamp": P("hardtanh", "op", "hardtanh's gradient is 1 at the bounds (clamp's) instead of 0"),
    # ---- softmax
    "softmax_no_max_shift": P("softmax", "op", "softmax without the max shift (nan at 1e4)"),
    "log_softmax_of_softmax": P("log_softmax", "op", "log_softmax computed as log(softmax) (-inf at large gaps)"),
    # ---- reductions
    "mean_wrong_count": P("mean", "op", "mean's VJP divides by the input's numel instead of the reduced count"),
    "amax_tie": P("amax", "op", "amax gives every tied maximum the whole gradient instead of an equal share"),
    "cumsum_off_by_one": P("cumsum", "op", "cumsum's VJP is the exclusive reversed cumsum (off by one)"),
    "logsumexp_no_max_shift": P("logsumexp", "op", "logsumexp without the max shift (inf at 1e4)"),
    # ---- shape
    "flip_grad": P("flip", "op", "flip's VJP does not flip the gradient back"),
    "expand_unbroadcast": P("expand", "op", "expand's VJP keeps the first slice instead of summing"),
    "repeat_first_tile": P("repeat", "op", "repeat's VJP takes the first tile instead of summing the tiles"),
    # ---- indexing
    "index_select_overwrite": P("index_select", "op", "index_select's VJP scatters (last write wins) "
                                                       "instead of scatter-add for repeated indices"),
    "gather_overwrite": P("gather", "op", "gather's VJP scatters instead of scatter-add for repeated indices"),
    "getitem_overwrite": P("getitem", "op", "advanced indexing's VJP is index_put without accumulate"),
    "masked_fill_grad": P("masked_fill", "op", "masked_fill's VJP lets the gradient through filled positions"),
    # ---- linalg
    "matmul_batch_unbroadcast": P("matmul", "op", "matmul's VJP does not reduce broadcast batch dims"),
    "dot_operand": P("dot", "op", "dot's VJP multiplies by the input itself instead of the other vector"),
    # ---- losses
    "mse_mean_count": P("mse_loss", "op", "mse_loss 'mean' divides by the batch size instead of numel"),
    "mse_module_reduction": P("mse_loss", "op", "nn.MSELoss drops its reduction argument (always mean)"),
    "l1_kink": P("l1_loss", "op", "l1_loss's gradient at input == target is +-1 instead of 0"),
    "huber_as_smooth_l1": P("huber_loss", "op", "huber_loss computed as smooth_l1_loss(beta=delta) (off by delta)"),
    "smooth_l1_half": P("smooth_l1_loss", "op", "smooth_l1_loss's quadratic branch lacks the factor 0.5"),
    "hinge_margin_ignored": P("hinge_embedding_loss", "op", "hinge_embedding_loss ignores margin (uses 1)"),
    "bce_no_log_clamp": P("binary_cross_entropy", "op", "binary_cross_entropy does not clamp log at -100"),
    "bce_logits_pos_weight": P("binary_cross_entropy_with_logits", "op",
                               "pos_weight weighs both terms (applied as weight) instead of the positive one"),
    "ce_ignore_index": P("cross_entropy", "op", "cross_entropy ignores ignore_index"),
    "ce_weight": P("cross_entropy", "op", "cross_entropy ignores weight"),
    "ce_label_smoothing": P("cross_entropy", "op", "cross_entropy ignores label_smoothing"),
    "nll_mean_count": P("nll_loss", "op", "nll_loss 'mean' divides by the target count, not the sum of weights"),
    "multi_margin_p": P("multi_margin_loss", "op", "multi_margin_loss ignores p=2 (not squared)"),
    # ---- engine
    "accumulate_overwrite": P("dag", "graph", "a leaf used several times keeps only its last gradient (= not +=)"),
    "backward_overwrites": P("dag", "graph", "a second backward() assigns .grad instead of accumulating"),
    "grad_outputs_ignored": P("dag", "graph", "backward seeds ones instead of the given grad_outputs"),
    # ---- nn
    "linear_weight_layout": P("Linear", "network", "Linear multiplies by weight.reshape(in, out), not weight.T"),
    "gelu_module_tanh": P("gelu", "network", "nn.GELU uses the tanh approximation"),
    # ---- optimisers
    "sgd_momentum": P("SGD", "training", "SGD ignores momentum"),
    "sgd_nesterov": P("SGD", "training", "SGD ignores nesterov (plain momentum)"),
    "zero_grad_noop": P("SGD", "training", "optimizer.zero_grad does nothing (gradients accumulate over steps)"),
    "adam_bias_correction": P("Adam", "training", "Adam without bias correction"),
    "adamw_coupled_decay": P("AdamW", "training", "AdamW's decay is coupled (L2 in the gradient, as Adam)"),
    "rmsprop_centered": P("RMSprop", "training", "RMSprop ignores centered"),
    "adagrad_lr_decay": P("Adagrad", "training", "Adagrad ignores lr_decay"),
    # ---- schedulers
    "steplr_off_by_one": P("StepLR", "training", "StepLR decays one epoch early"),
    "cosine_eta_min": P("CosineAnnealingLR", "training", "CosineAnnealingLR ignores eta_min"),
    "multistep_milestone": P("MultiStepLR", "training", "MultiStepLR decays one epoch after each milestone"),
    "exponential_gamma": P("ExponentialLR", "training", "ExponentialLR already applies gamma at epoch 0"),
    "lambdalr_multiplicative": P("LambdaLR", "training", "LambdaLR multiplies the lambdas up (MultiplicativeLR)"),
    # ---- clipping
    "clip_norm_no_clamp": P("clip_grad_norm_", "training", "clip_grad_norm_ does not clamp its factor to 1"),
    "clip_value_one_sided": P("clip_grad_value_", "training", "clip_grad_value_ clips only from above"),
    # ---- init
    "kaiming_fan_swapped": P("init.kaiming_uniform_", "init", "kaiming_uniform_ uses fan_out for mode='fan_in'"),
    "xavier_gain_ignored": P("init.xavier_normal_", "init", "xavier_normal_ ignores gain"),
    "linear_init_fan_out": P("Linear", "init", "Linear's default init bound is 1/sqrt(fan_out)"),
    # ---- stateful API
    "dataloader_drop_last": P("DataLoader", "stateful", "DataLoader ignores drop_last", machine="data"),
    "extra_export": P("normal_", "stateful", "the library exports a function torch does not have (normal_)",
                      machine="api"),
}
del P

#: the old name of the table: bug -> (subject, kind)
BUGS: dict[str, tuple[str, str]] = {bug: (p.subject, p.kind) for bug, p in PLANTS.items()}


# ---- how each bug is planted ---------------------------------------------------------------------------
Call = Callable[..., Any]  # call(inputs=None, **attr_changes): the correct op on other inputs / attributes
OpBug = Callable[[Any, Call, list[Any], dict[str, Any]], Any]  # (T, call, inputs, attrs) -> output

_OP_BUGS: dict[str, OpBug] = {}
_PATCH_BUGS: dict[str, Callable[[Any], dict[str, Any]]] = {}  # lib -> {dotted attribute: replacement}
_OPTIMIZER_BUGS: dict[str, Callable[..., Any]] = {}  # (lib, params, spec, make) -> optimizer
_SCHEDULER_BUGS: dict[str, Callable[..., Any]] = {}  # (lib, opt, spec, make) -> scheduler
_CLIP_BUGS: dict[str, Callable[..., Any]] = {}  # (lib, params, spec, clip) -> total norm or None
_INIT_BUGS: dict[str, Callable[..., Any]] = {}  # (lib, name, shape, attrs, seed, sample) -> array


def _registers(table: dict[str, Any], bug: str) -> Callable[[Any], Any]:
    def register(fn: Any) -> Any:
        table[bug] = fn
        return fn
    return register


def _grad_of(value: Any, surrogate: Any) -> Any:
    """``value`` forward, the gradient of ``surrogate`` backward (the planted VJP)."""
    return value.detach() + (surrogate - surrogate.detach())


def _numpy(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def _mask(T: Any, keep: np.ndarray, like: Any) -> Any:
    return T.tensor(keep.astype(_numpy(like).dtype))


def _reduce(e: Any, reduction: str) -> Any:
    return e.mean() if reduction == "mean" else e.sum() if reduction == "sum" else e


def _input(xs: list[Any], ref: Any) -> Any:
    """An optional tensor attribute (``{"input": k}``) as the tensor, or None."""
    return xs[ref["input"]] if isinstance(ref, dict) else None


def _first_slice_grad(T: Any, x: Any, shape: tuple[int, ...]) -> Any:
    """``x`` broadcast to ``shape`` whose gradient comes only from the first slice of each broadcast dim."""
    if tuple(x.shape) == shape:
        return x
    xb = x.expand(*shape)
    mask = np.zeros(shape, dtype=np.float64)
    pad = (1,) * (len(shape) - len(x.shape)) + tuple(x.shape)
    mask[tuple(slice(0, 1) if p == 1 and s != 1 else slice(None) for p, s in zip(pad, shape))] = 1.0
    return xb.detach() + (xb - xb.detach()) * _mask(T, mask, x)


def _last_write_wins(T: Any, call: Call, xs: list[Any]) -> Any:
    """An indexing op whose VJP scatters instead of scatter-adding: of several outputs read from the same
    input element, only the last passes its gradient on. Which element each output reads is found by
    running the op itself on the element positions."""
    x = xs[0]
    y = call()
    positions = T.tensor(np.arange(int(np.prod(x.shape)), dtype=np.float64).reshape(tuple(x.shape)))
    src = _numpy(call([positions, *xs[1:]])).ravel()
    keep = np.zeros(src.size, dtype=bool)
    _, last_from_end = np.unique(src[::-1], return_index=True)
    keep[src.size - 1 - last_from_end] = True
    return _grad_of(y, y * _mask(T, keep.reshape(tuple(y.shape)), y))


def _dims(attrs: dict[str, Any]) -> dict[str, Any]:
    """The ``dim=``/``keepdim=`` keywords of a reduction case (empty for a full reduction)."""
    if attrs.get("dim") is None:
        return {}
    dim = attrs["dim"]
    return {"dim": tuple(dim) if isinstance(dim, list) else dim, "keepdim": bool(attrs.get("keepdim", False))}


def _op(bug: str) -> Callable[[OpBug], OpBug]:
    return _registers(_OP_BUGS, bug)


# ---- arithmetic
@_op("add_unbroadcast")
def _add_unbroadcast(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    shape = tuple(np.broadcast_shapes(tuple(xs[0].shape), tuple(xs[1].shape)))
    return call([_first_slice_grad(T, x, shape) for x in xs])


@_op("sub_sign")
def _sub_sign(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return _grad_of(call(), xs[0] + xs[1])


@_op("mul_operand")
def _mul_operand(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    a, b = xs
    return _grad_of(call(), a * a.detach() + b * b.detach())


@_op("div_denominator_sign")
def _div_denominator_sign(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    a, b = xs
    return _grad_of(call(), a / b.detach() - a.detach() / b)


@_op("pow_exponent_log")
def _pow_exponent_log(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    a, b = xs
    y = call()
    return _grad_of(y, a ** b.detach() + y.detach() * b)


# ---- unary elementwise
@_op("exp_sign")
def _exp_sign(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    y = call()
    return y.detach() * 2 - y


@_op("relu_kink")
def _relu_kink(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    x = xs[0]
    return call() + (x - x.detach()) * (x == 0)


@_op("abs_kink")
def _abs_kink(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    x = xs[0]
    return _grad_of(call(), T.where(x >= 0, x, -x))


@_op("sigmoid_grad")
def _sigmoid_grad(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    y = call()
    return _grad_of(y, y.detach() * xs[0])


@_op("maximum_tie")
def _maximum_tie(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    a, b = xs
    return T.where(a >= b, a, b)


@_op("where_ungated")
def _where_ungated(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return _grad_of(call(), xs[1] + xs[2])


# ---- activations
@_op("leaky_relu_kink")
def _leaky_relu_kink(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    x = xs[0]
    return _grad_of(call(), T.where(x >= 0, x, x * attrs["negative_slope"]))


@_op("gelu_approximate")
def _gelu_approximate(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return call(approximate="tanh")


@_op("softplus_threshold")
def _softplus_threshold(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return T.log1p(T.exp(xs[0] * attrs["beta"])) / attrs["beta"]


@_op("hardtanh_as_clamp")
def _hardtanh_as_clamp(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return _grad_of(call(), T.clamp(xs[0], attrs["min_val"], attrs["max_val"]))


# ---- softmax
@_op("softmax_no_max_shift")
def _softmax_no_max_shift(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    e = T.exp(xs[0])
    return e / e.sum(dim=attrs["dim"], keepdim=True)


@_op("log_softmax_of_softmax")
def _log_softmax_of_softmax(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return T.log(T.softmax(xs[0], dim=attrs["dim"]))


# ---- reductions
@_op("mean_wrong_count")
def _mean_wrong_count(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    y = call()
    return _grad_of(y, call([xs[0] / max(1, int(np.prod(y.shape)))]))


@_op("amax_tie")
def _amax_tie(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    x = xs[0]
    y = call()
    dims = _dims(attrs)
    top = (call(keepdim=True) if dims else y).detach()
    tied = T.where(x.detach() == top, x, x.detach() * 0)
    return _grad_of(y, tied.sum(**dims) if dims else tied.sum())


@_op("cumsum_off_by_one")
def _cumsum_off_by_one(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    y = call()
    return _grad_of(y, y - xs[0])


@_op("logsumexp_no_max_shift")
def _logsumexp_no_max_shift(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    dims = _dims(attrs)
    e = T.exp(xs[0])
    return T.log(e.sum(**dims) if dims else e.sum())


# ---- shape
@_op("flip_grad")
def _flip_grad(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return _grad_of(call(), xs[0])


@_op("expand_unbroadcast")
def _expand_unbroadcast(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return _first_slice_grad(T, xs[0], tuple(call().shape))


@_op("repeat_first_tile")
def _repeat_first_tile(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    y = call()
    shape = tuple(y.shape)
    tile = (1,) * (len(shape) - len(xs[0].shape)) + tuple(xs[0].shape)
    first = np.zeros(shape, dtype=bool)
    first[tuple(slice(0, t) for t in tile)] = True
    return _grad_of(y, y * _mask(T, first, y))


# ---- indexing
for _bug in ("index_select_overwrite", "gather_overwrite", "getitem_overwrite"):
    _OP_BUGS[_bug] = lambda T, call, xs, attrs: _last_write_wins(T, call, xs)


@_op("masked_fill_grad")
def _masked_fill_grad(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return _grad_of(call(), xs[0])


# ---- linalg
@_op("matmul_batch_unbroadcast")
def _matmul_batch_unbroadcast(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    a, b = xs
    if len(a.shape) < 2 or len(b.shape) < 2:
        return call()
    batch = tuple(np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2])))
    return call([_first_slice_grad(T, x, batch + tuple(x.shape[-2:])) for x in xs])


@_op("dot_operand")
def _dot_operand(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    a, b = xs
    return _grad_of(call(), (a * a.detach()).sum() + (b * b.detach()).sum())


# ---- losses
@_op("mse_mean_count")
def _mse_mean_count(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    if attrs["reduction"] != "mean" or not xs[0].shape:
        return call()
    return call(reduction="sum") / xs[0].shape[0]


@_op("l1_kink")
def _l1_kink(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    d = xs[0] - xs[1]
    return _reduce(T.where(d >= 0, d, -d), attrs["reduction"])


@_op("huber_as_smooth_l1")
def _huber_as_smooth_l1(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return T.nn.functional.smooth_l1_loss(xs[0], xs[1], reduction=attrs["reduction"], beta=attrs["delta"])


@_op("smooth_l1_half")
def _smooth_l1_half(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    beta = attrs["beta"]
    if beta == 0:
        return call()
    d = xs[0] - xs[1]
    return _reduce(T.where(d.abs() < beta, d * d / beta, d.abs() - 0.5 * beta), attrs["reduction"])


@_op("hinge_margin_ignored")
def _hinge_margin_ignored(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return call(margin=1.0)


@_op("bce_no_log_clamp")
def _bce_no_log_clamp(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    x, t = xs[0], xs[1]
    e = -(t * T.log(x) + (1 - t) * T.log(1 - x))
    w = _input(xs, attrs["w"])
    return _reduce(e if w is None else e * w, attrs["reduction"])


@_op("bce_logits_pos_weight")
def _bce_logits_pos_weight(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    pw, w = _input(xs, attrs["pw"]), _input(xs, attrs["w"])
    if pw is None:
        return call()
    return call([*xs, pw if w is None else w * pw], w={"input": len(xs)}, pw=None)


@_op("ce_ignore_index")
def _ce_ignore_index(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return call(ignore_index=-100)


@_op("ce_weight")
def _ce_weight(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return call(w=None)


@_op("ce_label_smoothing")
def _ce_label_smoothing(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return call(label_smoothing=0.0)


@_op("nll_mean_count")
def _nll_mean_count(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    if attrs["reduction"] != "mean" or attrs["w"] is None:
        return call()
    return call(reduction="sum") / int((_numpy(xs[1]) != attrs["ignore_index"]).sum())


@_op("multi_margin_p")
def _multi_margin_p(T: Any, call: Call, xs: list[Any], attrs: dict[str, Any]) -> Any:
    return call(p=1)


# ---- module bugs: a proxy of the library with one attribute replaced by a subclass of the real one
@_registers(_PATCH_BUGS, "mse_module_reduction")
def _mse_module_reduction(lib: Any) -> dict[str, Any]:
    class MSELoss(lib.nn.MSELoss):  # type: ignore[name-defined,misc]
        def __init__(self, reduction: str = "mean") -> None:
            super().__init__()

    return {"nn.MSELoss": MSELoss}


@_registers(_PATCH_BUGS, "linear_weight_layout")
def _linear_weight_layout(lib: Any) -> dict[str, Any]:
    class Linear(lib.nn.Linear):  # type: ignore[name-defined,misc]
        def forward(self, x: Any) -> Any:
            out_features, in_features = self.weight.shape
            y = x @ self.weight.reshape(in_features, out_features)
            return y if self.bias is None else y + self.bias

    return {"nn.Linear": Linear}


@_registers(_PATCH_BUGS, "gelu_module_tanh")
def _gelu_module_tanh(lib: Any) -> dict[str, Any]:
    class GELU(lib.nn.GELU):  # type: ignore[name-defined,misc]
        def forward(self, x: Any) -> Any:
            return lib.nn.functional.gelu(x, approximate="tanh")

    return {"nn.GELU": GELU}


@_registers(_PATCH_BUGS, "dataloader_drop_last")
def _dataloader_drop_last(lib: Any) -> dict[str, Any]:
    class DataLoader(lib.utils.data.DataLoader):  # type: ignore[name-defined,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["drop_last"] = False
            super().__init__(*args, **kwargs)

    return {"utils.data.DataLoader": DataLoader}


@_registers(_PATCH_BUGS, "extra_export")
def _extra_export(lib: Any) -> dict[str, Any]:
    return {"normal_": lib.Tensor.normal_}  # torch has Tensor.normal_ but no function torch.normal_


class _Namespace:
    """``target`` seen with some dotted attributes replaced (``{"nn.Linear": BuggyLinear}``)."""

    def __init__(self, target: Any, replaced: dict[str, Any]) -> None:
        self._target = target
        self._replaced = replaced

    def __getattr__(self, name: str) -> Any:
        if name in self._replaced:
            return self._replaced[name]
        below = {k.split(".", 1)[1]: v for k, v in self._replaced.items() if k.startswith(name + ".")}
        value = getattr(self._target, name)
        return _Namespace(value, below) if below else value

    def __dir__(self) -> list[str]:  # the names a user of the library sees, added ones included
        return sorted(set(dir(self._target)) | {k for k in self._replaced if "." not in k})


# ---- optimisers, schedulers, clipping, init
@_registers(_OPTIMIZER_BUGS, "sgd_momentum")
def _sgd_momentum(lib: Any, params: list[Any], spec: dict[str, Any], make: Call) -> Any:
    if spec["name"] == "SGD" and spec["attrs"].get("momentum"):
        return make({"name": "SGD", "attrs": {**spec["attrs"], "momentum": 0.0, "nesterov": False,
                                              "dampening": 0.0}})
    return make(spec)


@_registers(_OPTIMIZER_BUGS, "zero_grad_noop")
def _zero_grad_noop(lib: Any, params: list[Any], spec: dict[str, Any], make: Call) -> Any:
    opt = make(spec)
    opt.zero_grad = lambda set_to_none=True: None
    return opt


@_registers(_OPTIMIZER_BUGS, "adam_bias_correction")
def _adam_bias_correction(lib: Any, params: list[Any], spec: dict[str, Any], make: Call) -> Any:
    if spec["name"] != "Adam":
        return make(spec)
    beta1, beta2 = spec["attrs"].get("betas", (0.9, 0.999))

    class Adam(lib.optim.Adam):  # type: ignore[name-defined,misc]
        """lr * m / (sqrt(v) + eps) instead of lr * m_hat / (sqrt(v_hat) + eps) (up to eps's place)."""

        steps = 0

        def step(self, closure: Any = None) -> Any:
            self.steps += 1
            undo = 1 - beta1 ** self.steps, math.sqrt(1 - beta2 ** self.steps)
            lrs = [g["lr"] for g in self.param_groups]
            for g in self.param_groups:
                g["lr"] = g["lr"] * undo[0] / undo[1]
            try:
                return super().step(closure)
            finally:
                for g, lr in zip(self.param_groups, lrs):
                    g["lr"] = lr

    attrs = dict(spec["attrs"])
    if "betas" in attrs:
        attrs["betas"] = tuple(attrs["betas"])
    return Adam(params, **attrs)


@_registers(_OPTIMIZER_BUGS, "adamw_coupled_decay")
def _adamw_coupled_decay(lib: Any, params: list[Any], spec: dict[str, Any], make: Call) -> Any:
    return make({**spec, "name": "Adam"} if spec["name"] == "AdamW" else spec)


def _ignores_hyperparameter(bug: str, optimizer: str, **as_if: Any) -> None:
    """Plant ``bug``: ``optimizer`` runs as if its hyper-parameters had the values ``as_if`` (it ignores them)."""

    def plant(lib: Any, params: list[Any], spec: dict[str, Any], make: Call) -> Any:
        if spec["name"] == optimizer:
            return make({"name": optimizer, "attrs": {**spec["attrs"], **as_if}})
        return make(spec)

    _OPTIMIZER_BUGS[bug] = plant


_ignores_hyperparameter("sgd_nesterov", "SGD", nesterov=False)
_ignores_hyperparameter("rmsprop_centered", "RMSprop", centered=False)
_ignores_hyperparameter("adagrad_lr_decay", "Adagrad", lr_decay=0.0)


def _lambda_scheduler(make: Call, factor: Callable[[int], float]) -> Any:
    return make({"name": "LambdaLR", "attrs": {"lr_lambda": factor}})


@_registers(_SCHEDULER_BUGS, "steplr_off_by_one")
def _steplr_off_by_one(lib: Any, opt: Any, spec: dict[str, Any], make: Call) -> Any:
    if spec["name"] != "StepLR":
        return make(spec)
    size, gamma = spec["attrs"]["step_size"], spec["attrs"]["gamma"]
    return _lambda_scheduler(make, lambda epoch: gamma ** ((epoch + 1) // size))


@_registers(_SCHEDULER_BUGS, "cosine_eta_min")
def _cosine_eta_min(lib: Any, opt: Any, spec: dict[str, Any], make: Call) -> Any:
    if spec["name"] != "CosineAnnealingLR":
        return make(spec)
    return make({"name": spec["name"], "attrs": {**spec["attrs"], "eta_min": 0.0}})


@_registers(_SCHEDULER_BUGS, "multistep_milestone")
def _multistep_milestone(lib: Any, opt: Any, spec: dict[str, Any], make: Call) -> Any:
    if spec["name"] != "MultiStepLR":
        return make(spec)
    milestones, gamma = sorted(spec["attrs"]["milestones"]), spec["attrs"]["gamma"]
    return _lambda_scheduler(make, lambda epoch: gamma ** bisect.bisect_left(milestones, epoch))


@_registers(_SCHEDULER_BUGS, "exponential_gamma")
def _exponential_gamma(lib: Any, opt: Any, spec: dict[str, Any], make: Call) -> Any:
    if spec["name"] != "ExponentialLR":
        return make(spec)
    gamma = spec["attrs"]["gamma"]
    return _lambda_scheduler(make, lambda epoch: gamma ** (epoch + 1))


@_registers(_SCHEDULER_BUGS, "lambdalr_multiplicative")
def _lambdalr_multiplicative(lib: Any, opt: Any, spec: dict[str, Any], make: Call) -> Any:
    if spec["name"] != "LambdaLR":
        return make(spec)
    code = compile(spec["attrs"]["lr_lambda"]["expr"], "<lr_lambda>", "eval")

    def cumulative(epoch: int) -> float:
        return math.prod(eval(code, {"epoch": k}) for k in range(1, epoch + 1))  # noqa: S307

    return _lambda_scheduler(make, cumulative)


@_registers(_CLIP_BUGS, "clip_norm_no_clamp")
def _clip_norm_no_clamp(lib: Any, params: list[Any], spec: dict[str, Any], clip: Call) -> Any:
    if spec["name"] != "clip_grad_norm_":
        return clip(spec)
    total = clip({"name": spec["name"], "attrs": {**spec["attrs"], "max_norm": math.inf}})  # the norm only
    for p in params:
        if p.grad is not None:
            p.grad = p.grad * (spec["attrs"]["max_norm"] / (total + 1e-6))
    return total


@_registers(_CLIP_BUGS, "clip_value_one_sided")
def _clip_value_one_sided(lib: Any, params: list[Any], spec: dict[str, Any], clip: Call) -> Any:
    if spec["name"] != "clip_grad_value_":
        return clip(spec)
    for p in params:
        if p.grad is not None:
            p.grad = p.grad.clamp(max=spec["attrs"]["clip_value"])
    return None


@_registers(_INIT_BUGS, "kaiming_fan_swapped")
def _kaiming_fan_swapped(lib: Any, name: str, shape: tuple[int, ...], attrs: dict[str, Any], seed: int,
                         sample: Call) -> np.ndarray:
    if name.startswith("kaiming") and attrs.get("mode", "fan_in") == "fan_in":
        attrs = {**attrs, "mode": "fan_out"}
    return sample(name, shape, attrs, seed)


@_registers(_INIT_BUGS, "xavier_gain_ignored")
def _xavier_gain_ignored(lib: Any, name: str, shape: tuple[int, ...], attrs: dict[str, Any], seed: int,
                         sample: Call) -> np.ndarray:
    if name.startswith("xavier"):
        attrs = {k: v for k, v in attrs.items() if k != "gain"}
    return sample(name, shape, attrs, seed)


@_registers(_INIT_BUGS, "linear_init_fan_out")
def _linear_init_fan_out(lib: Any, name: str, shape: tuple[int, ...], attrs: dict[str, Any], seed: int,
                         sample: Call) -> np.ndarray:
    if name != "Linear":
        return sample(name, shape, attrs, seed)
    lib.manual_seed(seed)
    layer = lib.nn.Linear(shape[1], shape[0])
    bound = 1 / math.sqrt(shape[0])
    with lib.no_grad():
        lib.nn.init.uniform_(layer.weight, -bound, bound)
    return np.array(layer.weight.detach().numpy(), copy=True)


_ENGINE_BUGS = ("accumulate_overwrite", "backward_overwrites", "grad_outputs_ignored")


class PlantedBackend(ModuleBackend):
    """A correct backend's library with one planted bug (see :data:`PLANTS`)."""

    def __init__(self, bug: str, base: ModuleBackend) -> None:
        if bug not in PLANTS:
            raise ValueError(f"unknown planted bug {bug!r}")
        lib = base.lib
        patches = _PATCH_BUGS.get(bug)
        super().__init__(_Namespace(lib, patches(lib)) if patches else lib, f"{base.name}+{bug}")
        self.real_lib = lib
        self.bug = bug
        self._aliases: list[tuple[Any, Any]] = []

    def version(self) -> str:
        return str(getattr(self.real_lib, "__version__", "unknown"))

    def leaf(self, values: np.ndarray, requires_grad: bool) -> Any:
        self._aliases = []
        return super().leaf(values, requires_grad)

    def apply(self, spec: OpSpec, form: str, inputs: list[Any], attrs: dict[str, Any]) -> Any:
        if self.bug == "accumulate_overwrite":
            inputs = [self._alias(x) for x in inputs]
        planted = _OP_BUGS.get(self.bug)
        if planted is None or spec.name != PLANTS[self.bug].subject:
            return super().apply(spec, form, inputs, attrs)

        def call(xs: list[Any] | None = None, **changes: Any) -> Any:
            return super(PlantedBackend, self).apply(spec, form, inputs if xs is None else xs, {**attrs, **changes})

        return planted(self.lib, call, inputs, attrs)

    def _alias(self, x: Any) -> Any:
        if getattr(x, "is_leaf", False) and getattr(x, "requires_grad", False):
            alias = x * 1.0
            self._aliases.append((x, alias))
            return alias
        return x

    def vjp(self, outputs: list[Any], cotangents: list[np.ndarray | None], leaves: list[Any],
            method: str = "backward") -> list[np.ndarray | None]:
        if self.bug == "grad_outputs_ignored":
            cotangents = [None if c is None else np.ones_like(c) for c in cotangents]
        if self.bug not in ("accumulate_overwrite", "backward_overwrites") or \
                (self.bug == "accumulate_overwrite" and not self._aliases) or \
                (self.bug == "backward_overwrites" and method != "backward"):
            return super().vjp(outputs, cotangents, leaves, method)
        pairs = [(o, c) for o, c in zip(outputs, cotangents) if c is not None and getattr(o, "requires_grad", False)]
        if not pairs:
            return [None] * len(leaves)
        if self.bug == "backward_overwrites":  # each backward() assigns .grad of the leaves it reaches
            last: dict[int, Any] = {}
            for o, c in pairs:
                got = self.lib.autograd.grad([o], leaves, grad_outputs=[self.lib.tensor(c)], allow_unused=True,
                                             retain_graph=True)
                last.update({id(lf): g for lf, g in zip(leaves, got) if g is not None})
            return [self.to_numpy(last[id(lf)]) if id(lf) in last else None for lf in leaves]
        aliases = [a for _, a in self._aliases]
        got = self.lib.autograd.grad([o for o, _ in pairs], aliases,
                                     grad_outputs=[self.lib.tensor(c) for _, c in pairs], allow_unused=True)
        last = {}
        for (leaf, _), g in zip(self._aliases, got):
            if g is not None:
                last[id(leaf)] = g  # overwrite, do not accumulate
        out: list[np.ndarray | None] = []
        for lf in leaves:
            g = last.get(id(lf))
            direct = super().vjp(outputs, cotangents, [lf], method)[0] if g is None else None
            out.append(self.to_numpy(g) if g is not None else direct)
        return out

    def make_optimizer(self, params: list[Any], spec: dict[str, Any]) -> Any:
        planted = _OPTIMIZER_BUGS.get(self.bug)
        make = super().make_optimizer
        return planted(self.lib, params, spec, lambda s: make(params, s)) if planted else make(params, spec)

    def make_scheduler(self, opt: Any, spec: dict[str, Any]) -> Any:
        planted = _SCHEDULER_BUGS.get(self.bug)
        make = super().make_scheduler
        return planted(self.lib, opt, spec, lambda s: make(opt, s)) if planted else make(opt, spec)

    def clip(self, params: list[Any], spec: dict[str, Any]) -> float | None:
        planted = _CLIP_BUGS.get(self.bug)
        clip = super().clip
        return planted(self.lib, params, spec, lambda s: clip(params, s)) if planted else clip(params, spec)

    def init_sample(self, name: str, shape: tuple[int, ...], attrs: dict[str, Any], seed: int) -> np.ndarray:
        planted = _INIT_BUGS.get(self.bug)
        sample = super().init_sample
        return planted(self.lib, name, shape, attrs, seed, sample) if planted else sample(name, shape, attrs, seed)


def implemented(bug: str) -> bool:
    return bug in _ENGINE_BUGS or any(bug in t for t in (_OP_BUGS, _PATCH_BUGS, _OPTIMIZER_BUGS, _SCHEDULER_BUGS,
                                                         _CLIP_BUGS, _INIT_BUGS))


# ---- running the property that must catch a plant -------------------------------------------------------
def _strategy(kind: str, subject: str) -> Any:
    from .strategies.dags import dag_case
    from .strategies.nets import CLIPS, SCHEDULERS, training_case
    from .strategies.ops import op_case

    if kind == "op":
        return op_case(get(subject))
    if kind == "graph":
        return dag_case()
    if kind == "network":
        return training_case(kind="network")
    if subject in SCHEDULERS + CLIPS:
        return training_case(kind="training", component=subject)
    return training_case(kind="training", optimizer=subject)


def run_property(kind: str, subject: str, backend: Any, max_examples: int) -> str | None:
    """Run one property against ``backend``: the shrunk failure's message, or None when it passes.

    ``op`` (subject: a catalogue op), ``graph``, ``network``, ``training`` (subject: an optimiser, a
    scheduler or a clip function), ``init`` (subject: ``init.<name>`` or ``Linear``; seeds 0..N-1) and
    ``stateful`` (subject: a state machine of ``conformance.stateful``)."""
    from . import checks

    if kind == "stateful":
        from .stateful import run_machine

        msg, program, _ = run_machine(backend, subject, max_examples)
        return None if msg is None else f"{msg}\n\nprogram:\n{program}"
    if kind == "init":
        name = subject.removeprefix("init.")
        for seed in range(max_examples):
            try:
                checks.assert_no_failures(checks.check_init(name, backend, seed))
            except AssertionError as e:
                return str(e)
        return None

    def check(case: Any) -> list[dict[str, Any]]:
        if kind == "op":
            return checks.check_op_case(get(subject), case, backend)
        if kind == "graph":
            return checks.check_graph_case(case, backend)
        return checks.check_train_case(case, backend)

    @hypothesis.seed(PLANT_SEED)
    @settings(max_examples=max_examples, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(_strategy(kind, subject))
    def prop(case: Any) -> None:
        try:
            records = check(case)
        except checks.HarnessRejected:
            reject()
        checks.assert_no_failures(records)

    try:
        prop()
    except AssertionError as e:
        return str(e)
    return None


#: examples per property kind: a budget that catches every plant of that kind with a margin (the first
#: failure comes within a third of it), drawn from a fixed seed so every run checks the same cases
BUDGET: dict[str, int] = {"op": 60, "graph": 40, "network": 100, "training": 30, "init": 3, "stateful": 30}
PLANT_SEED = 20260812


def names_subject(msg: str, subject: str) -> bool:
    """Whether ``subject`` appears in ``msg`` as a whole name (``exp`` is not ``expand``)."""
    return re.search(rf"(?<![\w.]){re.escape(subject)}(?![\w])", msg) is not None


def check_bug(bug: str, base: ModuleBackend, max_examples: int | None = None) -> tuple[bool, str]:
    """Whether the planted ``bug`` is caught by its property, with a shrunk message naming the subject and
    showing a wrong number (``worst err/tol``; a stateful failure shows the differing observable)."""
    plant = PLANTS[bug]
    budget = max_examples or BUDGET[plant.kind]
    msg = run_property(plant.kind, plant.target, PlantedBackend(bug, base), budget)
    caught = msg is not None and names_subject(msg, plant.subject) and (
        plant.kind == "stateful" or "worst err/tol" in msg)
    return caught, (msg or "not caught")


def properties() -> list[tuple[str, str]]:
    """The distinct (kind, subject) properties the plants need (the clean backend runs each once; the
    network property draws the same cases whatever it is about)."""
    return list(dict.fromkeys((p.kind, p.target) for p in PLANTS.values()))


def stateful_available() -> bool:
    try:
        from .stateful import run_machine  # noqa: F401
    except ImportError:
        return False
    return True


def selftest(base_name: str | None = None, max_examples: int | None = None,
             out: Callable[[str], None] = print) -> int:
    """Every planted bug must be caught; the unmodified backend must pass the same properties."""
    from .backends.minigrad import available

    base_name = base_name or ("minigrad" if available() else "torch")
    base = load_backend(base_name)
    ok = True
    caught_count = 0
    for bug, plant in PLANTS.items():
        if plant.kind == "stateful" and not stateful_available():
            out(f"skip {bug:26} {plant.kind:8} conformance.stateful is missing: {plant.description}")
            continue
        t0 = time.perf_counter()
        caught, msg = check_bug(bug, base, max_examples)
        ok &= caught
        caught_count += caught
        first = next((line.strip() for line in msg.splitlines() if line.strip()
                      and line != "conformance discrepancy:"), msg)
        out(f"{'ok  ' if caught else 'MISS'} {bug:26} {plant.kind:8} {time.perf_counter() - t0:5.1f}s  {first[:140]}")
    for kind, subject in properties():
        if kind == "stateful" and not stateful_available():
            continue
        clean = run_property(kind, subject, base, max_examples or BUDGET[kind])
        if clean is not None:
            ok = False
            out(f"FAIL unmodified {base_name} fails the {kind} property of {subject}: {clean.splitlines()[-1][:150]}")
    out(f"selftest {'passed' if ok else 'FAILED'}: {caught_count}/{len(PLANTS)} planted bugs caught "
        f"(base backend: {base_name})")
    return 0 if ok else 1


class PlantedExpSign(PlantedBackend):
    """``--backend conformance.planted:PlantedExpSign``: minigrad (torch if absent) with exp's VJP negated."""

    def __init__(self) -> None:
        from .backends.minigrad import available

        super().__init__("exp_sign", load_backend("minigrad" if available() else "torch"))
