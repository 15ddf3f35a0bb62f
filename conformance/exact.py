"""Exact oracles: the mathematically exact result of an op on the very inputs of a case, correctly rounded.

A known difference (``known_differences.json``) says which side deviates from the mathematics, torch or the
backend. Saying so is not enough: each failing record is decided by an exact oracle named in the entry, which
computes the op's value and vector-Jacobian product in rational arithmetic (``fractions.Fraction``; square
roots correctly rounded with integer square roots) and rounds once to the record's dtype. ``compare`` then
asks which side is within the record's tolerance of that value.

An oracle returns ``{quantity: array}`` (``out[0]``, ``grad[<leaf>]``) or None where it does not apply (an op
it does not know, a graph of several nodes, non-finite inputs, no degrees of freedom).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

#: (mantissa bits including the implicit one, smallest normal exponent, largest exponent)
_FORMATS = {"float64": (53, -1022, 1023), "float32": (24, -126, 127)}


def _floor_log2(q: Fraction) -> int:
    """``floor(log2(q))`` for ``q > 0``."""
    e = q.numerator.bit_length() - q.denominator.bit_length()
    return e if Fraction(2) ** e <= q else e - 1


def _assemble(mantissa: int, half: int, exponent: int, dtype: str) -> float:
    """``mantissa * 2**exponent`` rounded to nearest-even by ``half`` (the rest compared with one half ulp:
    -1 below, 0 exactly half, 1 above), as a float of ``dtype`` (inf on overflow)."""
    bits, _, emax = _FORMATS[dtype]
    if half > 0 or (half == 0 and mantissa % 2 == 1):
        mantissa += 1
    if mantissa and mantissa.bit_length() + exponent - 1 > emax:
        return math.inf
    return float(np.dtype(dtype).type(math.ldexp(mantissa, exponent)))


def round_rational(q: Fraction, dtype: str) -> float:
    """``q`` correctly rounded (to nearest, ties to even) to ``dtype``, subnormals included."""
    if q == 0:
        return 0.0
    if q < 0:
        return -round_rational(-q, dtype)
    bits, emin, _ = _FORMATS[dtype]
    k = max(_floor_log2(q), emin) - (bits - 1)  # the exponent of one ulp
    scaled = q / Fraction(2) ** k
    m = math.floor(scaled)
    rest = scaled - m
    return _assemble(m, (rest > Fraction(1, 2)) - (rest < Fraction(1, 2)), k, dtype)


def round_sqrt(q: Fraction, dtype: str) -> float:
    """``sqrt(q)`` (``q >= 0``) correctly rounded to ``dtype``: ``floor`` by an integer square root, the rest
    compared with half an ulp exactly (``y`` against ``(m + 1/2)**2``)."""
    if q < 0:
        raise ValueError(f"round_sqrt of a negative number {q}")
    if q == 0:
        return 0.0
    bits, emin, _ = _FORMATS[dtype]
    k = max(_floor_log2(q) // 2, emin) - (bits - 1)
    y = q / Fraction(4) ** k  # sqrt(q) / 2**k == sqrt(y)
    m = math.isqrt(math.floor(y))
    if m * m == y:
        return _assemble(m, -1, k, dtype)
    mid = (Fraction(2 * m + 1, 2)) ** 2
    return _assemble(m, (y > mid) - (y < mid), k, dtype)


def _reduced_axes(attrs: dict[str, Any], ndim: int) -> tuple[int, ...]:
    dim = attrs.get("dim")
    if dim is None or ndim == 0:
        return tuple(range(ndim))
    return tuple(sorted({int(d) % ndim for d in np.atleast_1d(dim)}))


class _Slices:
    """The reduced slices of a one-input reduction: ``moved[idx]`` is the slice of output element ``idx``, and
    ``v[idx]`` its cotangent (None without one); :meth:`results` puts exact values back in the case's layout."""

    def __init__(self, case: dict[str, Any], x: np.ndarray, attrs: dict[str, Any]) -> None:
        from .ir import decode_array

        self.x, self.axes = x, _reduced_axes(attrs, x.ndim)
        keepdim = bool(attrs.get("keepdim", False)) and attrs.get("dim") is not None
        self.n = int(np.prod([x.shape[a] for a in self.axes], dtype=np.int64))
        self.kept = [d for d in range(x.ndim) if d not in self.axes]
        self.moved = np.moveaxis(x, self.kept + list(self.axes), range(x.ndim)).reshape(
            [x.shape[d] for d in self.kept] + [self.n])
        self.out_shape = ([1 if d in self.axes else x.shape[d] for d in range(x.ndim)] if keepdim
                          else [x.shape[d] for d in self.kept])
        self.out = np.empty(self.moved.shape[:-1], dtype=np.float64)
        self.grad = np.empty(self.moved.shape, dtype=np.float64)
        cot = case.get("cotangents") or [None]
        self.v = None if cot[0] is None else decode_array(cot[0]).astype(np.float64).reshape(self.out.shape)

    def results(self, leaf: dict[str, Any], out_dtype: str, grad_dtype: str) -> dict[str, np.ndarray]:
        result = {"out[0]": self.out.reshape(self.out_shape).astype(out_dtype)}
        if self.v is not None and leaf.get("requires_grad"):
            x = self.x
            back = self.grad.reshape([x.shape[d] for d in self.kept] + [x.shape[a] for a in self.axes])
            result[f"grad[{leaf['name']}]"] = np.moveaxis(back, range(x.ndim), self.kept + list(self.axes)).astype(grad_dtype)
        return result


