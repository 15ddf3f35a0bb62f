"""Pointwise ops: arithmetic, unary math, comparisons, clamp/where, casts.

Each op's forward and vector-Jacobian product sit together in one class. Binary ops promote their
operands with torch's rules and reduce each gradient back to its input's shape (``sum_to``).
Semantics at kinks follow torch 2.13: abs'(0)=0, sign'=0, relu'(0)=0, sqrt'(0)=inf, clamp passes the
gradient on the closed interval [min, max], maximum/minimum split a tie 1/2 to each input.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from .. import _dtype
from .._dtype import dtype as DType
from ..autograd.function import Op
from ..autograd.graph import Context
from ..tensor import Tensor
from ._registry import export
from ._util import (
    broadcast_shapes_for,
    check_tensor,
    fails_in_backward,
    float_dtype,
    kernel_not_implemented,
    operand,
    sum_to,
)

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_erf_f64 = np.frompyfunc(math.erf, 1, 1)


def erf_array(x: np.ndarray) -> np.ndarray:
    """erf on an array, via libm's erf (NumPy has none); keeps x's dtype."""
    return np.asarray(_erf_f64(x.astype(np.float64)), dtype=np.float64).astype(x.dtype, copy=False)


def _scalar_pair(name: str, a: Any, b: Any) -> Any:
    """``a`` as a 0-d tensor when neither operand is a Tensor: torch's add/sub/mul/div of two Python
    numbers return a 0-d tensor (``torch.add(1, 2.5)`` is ``tensor(3.5)``, in the scalars' result type)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return a
    if isinstance(a, (bool, int, float, np.bool_, np.integer, np.floating)):
        return Tensor._make(np.asarray(a, dtype=_dtype.scalar_dtype(a).np))
    raise TypeError(f"{name}(): expected at least one Tensor argument")


def _binary(op: type[Op], name: str, a: Any, b: Any, *, floating: bool = False) -> Tensor:
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    dt = float_dtype(a, b) if floating else _dtype.result_type(a, b)
    ta, tb = operand(a, dt), operand(b, dt)
    broadcast_shapes_for(name, ta.shape, tb.shape)
    return op.apply(ta, tb, dtype=dt)


_MASK_HINT = "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."

#: torch's refusal of a bool input, per unary op (exception class, message)
BOOL_INPUT_ERRORS: dict[str, tuple[type[Exception], str]] = {
    "neg": (RuntimeError, f"Negation, the `-` operator, on a bool tensor is not supported. {_MASK_HINT}"),
    "positive": (RuntimeError, "The `+` operator, on a bool tensor is not supported."),
    "relu": (RuntimeError, "Boolean inputs not supported for relu"),
    "abs": (NotImplementedError, '"abs_cpu" not implemented for \'Bool\''),
    "floor": (NotImplementedError, '"floor_vml_cpu" not implemented for \'Bool\''),
    "ceil": (NotImplementedError, '"ceil_vml_cpu" not implemented for \'Bool\''),
    "round": (NotImplementedError, '"round_vml_cpu" not implemented for \'Bool\''),
}


def refuse_bool(name: str, x: Tensor) -> None:
    """Raise torch's error if ``name`` has no bool kernel and ``x`` is bool."""
    if x.dtype is _dtype.bool_ and name in BOOL_INPUT_ERRORS:
        cls, message = BOOL_INPUT_ERRORS[name]
        raise cls(message)


def _unary(op: type[Op], name: str, x: Any, *, floating: bool = True, **attrs: Any) -> Tensor:
    x = check_tensor(x, name)
    refuse_bool(name, x)
    dt = x.dtype if (x.dtype.is_floating_point or not floating) else _dtype.get_default_dtype()
    return op.apply(x, dtype=dt, **attrs)


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------
class Add(Op):
    name = "Add"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray, alpha: Any = 1) -> np.ndarray:
        ctx.shapes, ctx.alpha = (a.shape, b.shape), alpha
        return a + b if alpha == 1 else a + alpha * b

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        sa, sb = ctx.shapes
        gb = g if ctx.alpha == 1 else g * ctx.alpha
        return sum_to(g, sa), sum_to(gb, sb)