def std_var(case: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """``std``/``var`` over the reduced dims and their VJP, exactly: the mean and the sum of squared deviations
    ``S`` of each slice as fractions; ``var = S / (n - c)``, ``std = sqrt(var)``; the gradient is
    ``2 v (x - mean) / (n - c)`` for var and ``v (x - mean) / sqrt((n - c) S)`` for std, whose square is rational,
    so it too is rounded once. Where a slice has no spread (``S == 0``) std is not differentiable: its gradient is
    0 there, torch's own convention (``torch.ones(3).std()``)."""
    from .ir import decode_array

    nodes = case.get("nodes") or []
    if len(nodes) != 1 or nodes[0]["op"] not in ("std", "var") or case.get("outputs") != ["n0"]:
        return None
    node = nodes[0]
    leaves = {lf["name"]: lf for lf in case["leaves"]}
    leaf = leaves.get(node["inputs"][0])
    if leaf is None:
        return None
    x = decode_array(leaf)
    dtype = str(x.dtype)
    if dtype not in _FORMATS or not np.isfinite(x).all() or x.size == 0:
        return None
    sl = _Slices(case, x, node["attrs"])
    n, moved, out, grad, v_flat = sl.n, sl.moved, sl.out, sl.grad, sl.v
    correction = Fraction(node["attrs"].get("correction", 1))
    dof = n - correction
    if dof <= 0:
        return None
    for idx in np.ndindex(*out.shape):
        values = [Fraction(float(t)) for t in moved[idx]]
        mean = sum(values, Fraction(0)) / n
        dev = [t - mean for t in values]
        s = sum((d * d for d in dev), Fraction(0))
        if node["op"] == "var":
            out[idx] = round_rational(s / dof, dtype)
        else:
            out[idx] = round_sqrt(s / dof, dtype)
        if v_flat is None:
            continue
        g = Fraction(float(v_flat[idx]))
        for j, d in enumerate(dev):
            if node["op"] == "var":
                grad[idx + (j,)] = round_rational(2 * g * d / dof, dtype)
            elif s == 0 or g * d == 0:
                grad[idx + (j,)] = 0.0
            else:
                mag = round_sqrt(g * g * d * d / (dof * s), dtype)
                grad[idx + (j,)] = mag if g * d > 0 else -mag
    return sl.results(leaf, dtype, dtype)


def _decimal_norm(values: list[Any], p: float) -> Any:
    """The ``p``-norm of exact decimals (``p`` finite and > 0)."""
    from decimal import Decimal

    mags = [abs(t) for t in values]
    if p == 1:
        return sum(mags, Decimal(0))
    total = sum((m ** Decimal(repr(p)) for m in mags if m), Decimal(0))
    return total ** (Decimal(1) / Decimal(repr(p))) if total else Decimal(0)


def vector_norm(case: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """``linalg.vector_norm`` / ``linalg.norm`` with a vector ``ord`` over the reduced dims, and its VJP, in
    80-digit decimal arithmetic (the inputs are exact decimals; powers with a fractional exponent are rounded
    far below either dtype's precision): ``||x||_p = (sum |x|^p)^(1/p)``, gradient
    ``v sign(x) |x|^(p-1) / ||x||^(p-1)`` (``v x / ||x||`` for p = 2, ``v sign(x)`` for p = 1), 0 where the
    norm is 0 (torch's convention at the origin). The value is rounded to the output's dtype (``dtype=``
    upcasts it), the gradient to the input's. Inf/0 norms and multi-node cases are not covered (None)."""
    from decimal import Decimal, localcontext

    from .ir import decode_array

    nodes = case.get("nodes") or []
    if len(nodes) != 1 or case.get("outputs") != ["n0"]:
        return None
    node = nodes[0]
    attrs = node["attrs"]
    p = attrs.get("ord", attrs.get("p", 2))
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not math.isfinite(p) or p <= 0:
        return None
    leaf = {lf["name"]: lf for lf in case["leaves"]}.get(node["inputs"][0])
    if leaf is None:
        return None
    x = decode_array(leaf)
    in_dtype = str(x.dtype)
    upcast = attrs.get("dtype")
    out_dtype = str((upcast.get("dtype") if isinstance(upcast, dict) else upcast) or in_dtype)
    if in_dtype not in _FORMATS or out_dtype not in _FORMATS or not np.isfinite(x).all() or x.size == 0:
        return None
    sl = _Slices(case, x, attrs)
    moved, out, grad, v_flat = sl.moved, sl.out, sl.grad, sl.v
    exponent = Decimal(repr(p)) - 1
    with localcontext() as ctx:
        ctx.prec = 80
        for idx in np.ndindex(*out.shape):
            values = [Decimal(float(t)) for t in moved[idx]]
            norm = _decimal_norm(values, p)
            out[idx] = float(np.dtype(out_dtype).type(float(norm)))
            if v_flat is None:
                continue
            g = Decimal(float(v_flat[idx]))
            for j, t in enumerate(values):
                if norm == 0 or t == 0:
                    d = Decimal(0)
                else:
                    d = g * (abs(t) / norm) ** exponent * (1 if t > 0 else -1)
                grad[idx + (j,)] = float(np.dtype(in_dtype).type(float(d)))
    return sl.results(leaf, out_dtype, in_dtype)


#: the exact oracles a known difference can name (``"exact"``)
ORACLES: dict[str, Callable[[dict[str, Any]], dict[str, np.ndarray] | None]] = {"std_var": std_var, "vector_norm": vector_norm}


def exact_values(oracle: str, case: dict[str, Any] | None) -> dict[str, np.ndarray] | None:
    """The named oracle's exact values for ``case`` (None where it does not apply)."""
    if not case:
        return None
    return ORACLES[oracle](case)