class Sub(Op):
    name = "Sub"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray, alpha: Any = 1) -> np.ndarray:
        ctx.shapes, ctx.alpha = (a.shape, b.shape), alpha
        return a - b if alpha == 1 else a - alpha * b

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        sa, sb = ctx.shapes
        return sum_to(g, sa), sum_to(-g if ctx.alpha == 1 else -ctx.alpha * g, sb)


class Mul(Op):
    name = "Mul"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)  # only what is needed
        ctx.shapes = (a.shape, b.shape)
        return a * b

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = sum_to(g * b, sa) if ctx.needs_input_grad[0] else None
        gb = sum_to(g * a, sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Op):
    name = "Div"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        ctx.shapes = (a.shape, b.shape)
        return a / b

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = sum_to(g / b, sa) if ctx.needs_input_grad[0] else None
        gb = sum_to(-g * a / (b * b), sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class DivRounded(Op):
    """div with rounding_mode 'trunc'/'floor': piecewise constant, so torch's gradient is 0 for both inputs
    (it keeps a grad_fn, DivBackward2; integer inputs stay integer)."""

    name = "Div"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray, rounding_mode: str = "trunc") -> np.ndarray:
        ctx.shapes = (a.shape, b.shape)
        with np.errstate(all="ignore"):
            q = np.floor_divide(a, b) if rounding_mode == "floor" else np.trunc(a / b).astype(a.dtype)
        return np.asarray(q, dtype=a.dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        sa, sb = ctx.shapes
        zero = ctx.xp.zeros_like(g)
        return sum_to(zero, sa) if ctx.needs_input_grad[0] else None, sum_to(zero, sb) if ctx.needs_input_grad[1] else None


class Pow(Op):
    """x ** y; torch's masks: d/dx is 0 where y == 0, d/dy is 0 where x == 0 and y >= 0."""

    name = "Pow"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = _int_power(a, b) if a.dtype.kind in "iub" else np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        xp = ctx.xp
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = sum_to(xp.where(b == 0, 0.0, g * b * xp.power(a, b - 1)).astype(g.dtype), a.shape)
        if ctx.needs_input_grad[1]:
            gb = sum_to(xp.where((a == 0) & (b >= 0), 0.0, g * out * xp.log(a)).astype(g.dtype), b.shape)
        return ga, gb


class Remainder(Op):
    """Python-style modulus (sign of the divisor); d/da = 1, d/db = -floor(a / b), as torch."""

    name = "Remainder"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[1] else None)
        ctx.shapes = (a.shape, b.shape)
        return np.remainder(a, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        gb = sum_to(-g * np.floor_divide(a, b), sb) if ctx.needs_input_grad[1] else None
        return sum_to(g, sa), gb


class _Extremum(Op):
    """maximum/minimum: the winner gets the gradient, a tie sends half to each input (torch)."""

    pick: Any = None
    wins: Any = None

    @classmethod
    def forward(cls, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:  # type: ignore[override]
        ctx.save_for_backward(a, b)
        return cls.pick(a, b)

    @classmethod
    def backward(cls, ctx: Context, g: np.ndarray) -> tuple[Any, ...]:  # type: ignore[override]
        a, b = ctx.saved_tensors
        wa = cls.wins(a, b) + 0.5 * (a == b)
        return sum_to((g * wa).astype(g.dtype), a.shape), sum_to((g * (1 - wa)).astype(g.dtype), b.shape)


class Maximum(_Extremum):
    name = "Maximum"
    pick = staticmethod(np.maximum)
    wins = staticmethod(np.greater)


class Minimum(_Extremum):
    name = "Minimum"
    pick = staticmethod(np.minimum)
    wins = staticmethod(np.less)


@export(methods=("add",))
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input + alpha * other, broadcasting."""
    input = _scalar_pair("add", input, other)
    dt = _dtype.result_type(input, other)
    a, b = operand(input, dt), operand(other, dt)
    broadcast_shapes_for("add", a.shape, b.shape)
    return Add.apply(a, b, dtype=dt, alpha=alpha)


@export("sub", "subtract", methods=("sub", "subtract"))
def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input - alpha * other, broadcasting."""
    input = _scalar_pair("sub", input, other)
    dt = _dtype.result_type(input, other)
    if dt is _dtype.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if any(isinstance(t, Tensor) and t.dtype is _dtype.bool_ for t in (input, other)):
        raise RuntimeError(f"Subtraction, the `-` operator, with a bool tensor is not supported. {_MASK_HINT}")
    a, b = operand(input, dt), operand(other, dt)
    broadcast_shapes_for("sub", a.shape, b.shape)
    return Sub.apply(a, b, dtype=dt, alpha=alpha)


@export("mul", "multiply", methods=("mul", "multiply"))
def mul(input: Any, other: Any) -> Tensor:
    return _binary(Mul, "mul", _scalar_pair("mul", input, other), other)


@export("div", "divide", "true_divide", methods=("div", "divide", "true_divide"))
def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """True division (always floating); ``rounding_mode`` 'trunc'/'floor' rounds the quotient (keeping an
    integer dtype) and has gradient 0, as torch."""
    if rounding_mode is None:
        return _binary(Div, "div", _scalar_pair("div", input, other), other, floating=True)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
    input = _scalar_pair("div", input, other)
    dt = _dtype.result_type(input, other)
    a, b = operand(input, dt), operand(other, dt)
    broadcast_shapes_for("div", a.shape, b.shape)
    return DivRounded.apply(a, b, dtype=dt, rounding_mode=rounding_mode)


def _int_power(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer power as torch computes it: a negative exponent gives 1 for base 1, +-1 for base -1, else 0."""
    negative = b < 0
    if not negative.any():
        return np.power(a, b)
    out = np.power(a, np.where(negative, 0, b))
    inverse = np.where(a == 1, 1, np.where(a == -1, np.where(b % 2 == 0, 1, -1), 0))
    return np.where(negative, inverse, out).astype(out.dtype, copy=False)


@export(methods=("pow",))
def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - torch's name
    """input ** exponent (either may be a Python number)."""
    if (isinstance(input, Tensor) and not input.dtype.is_floating_point
            and isinstance(exponent, (int, np.integer)) and not isinstance(exponent, bool) and exponent < 0):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if isinstance(input, Tensor) and isinstance(exponent, Tensor) and exponent.dtype is _dtype.bool_:
        # torch's d/dinput computes exponent - 1
        input = fails_in_backward(input, RuntimeError(f"Subtraction, the `-` operator, with a bool tensor is not "
                                                      f"supported. {_MASK_HINT}"))
    return _binary(Pow, "pow", input, exponent)


@export(methods=("remainder",))
def remainder(input: Any, other: Any) -> Tensor:
    """input - floor(input / other) * other, computed exactly (the ``%`` operator)."""
    return _binary(Remainder, "remainder", input, other)


@export(methods=("maximum",))
def maximum(input: Tensor, other: Tensor) -> Tensor:
    check_tensor(input, "maximum"), check_tensor(other, "maximum", "other")
    return _binary(Maximum, "maximum", input, other)


@export(methods=("minimum",))
def minimum(input: Tensor, other: Tensor) -> Tensor:
    check_tensor(input, "minimum"), check_tensor(other, "minimum", "other")
    return _binary(Minimum, "minimum", input, other)


# ---------------------------------------------------------------------------------------------
# Unary math. Each forward saves what its derivative needs (input or output).
# ---------------------------------------------------------------------------------------------
def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """Stable logistic: never evaluates exp of a large positive number."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


class Pointwise(Op):
    """A unary op given as data: its forward function and its derivative formula.

    ``derivative(xp, v)`` is the local derivative, written in terms of the saved value ``v``: the
    input when ``uses == "input"``, the output when ``uses == "output"`` (as torch's
    derivatives.yaml does); backward multiplies it by the incoming gradient.
    """

    fn: Any = None
    derivative: Any = None
    uses = "input"

    @classmethod
    def forward(cls, ctx: Context, x: np.ndarray) -> np.ndarray:  # type: ignore[override]
        out = np.asarray(cls.fn(x))
        if cls.uses == "input":
            ctx.save_for_backward(x)
        elif cls.uses == "output":
            ctx.save_for_backward(out)
        else:
            ctx.shape = x.shape
        return out

    @classmethod
    def backward(cls, ctx: Context, g: np.ndarray) -> tuple[Any, ...]:  # type: ignore[override]
        if cls.uses is None:
            return (cls.derivative(ctx.xp, g),)
        (v,) = ctx.saved_tensors
        return (g * cls.derivative(ctx.xp, v),)


_SQRT_PI = math.sqrt(math.pi)

#: name -> (forward, derivative(xp, saved), saved value, keeps integer dtype, docstring)
UNARY_OPS: dict[str, tuple[Any, Any, str | None, bool, str]] = {
    # uses=None: the "derivative" maps the incoming gradient directly
    "neg": (np.negative, lambda xp, g: -g, None, True, "-input."),
    "sign": (lambda x: x.copy() if x.dtype == np.bool_ else np.sign(x), lambda xp, g: xp.zeros_like(g), None, True, "sign(input); gradient 0 everywhere."),
    "abs": (np.abs, lambda xp, x: xp.sign(x), "input", True, "|input|; gradient sign(input), 0 at 0."),
    "relu": (lambda x: np.maximum(x, 0).astype(x.dtype, copy=False), lambda xp, out: out > 0, "output", True,
             "max(input, 0); gradient 0 at 0."),
    "square": (lambda x: x * x, lambda xp, x: 2 * x, "input", True, "input * input."),
    "exp": (np.exp, lambda xp, out: out, "output", False, "e ** input."),
    "exp2": (np.exp2, lambda xp, out: out * _LN2, "output", False, "2 ** input."),
    "expm1": (np.expm1, lambda xp, out: out + 1, "output", False, "exp(input) - 1, accurate near 0."),
    "log": (np.log, lambda xp, x: 1 / x, "input", False, "Natural logarithm."),
    "log2": (np.log2, lambda xp, x: 1 / (x * _LN2), "input", False, "Base-2 logarithm."),
    "log10": (np.log10, lambda xp, x: 1 / (x * _LN10), "input", False, "Base-10 logarithm."),
    "log1p": (np.log1p, lambda xp, x: 1 / (x + 1), "input", False, "log(1 + input), accurate near 0."),
    "sqrt": (np.sqrt, lambda xp, out: 1 / (2 * out), "output", False, "Square root; gradient inf at 0."),
    "rsqrt": (lambda x: 1 / np.sqrt(x), lambda xp, out: -0.5 * out * out * out, "output", False, "1 / sqrt(input)."),
    "sin": (np.sin, lambda xp, x: xp.cos(x), "input", False, "Sine."),
    "cos": (np.cos, lambda xp, x: -xp.sin(x), "input", False, "Cosine."),
    "tan": (np.tan, lambda xp, out: 1 + out * out, "output", False, "Tangent."),
    "tanh": (np.tanh, lambda xp, out: 1 - out * out, "output", False, "Hyperbolic tangent."),
    "sigmoid": (sigmoid_array, lambda xp, out: out * (1 - out), "output", False,
                "Logistic function 1 / (1 + exp(-input)), stable for large |input|."),
    "reciprocal": (lambda x: 1 / x, lambda xp, out: -out * out, "output", False, "1 / input."),
    "erf": (erf_array, lambda xp, x: (2 / _SQRT_PI) * xp.exp(-x * x), "input", False, "Error function."),
    "floor": (lambda x: np.floor(x) if x.dtype.kind == "f" else x.copy(), lambda xp, g: xp.zeros_like(g), None, True, "Round down (gradient 0, as torch)."),
    "ceil": (lambda x: np.ceil(x) if x.dtype.kind == "f" else x.copy(), lambda xp, g: xp.zeros_like(g), None, True, "Round up (gradient 0)."),
    "round": (lambda x: np.round(x) if x.dtype.kind == "f" else x.copy(), lambda xp, g: xp.zeros_like(g), None, True, "Round half to even (gradient 0)."),
}

_NODE_NAMES = {"square": "Pow"}  # torch's grad_fn name where it differs from the op's


def _define_unary(name: str) -> None:
    fn, derivative, uses, keeps_int, doc = UNARY_OPS[name]
    op = type(
        name.capitalize(),
        (Pointwise,),
        {"name": _NODE_NAMES.get(name, name.capitalize()), "fn": staticmethod(fn),
         "derivative": staticmethod(derivative), "uses": uses, "__doc__": doc},
    )

    def public(input: Tensor) -> Tensor:
        return _unary(op, name, input, floating=not keeps_int)

    public.__name__ = public.__qualname__ = name
    public.__doc__ = doc
    export(name, *(("negative",) if name == "neg" else ()))(public)
    globals()[name] = public
    globals()[op.__name__] = op


for _name in UNARY_OPS:
    _define_unary(_name)

_round_half_even = globals()["round"]


@export("round", methods=("round",))
def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - torch's name
    """Round half to even; with ``decimals`` d, torch's ``nearbyint(x * 10**d) / 10**d`` in x's dtype
    (``nearbyint(x / 10**-d) * 10**-d`` for d < 0). The gradient is 0."""
    if decimals == 0:
        return _round_half_even(input)
    check_tensor(input, "round")
    if not input.dtype.is_floating_point:
        raise kernel_not_implemented("round_cpu", input.dtype)
    scale = 10.0 ** builtins.abs(decimals)
    if decimals > 0:
        return _round_half_even(input * scale) / scale
    return _round_half_even(input / scale) * scale


# ---------------------------------------------------------------------------------------------
# clamp, where, cast
# ---------------------------------------------------------------------------------------------
class Clamp(Op):
    """clamp(x, min, max) with tensor or scalar bounds; gradient 1 where min <= x <= max."""

    name = "Clamp"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, tensor_bounds: bool,
                both_bounds: bool = True) -> np.ndarray:
        ctx.save_for_backward(x, lo, hi)
        ctx.tensor_bounds, ctx.both_bounds = tensor_bounds, both_bounds
        # torch applies min then max: clamp(x, lo, hi) = min(max(x, lo), hi); nan in x propagates
        return np.minimum(np.maximum(x, lo), hi)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, lo, hi = ctx.saved_tensors
        # torch differs on nan inputs: scalar bounds give them 0, tensor bounds pass the gradient
        inside = ~((x < lo) | (x > hi)) if ctx.tensor_bounds else (x >= lo) & (x <= hi)
        gx = sum_to(g * inside, x.shape)
        # torch's clamp_backward_min_max: with both bounds, min gets the gradient only where min < max (at
        # min == max the result is both bounds and neither gets it); with min alone, wherever x < min
        lo_active = (x < lo) & (lo < hi) if ctx.both_bounds else x < lo
        glo = sum_to(g * lo_active, lo.shape) if ctx.needs_input_grad[1] else None
        ghi = sum_to(g * ((x > hi) | (lo > hi)), hi.shape) if ctx.needs_input_grad[2] else None
        return gx, glo, ghi


@export("clamp", "clip", methods=("clamp", "clip"))
def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit input to [min, max] (either may be None; scalars or tensors)."""
    check_tensor(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("minigrad.clamp: At least one of 'min' or 'max' must not be None")
    dt = _dtype.result_type(input, *(v for v in (min, max) if v is not None))
    lo = operand(min if min is not None else -math.inf, dt if dt.is_floating_point else _dtype.float64)
    hi = operand(max if max is not None else math.inf, dt if dt.is_floating_point else _dtype.float64)
    if not dt.is_floating_point:
        if min is None or max is None:  # an infinite bound can't live in an int tensor
            arr = input._data
            out = np.maximum(arr, min) if max is None else np.minimum(arr, max)
            return Tensor._make(np.asarray(out, dtype=dt.np))
        lo, hi = operand(min, dt), operand(max, dt)
    broadcast_shapes_for("clamp", input.shape, lo.shape, hi.shape)
    tensor_bounds = isinstance(min, Tensor) or isinstance(max, Tensor)
    return Clamp.apply(input, lo, hi, dtype=dt, tensor_bounds=tensor_bounds,
                       both_bounds=min is not None and max is not None)


@export(methods=("clamp_min",))
def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


@export(methods=("clamp_max",))
def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


class Where(Op):
    name = "Where"

    @staticmethod
    def forward(ctx: Context, cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(cond)
        ctx.shapes = (a.shape, b.shape)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        zero = np.zeros((), dtype=g.dtype)
        return None, sum_to(np.where(cond, g, zero), sa), sum_to(np.where(cond, zero, g), sb)


@export(methods=())
def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """Elementwise choice ``input if condition else other``; ``where(cond)`` is ``nonzero(as_tuple)``."""
    check_tensor(condition, "where", "condition")
    if input is None and other is None:
        return tuple(Tensor._make(i) for i in np.nonzero(condition._data))
    if condition.dtype is not _dtype.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition.dtype.scalar_type}")
    dt = _dtype.result_type(input, other)
    a, b = operand(input, dt), operand(other, dt)
    broadcast_shapes_for("where", condition.shape, a.shape, b.shape)
    # the condition is not cast: give it its own dtype-free slot
    return Where.apply(condition, a.to(dt), b.to(dt))


@export("where", function=False)
def _where_method(self: Tensor, condition: Tensor, other: Any) -> Tensor:
    """``Tensor.where(condition, other)``: self where condition holds, else other."""
    return where(condition, self, other)


class Cast(Op):
    name = "ToCopy"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, target: DType) -> np.ndarray:
        return x.astype(target.np)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        return (g,)  # the engine casts it back to the input's dtype


def cast(x: Tensor, target: DType) -> Tensor:
    """A differentiable dtype conversion (``Tensor.to(dtype)``)."""
    if x.dtype is target:
        return x
    return Cast.apply(x, target=target)


# ---------------------------------------------------------------------------------------------
# Comparisons and logic: no gradient, bool results.
# ---------------------------------------------------------------------------------------------
def _compare(npfn: Any, name: str) -> Any:
    def fn(input: Any, other: Any) -> Tensor:
        dt = _dtype.result_type(input, other)
        a, b = operand(input, dt), operand(other, dt)
        broadcast_shapes_for(name, a.shape, b.shape)
        return Tensor._make(npfn(a._data.astype(dt.np, copy=False), b._data.astype(dt.np, copy=False)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} (bool result, no gradient)."
    return fn


eq = export("eq", methods=("eq", "__eq__"))(_compare(np.equal, "eq"))
ne = export("ne", "not_equal", methods=("ne", "not_equal", "__ne__"))(_compare(np.not_equal, "ne"))
lt = export("lt", "less", methods=("lt", "less", "__lt__"))(_compare(np.less, "lt"))
le = export("le", "less_equal", methods=("le", "less_equal", "__le__"))(_compare(np.less_equal, "le"))
gt = export("gt", "greater", methods=("gt", "greater", "__gt__"))(_compare(np.greater, "gt"))
ge = export("ge", "greater_equal", methods=("ge", "greater_equal", "__ge__"))(_compare(np.greater_equal, "ge"))


def _logical(npfn: Any, name: str, bitwise: bool = False) -> Any:
    def fn(input: Any, other: Any) -> Tensor:
        dt = _dtype.result_type(input, other)
        a, b = operand(input, dt), operand(other, dt)
        if bitwise and dt.is_floating_point:
            raise kernel_not_implemented(f"{name}_cpu", dt)
        broadcast_shapes_for(name, a.shape, b.shape)
        out = npfn(a._data.astype(dt.np, copy=False), b._data.astype(dt.np, copy=False))
        return Tensor._make(np.asarray(out))

    fn.__name__ = fn.__qualname__ = name
    return fn


logical_and = export("logical_and")(_logical(np.logical_and, "logical_and"))
logical_or = export("logical_or")(_logical(np.logical_or, "logical_or"))
logical_xor = export("logical_xor")(_logical(np.logical_xor, "logical_xor"))
bitwise_and = export("bitwise_and", methods=("bitwise_and", "__and__", "__rand__"))(_logical(np.bitwise_and, "bitwise_and", True))
bitwise_or = export("bitwise_or", methods=("bitwise_or", "__or__", "__ror__"))(_logical(np.bitwise_or, "bitwise_or", True))
bitwise_xor = export("bitwise_xor", methods=("bitwise_xor", "__xor__", "__rxor__"))(_logical(np.bitwise_xor, "bitwise_xor", True))


@export(methods=("logical_not",))
def logical_not(input: Tensor) -> Tensor:
    return Tensor._make(np.logical_not(check_tensor(input, "logical_not")._data))


@export(methods=("bitwise_not",))
def bitwise_not(input: Tensor) -> Tensor:
    if check_tensor(input, "bitwise_not").dtype.is_floating_point:
        raise kernel_not_implemented("bitwise_not_cpu", input.dtype)
    return Tensor._make(np.invert(input._data))


@export("__invert__", function=False)
def _invert(self: Tensor) -> Tensor:
    """``~x``: torch's Python operator refuses floats before reaching the kernel."""
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(self)


@export(methods=("isnan",))
def isnan(input: Tensor) -> Tensor:
    return Tensor._make(np.isnan(check_tensor(input, "isnan")._data))


@export(methods=("isinf",))
def isinf(input: Tensor) -> Tensor:
    return Tensor._make(np.isinf(check_tensor(input, "isinf")._data))


@export(methods=("isfinite",))
def isfinite(input: Tensor) -> Tensor:
    return Tensor._make(np.isfinite(check_tensor(input, "isfinite")._data))


@export(methods=("allclose",))
def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """torch's isclose(...).all(): both dtypes must be the same, the shapes must broadcast."""
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{input.dtype.scalar_type} did not match {other.dtype.scalar_type}")
    broadcast_shapes_for("allclose", input.shape, other.shape)
    return bool(np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


@export(methods=("equal",))
def equal(input: Tensor, other: Tensor) -> bool:
    return input.shape == other.shape and bool(np.array_equal(input._data, other._data))




@export(methods=("lerp",))
def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """input + weight * (end - input), with torch's two-sided formula: from ``end`` when weight >= 0.5,
    so weight 1 gives ``end`` exactly. ``end`` (and a weight tensor of one or more dims) must have
    ``input``'s dtype, which must be floating."""
    check_tensor(input, "lerp"), check_tensor(end, "lerp", "end")
    operands = [("end", end)] + ([("weight", weight)] if isinstance(weight, Tensor) and weight.ndim else [])
    for arg, t in operands:
        if t.dtype is not input.dtype:
            raise RuntimeError(f"expected dtype {input.dtype.c_type} for `{arg}` but got dtype {t.dtype.c_type}")
    if not input.dtype.is_floating_point:
        raise kernel_not_implemented("lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar",
                                     input.dtype)
    broadcast_shapes_for("lerp", *(t.shape for t in (input, end, weight) if isinstance(t, Tensor)))
    diff = sub(end, input)
    if isinstance(weight, Tensor):
        return where(lt(globals()["abs"](weight), 0.5), add(input, mul(weight, diff)), sub(end, mul(diff, sub(1, weight))))
    if builtins.abs(weight) < 0.5:
        return add(input, mul(diff, weight))
    return sub(end, mul(diff, sub(1, operand(weight, diff.dtype))))  # 1 - weight in the tensor's dtype


# ---------------------------------------------------------------------------------------------
# Python operators
# ---------------------------------------------------------------------------------------------
def _install_operators() -> None:
    def positive(self: Tensor) -> Tensor:
        refuse_bool("positive", self)  # +x is x itself, but torch refuses bool
        return self

    def rsub(self: Tensor, other: Any) -> Tensor:
        return sub(other, self)

    def rdiv(self: Tensor, other: Any) -> Tensor:
        return div(other, self)

    def rpow(self: Tensor, other: Any) -> Tensor:
        return pow(other, self)

    def floordiv(self: Tensor, other: Any) -> Tensor:
        return div(self, other, rounding_mode="floor")

    def rfloordiv(self: Tensor, other: Any) -> Tensor:
        return div(other, self, rounding_mode="floor")

    def mod(self: Tensor, other: Any) -> Tensor:
        return remainder(self, other)

    def rmod(self: Tensor, other: Any) -> Tensor:
        return remainder(other, self)

    table = {
        "__add__": add, "__radd__": lambda s, o: add(o, s), "__sub__": sub, "__rsub__": rsub,
        "__mul__": mul, "__rmul__": lambda s, o: mul(o, s), "__truediv__": div, "__rtruediv__": rdiv,
        "__pow__": pow, "__rpow__": rpow, "__neg__": globals()["neg"], "__abs__": globals()["abs"],
        "__pos__": positive, "__floordiv__": floordiv, "__rfloordiv__": rfloordiv,
        "__mod__": mod, "__rmod__": rmod,
    }
    for name, fn in table.items():
        export(name, function=False)(fn)

    def inplace(fn: Any, name: str) -> Any:
        def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
            return self._assign(fn(self, *args, **kwargs), name)

        method.__name__ = name
        method.__wrapped__ = fn  # type: ignore[attr-defined]  # inspect.signature shows fn's parameters
        return method

    for name, fn in [
        ("add_", add), ("sub_", sub), ("mul_", mul), ("div_", div), ("pow_", pow),
        ("clamp_", clamp), ("clip_", clamp), ("neg_", globals()["neg"]), ("abs_", globals()["abs"]),
        ("exp_", globals()["exp"]), ("log_", globals()["log"]), ("sqrt_", globals()["sqrt"]),
        ("sigmoid_", globals()["sigmoid"]), ("tanh_", globals()["tanh"]), ("relu_", globals()["relu"]),
        ("sign_", globals()["sign"]), ("reciprocal_", globals()["reciprocal"]),
        ("square_", globals()["square"]), ("clamp_min_", clamp_min), ("clamp_max_", clamp_max),
        ("__iadd__", add), ("__isub__", sub), ("__imul__", mul), ("__itruediv__", div),
        ("__ipow__", pow),
    ]:
        export(name, function=False)(inplace(fn, name))

    def addcmul_(self: Tensor, t1: Tensor, t2: Tensor, *, value: Any = 1) -> Tensor:
        broadcast_shapes_for("addcmul_", self.shape, t1.shape, t2.shape)
        return self._assign(add(self, mul(t1, t2), alpha=value), "addcmul_")

    def addcdiv_(self: Tensor, t1: Tensor, t2: Tensor, *, value: Any = 1) -> Tensor:
        broadcast_shapes_for("addcdiv_", self.shape, t1.shape, t2.shape)
        if isinstance(t2, Tensor) and not t2.dtype.is_floating_point:  # torch's d/dt1 is value / t2 in t2's dtype
            t1 = fails_in_backward(t1, RuntimeError(f"result type Float can't be cast to the desired output type "
                                                    f"{t2.dtype.scalar_type}"))
        return self._assign(add(self, div(t1, t2), alpha=value), "addcdiv_")

    def lerp_(self: Tensor, end: Tensor, weight: Any) -> Tensor:
        return self._assign(lerp(self, end, weight), "lerp_")

    export("addcmul_", function=False)(addcmul_)
    export("addcdiv_", function=False)(addcdiv_)
    export("lerp_", function=False)(lerp_)


_install_operators()
