"""The op catalogue: one entry per op, activation, loss, layer, initialiser and optimiser minigrad offers.

The catalogue is data. Strategies read it to draw inputs (``family``, ``domain``, ``attrs``, ``kinks``),
backends read it to call the op (``calls``), oracles read it to decide where finite differences are valid
(``smooth``), compare reads its tolerance class (``tol``), the report reads ``group`` and ``exports``.

Call templates are Python expressions evaluated with ``T`` bound to the library module (``torch`` or
``minigrad``) and ``F`` to its ``nn.functional``. ``{0}``, ``{1}``... are the inputs, ``{*}`` all inputs
comma-separated, ``{name}`` a rendered attribute, ``{name_raw}`` a string attribute pasted as code (see :func:`render_attr`; an attribute ``{"input": k}`` names input ``k``,
which is how optional tensor arguments such as a loss ``weight`` are passed). Because minigrad mirrors torch's
API, one template serves both libraries, and the reproducer script prints the very same line.

Fields of :class:`OpSpec`:

- ``family``: which strategy draws the inputs and the shape-dependent attributes (dims, shapes, indices).
- ``calls``: form name -> template; a case picks one form (function, method, operator, ``F.`` alias).
- ``exports``: the public names this entry covers (``exp``, ``Tensor.exp``, ``nn.functional.relu``);
  the coverage test maps every name minigrad exports to an entry or to :data:`NOT_OPS`.
- ``domain``: value domain per input (names in ``conformance.strategies.values.DOMAINS``).
- ``attrs``: attribute name -> strategy data: ``{"choice": [...]}`` or ``{"float": [lo, hi]}``.
- ``smooth``: ``smooth`` (finite differences valid wherever the local smoothness test passes),
  ``piecewise`` (valid away from the kinks; the local test detects kinks), ``none`` (no FD oracle:
  integer/boolean outputs, random ops).
- ``kinks``: values drawn on purpose: numbers, or attribute names whose value is a kink (clamp's ``min``).
- ``tol``: tolerance class, a row of ``conformance.compare.TOLERANCE_CLASSES``.
- ``grad``: indices of the inputs that require grad (float inputs only).
- ``dag``: usable as a node in random DAGs (defined on all reals, well conditioned).
- ``opinfo``: the entries of torch's OpInfo database whose ``sample_inputs`` run as fixed extra cases
  (``conformance/opinfo.py``), each ``"name"`` (every variant) or ``"name:variant_test_name"``. Default
  (None): the OpInfo called like the entry, else ``nn.functional.<name>`` or
  ``linalg.<name>``; ``()``: none. The call is chosen
  from ``exports`` (function, ``nn.functional``, method, else the in-place method on a clone).
- ``invalid``: error parity (``conformance.strategies.errors``). The invalid categories of an entry follow
  from its family, domain and attrs; this field adds entry-specific invalid statements (category -> Python
  statements using ``T``, ``F`` and ``p``, a float tensor that requires grad) or, with an empty tuple,
  switches a category off (say why in ``notes``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

FLOAT_DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class OpSpec:
    """One catalogue entry (see the module docstring for the meaning of each field)."""

    name: str
    group: str
    family: str
    calls: dict[str, str]
    exports: tuple[str, ...]
    arity: int = 1
    domain: tuple[str, ...] = ("real",)
    attrs: dict[str, Any] = field(default_factory=dict)
    smooth: str = "smooth"
    kinks: tuple[Any, ...] = ()
    tol: str = "elementwise"
    dtypes: tuple[str, ...] = FLOAT_DTYPES
    grad: tuple[int, ...] = (0,)
    dag: bool = False
    notes: str = ""
    opinfo: tuple[str, ...] | None = None
    invalid: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON view (for the report's op table)."""
        return {
            "name": self.name, "group": self.group, "family": self.family, "calls": dict(self.calls),
            "exports": list(self.exports), "arity": self.arity, "domain": list(self.domain),
            "attrs": _json_safe(self.attrs), "smooth": self.smooth, "kinks": [_kink_json(k) for k in self.kinks],
            "tol": self.tol, "dtypes": list(self.dtypes), "grad": list(self.grad), "dag": self.dag,
            "notes": self.notes, "invalid": {k: list(v) for k, v in self.invalid.items()},
        }


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _kink_json(k: Any) -> Any:
    return k if isinstance(k, str) else float(k)


def _fn_method(name: str, fn: str | None = None, extra: str = "") -> dict[str, str]:
    fn = fn or name
    return {"fn": f"T.{fn}({{0}}{extra})", "method": f"{{0}}.{name}({extra.lstrip(', ')})"}


def _exports(name: str, *, fn: bool = True, method: bool = True, functional: bool = False) -> tuple[str, ...]:
    out = []
    if fn:
        out.append(name)
    if method:
        out.append(f"Tensor.{name}")
    if functional:
        out.append(f"nn.functional.{name}")
    return tuple(out)


REDUCTIONS = {"choice": ["mean", "sum", "none"]}
#: torch's deprecated ``size_average`` / ``reduce`` flags (a "legacy" call form; they override ``reduction``)
LEGACY_REDUCTION = {"size_average": {"choice": [None, True, False]}, "reduce": {"choice": [None, True, False]}}
CHOICE = "choice"
#: ``dtype=`` of reductions and softmax: the input's (None) or float64 (an upcast for float32 inputs; a
#: downcast would compare float32 arithmetic at float64 tolerances)
UPCAST = {"choice": [None, {"dtype": "float64"}]}

_ENTRIES: list[OpSpec] = []


def _add(spec: OpSpec) -> None:
    _ENTRIES.append(spec)


_ALIASES: dict[str, tuple[str, ...]] = {
    "div": ("divide", "true_divide", "Tensor.divide", "Tensor.true_divide"),
    "mul": ("multiply", "Tensor.multiply"), "sub": ("subtract", "Tensor.subtract"),
    "gt": ("greater", "Tensor.greater"), "ge": ("greater_equal", "Tensor.greater_equal"),
    "lt": ("less", "Tensor.less"), "le": ("less_equal", "Tensor.less_equal"),
    "ne": ("not_equal", "Tensor.not_equal"),
}



def _alias_calls(name: str, kw: str = "") -> dict[str, str]:
    """One call form per alias of ``name`` (``greater_equal``, ``Tensor.subtract``, ...): every exported
    name is called, not only the canonical one. ``true_divide`` takes no ``rounding_mode`` in torch."""
    out = {}
    for alias in _ALIASES.get(name, ()):
        tail = "" if alias.endswith("true_divide") else kw
        if alias.startswith("Tensor."):
            out[alias] = f"{{0}}.{alias[len('Tensor.'):]}({{1}}{tail})"
        else:
            out[alias] = f"T.{alias}({{0}}, {{1}}{tail})"
    return out


# ---- arithmetic ------------------------------------------------------------------------------
#: keyword arguments of the function and method forms: add/sub scale the other operand by ``alpha``;
#: div's ``rounding_mode`` rounds the quotient (piecewise constant: gradient 0 in torch)
_ARITH_KWARGS: dict[str, tuple[dict[str, Any], str, str, str]] = {
    # name: (attrs, keyword tail, smoothness, notes)
    "add": ({"alpha": {CHOICE: [1, 2.0, -0.5]}}, ", alpha={alpha}", "smooth", ""),
    "sub": ({"alpha": {CHOICE: [1, 2.0, -0.5]}}, ", alpha={alpha}", "smooth", ""),
    "div": ({"rounding_mode": {CHOICE: [None, "trunc", "floor"]}}, ", rounding_mode={rounding_mode}", "piecewise",
            "rounding_mode 'trunc'/'floor': forward rounded, gradient 0 for both inputs (torch)"),
}
for _name, _sym, _dom, _tol in [
    ("add", "+", ("real", "real"), "elementwise"),
    ("sub", "-", ("real", "real"), "elementwise"),
    ("mul", "*", ("real", "real"), "elementwise"),
    ("div", "/", ("real", "nonzero"), "elementwise"),
]:
    _kw_attrs, _kw, _sm, _nt = _ARITH_KWARGS.get(_name, ({}, "", "smooth", ""))
    _add(OpSpec(
        _name, "arithmetic", "binary", arity=2, domain=_dom, grad=(0, 1), tol=_tol, dag=_name != "div",
        attrs=_kw_attrs, smooth=_sm, notes=_nt,
        calls={"op": f"({{0}} {_sym} {{1}})", "fn": f"T.{_name}({{0}}, {{1}}{_kw})",
               "method": f"{{0}}.{_name}({{1}}{_kw})", **_alias_calls(_name, _kw)},
        exports=(_name, f"Tensor.{_name}", f"Tensor.__{_name if _name != 'div' else 'truediv'}__")
        + _ALIASES.get(_name, ()),
    ))
_add(OpSpec(
    "pow", "arithmetic", "binary", arity=2, domain=("positive", "real"), grad=(0, 1), tol="transcendental",
    calls={"op": "({0} ** {1})", "fn": "T.pow({0}, {1})", "method": "{0}.pow({1})"},
    exports=("pow", "Tensor.pow", "Tensor.__pow__"),
    notes="tensor ** tensor; base > 0 so the exponent's gradient log(base) is finite",
))
_add(OpSpec(
    "pow_scalar", "arithmetic", "pow_scalar", domain=("real",), smooth="piecewise", kinks=(0.0,),
    attrs={"exponent": {CHOICE: [2, 3, 0, 1, -1, 0.5, 2.5, -0.5, 2.0]}}, tol="transcendental", dag=False,
    calls={"op": "({0} ** {exponent})", "fn": "T.pow({0}, {exponent})", "method": "{0}.pow({exponent})"},
    exports=(), notes="tensor ** python number; non-integer exponents draw base >= 0, including 0",
    opinfo=(),  # the pow entry runs torch's pow samples
))
_add(OpSpec(
    "scalar_arith", "arithmetic", "scalar_arith", smooth="smooth",
    attrs={"sym": {CHOICE: ["+", "-", "*", "/", "**"]}, "c": {CHOICE: [2.0, -1.5, 0.5, 3, 1e-3]}},
    calls={"right": "({0} {sym_raw} {c})", "left": "({c} {sym_raw} {0})"},
    exports=("Tensor.__radd__", "Tensor.__rsub__", "Tensor.__rmul__", "Tensor.__rtruediv__", "Tensor.__rpow__"),
    notes="tensor with a Python scalar on either side; a float32 tensor must stay float32",
    opinfo=("__radd__", "__rsub__", "__rmul__", "__rpow__"),
))
_add(OpSpec(
    "neg", "arithmetic", "unary", calls={"fn": "T.neg({0})", "method": "{0}.neg()", "op": "(-{0})"},
    exports=("neg", "negative", "Tensor.neg", "Tensor.__neg__", "Tensor.negative"), dag=True,
))

# ---- comparisons (no grad) ---------------------------------------------------------------------
for _name, _sym in [("eq", "=="), ("ne", "!="), ("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">=")]:
    _add(OpSpec(
        _name, "comparison", "binary", arity=2, domain=("real", "real"), grad=(), smooth="none", tol="exact",
        calls={"op": f"({{0}} {_sym} {{1}})", "fn": f"T.{_name}({{0}}, {{1}})", "method": f"{{0}}.{_name}({{1}})",
               **_alias_calls(_name)},
        exports=(_name, f"Tensor.{_name}", f"Tensor.__{_name}__") + _ALIASES.get(_name, ()),
        notes="boolean output, exact ties drawn",
    ))

for _name in ("isnan", "isinf", "isfinite"):
    _add(OpSpec(
        _name, "comparison", "unary", domain=("nonfinite",), grad=(), smooth="none", tol="exact",
        calls=_fn_method(_name), exports=_exports(_name), notes="boolean output; nan, inf and -inf drawn",
    ))
_add(OpSpec(
    "allclose", "comparison", "binary", arity=2, domain=("nonfinite", "nonfinite"), grad=(), smooth="none",
    tol="exact", attrs={"rtol": {CHOICE: [1e-5, 0.5]}, "atol": {CHOICE: [1e-8, 1.0]},
                        "equal_nan": {CHOICE: [False, True]}},
    calls={"fn": "T.allclose({0}, {1}, rtol={rtol}, atol={atol}, equal_nan={equal_nan})",
           "method": "{0}.allclose({1}, rtol={rtol}, atol={atol}, equal_nan={equal_nan})"},
    exports=_exports("allclose"), notes="a Python bool; exact ties planted, so True comes up too",
    opinfo=(),  # the OpInfo runner compares tensor results only
))
_add(OpSpec(
    "equal", "comparison", "binary", arity=2, domain=("grid", "grid"), grad=(), smooth="none", tol="exact",
    calls={"fn": "T.equal({0}, {1})", "method": "{0}.equal({1})"}, exports=_exports("equal"),
    notes="a Python bool: same shape and same values (broadcastable shapes are not equal)",
    opinfo=(),  # the OpInfo runner compares tensor results only
))

# ---- unary elementwise -------------------------------------------------------------------------
_UNARY: list[tuple[str, str, str, tuple[Any, ...], str, bool]] = [
    # name, domain, smooth, kinks, tol, dag
    ("abs", "real", "piecewise", (0.0,), "elementwise", True),
    ("sign", "real", "piecewise", (0.0,), "exact", False),
    ("exp", "real", "smooth", (), "transcendental", True),
    ("exp2", "real", "smooth", (), "transcendental", False),
    ("expm1", "real", "smooth", (), "transcendental", False),
    ("log", "positive0", "smooth", (0.0, 1.0), "transcendental", False),
    ("log2", "positive0", "smooth", (0.0, 1.0), "transcendental", False),
    ("log10", "positive0", "smooth", (0.0, 1.0), "transcendental", False),
    ("log1p", "gt_minus1", "smooth", (-1.0, 0.0), "transcendental", False),
    ("sqrt", "nonneg", "smooth", (0.0,), "transcendental", False),
    ("rsqrt", "positive0", "smooth", (0.0,), "transcendental", False),
    ("sin", "real", "smooth", (), "transcendental", True),
    ("cos", "real", "smooth", (), "transcendental", True),
    ("tan", "tan", "smooth", (), "transcendental", False),
    ("tanh", "real", "smooth", (), "transcendental", True),
    ("sigmoid", "real", "smooth", (), "transcendental", True),
    ("relu", "real", "piecewise", (0.0,), "elementwise", True),
    ("reciprocal", "nonzero0", "smooth", (0.0,), "elementwise", False),
    ("square", "real", "smooth", (), "elementwise", True),
    ("erf", "real", "smooth", (), "transcendental", True),
]
for _name, _dom, _smooth, _kinks, _tol, _dag in _UNARY:
    _functional = _name in ("relu", "sigmoid", "tanh")
    _calls = _fn_method(_name)
    if _functional:
        _calls["F"] = f"F.{_name}({{0}})"
    _add(OpSpec(
        _name, "elementwise", "unary", domain=(_dom,), smooth=_smooth, kinks=_kinks, tol=_tol, dag=_dag,
        calls=_calls, exports=_exports(_name, functional=_functional)
        + (("Tensor.__abs__", "absolute") if _name == "abs" else ()),
    ))
_add(OpSpec(
    "clamp", "elementwise", "clamp", smooth="piecewise", kinks=("min", "max"), dag=True, grad=(0, 1, 2),
    attrs={"min": {CHOICE: [None, -1.0, 0.0, -0.5, "tensor"]}, "max": {CHOICE: [None, 1.0, 0.5, 2.0, "tensor"]}},
    calls={"fn": "T.clamp({0}, min={min}, max={max})", "method": "{0}.clamp(min={min}, max={max})",
           "clip": "T.clip({0}, min={min}, max={max})", "clip_method": "{0}.clip(min={min}, max={max})",
           "clamp_min": "T.clamp_min({0}, {min_or_max})", "clamp_max": "T.clamp_max({0}, {min_or_max})",
           "clamp_min_method": "{0}.clamp_min({min_or_max})", "clamp_max_method": "{0}.clamp_max({min_or_max})"},
    exports=("clamp", "clip", "Tensor.clamp", "Tensor.clip", "clamp_min", "clamp_max", "Tensor.clamp_min",
             "Tensor.clamp_max"),
    notes="gradient 1 on the closed interval [min, max] (torch); a \"tensor\" bound is an input broadcast "
          "to x, with ties to x planted",
))
for _name in ("maximum", "minimum"):
    _add(OpSpec(
        _name, "elementwise", "binary", arity=2, domain=("real", "real"), grad=(0, 1), smooth="piecewise",
        kinks=("tie",), dag=True, calls={"fn": f"T.{_name}({{0}}, {{1}})", "method": f"{{0}}.{_name}({{1}})",
                                         "other": f"T.{_name[:3]}({{0}}, other={{1}})",
                                         "other_method": f"{{0}}.{_name[:3]}(other={{1}})"},
        exports=_exports(_name), notes="on a tie each input gets half of the gradient (torch)",
    ))
_add(OpSpec(
    "where", "elementwise", "where", arity=3, domain=("bool", "real", "real"), grad=(1, 2), dag=False,
    calls={"fn": "T.where({0}, {1}, {2})", "method": "{1}.where({0}, {2})"}, exports=("where", "Tensor.where"),
))

# ---- activations (nn.functional) --------------------------------------------------------------
_add(OpSpec(
    "leaky_relu", "activation", "unary", smooth="piecewise", kinks=(0.0,), dag=True,
    attrs={"negative_slope": {CHOICE: [0.01, 0.2, 0.0, 1.5]}},
    calls={"F": "F.leaky_relu({0}, negative_slope={negative_slope})"}, exports=("nn.functional.leaky_relu",),
    notes="gradient at 0 is negative_slope (torch)",
))
_add(OpSpec(
    "elu", "activation", "unary", smooth="piecewise", kinks=(0.0,), tol="transcendental",
    attrs={"alpha": {CHOICE: [1.0, 0.5, 2.0]}}, calls={"F": "F.elu({0}, alpha={alpha})"},
    exports=("nn.functional.elu",), notes="gradient at 0 is alpha (torch uses the x <= 0 branch)",
))
_add(OpSpec(
    "gelu", "activation", "unary", tol="transcendental", dag=True,
    attrs={"approximate": {CHOICE: ["none", "tanh"]}}, calls={"F": "F.gelu({0}, approximate={approximate})"},
    exports=("nn.functional.gelu",),
))
_add(OpSpec(
    "silu", "activation", "unary", tol="transcendental", dag=True, calls={"F": "F.silu({0})"},
    exports=("nn.functional.silu",),
))
_add(OpSpec(
    "softplus", "activation", "unary", tol="transcendental", smooth="piecewise", kinks=("threshold/beta",),
    dag=True, attrs={"beta": {CHOICE: [1.0, 2.0, 0.5]}, "threshold": {CHOICE: [20.0, 1.0, 5.0]}},
    calls={"F": "F.softplus({0}, beta={beta}, threshold={threshold})"}, exports=("nn.functional.softplus",),
    notes="linear where beta * x > threshold",
))
_add(OpSpec(
    "hardtanh", "activation", "clamp", smooth="piecewise", kinks=("min_val", "max_val"), dag=True,
    attrs={"min_val": {CHOICE: [-1.0, -2.0, 0.0]}, "max_val": {CHOICE: [1.0, 0.5, 2.0]}},
    calls={"F": "F.hardtanh({0}, min_val={min_val}, max_val={max_val})"}, exports=("nn.functional.hardtanh",),
    notes="gradient 0 at the boundaries (torch), unlike clamp",
))
_add(OpSpec(
    "relu6", "activation", "unary", smooth="piecewise", kinks=(0.0, 6.0), calls={"F": "F.relu6({0})"},
    exports=("nn.functional.relu6",), notes="gradient 0 at 0 and at 6 (torch)",
))
for _name in ("softmax", "log_softmax"):
    _add(OpSpec(
        _name, "softmax", "softmax", domain=("real_neginf",), tol="softmax", dag=True,
        attrs={"dtype": UPCAST},
        calls={"fn": f"T.{_name}({{0}}, dim={{dim}}, dtype={{dtype}})", "method": f"{{0}}.{_name}(dim={{dim}}, dtype={{dtype}})",
               "F": f"F.{_name}({{0}}, dim={{dim}}, dtype={{dtype}})",
               "F_implicit_dim": f"F.{_name}({{0}}, dtype={{dtype}})"},
        exports=_exports(_name, functional=True),
        notes="stable for |x| = 1e4; -inf entries are masking; F_implicit_dim: torch's deprecated implicit dim",
    ))
_add(OpSpec(
    "dropout", "activation", "dropout", smooth="none", tol="exact",
    attrs={"p": {CHOICE: [0.0, 0.5, 1.0]}, "training": {CHOICE: [True, False]}},
    calls={"F": "F.dropout({0}, p={p}, training={training})"}, exports=("nn.functional.dropout",),
    notes="compared where deterministic (p in {0, 1} or training=False); 0 < p < 1 is checked as a property",
    opinfo=(),  # torch's samples draw 0 < p < 1: random, checked as a property instead
))
_add(OpSpec(
    "one_hot", "activation", "one_hot", domain=("index",), grad=(), smooth="none", tol="exact",
    dtypes=("int64",), calls={"F": "F.one_hot({0}, num_classes={num_classes})"},
    exports=("nn.functional.one_hot",),
))

# ---- reductions ----------------------------------------------------------------------------------
_RED: list[tuple[str, str, str, str, tuple[Any, ...], str]] = [
    # name, dim kind, smooth, tol, kinks, extra kwargs template
    ("sum", "optional-tuple", "smooth", "reduction", (), ", dtype={dtype}"),
    ("mean", "optional-tuple", "smooth", "reduction", (), ", dtype={dtype}"),
    ("var", "optional-tuple", "smooth", "reduction", (), ", correction={correction}"),
    ("std", "optional-tuple", "piecewise", "reduction", (), ", correction={correction}"),
    ("prod", "optional-int", "smooth", "reduction", (0.0,), ", dtype={dtype}"),
    ("amax", "optional-tuple", "piecewise", "reduction", ("tie",), ""),
    ("amin", "optional-tuple", "piecewise", "reduction", ("tie",), ""),
    ("logsumexp", "int", "smooth", "reduction", (), ""),
    ("cumsum", "int-nokeep", "smooth", "reduction", (), ", dtype={dtype}"),
]
#: var/std also take the older ``unbiased`` flag instead of ``correction``
_UNBIASED = {"unbiased": {CHOICE: [True, False]}}
for _name, _dk, _sm, _tl, _kk, _extra in _RED:
    _attrs: dict[str, Any] = {"correction": {CHOICE: [1, 0]}, **_UNBIASED} if "correction" in _extra else {}
    if "dtype" in _extra:
        _attrs["dtype"] = UPCAST
    _dom = "real_neginf" if _name == "logsumexp" else "real"
    _forms = {"fn": f"T.{_name}({{0}}{{dimargs}}{_extra})", "method": f"{{0}}.{_name}({{dimargs_m}}{_extra})"}
    if "correction" in _extra:
        _forms["unbiased"] = f"T.{_name}({{0}}{{dimargs}}, unbiased={{unbiased}})"
    _add(OpSpec(
        _name, "reduction", "reduce", domain=(_dom,), smooth=_sm, tol=_tl, kinks=_kk, attrs={"dims": _dk, **_attrs},
        dag=_name in ("sum", "mean", "amax", "logsumexp"),
        calls=_forms,
        exports=_exports(_name),
        notes={"prod": "gradient with one and with several zeros", "amax": "ties split evenly (torch)",
               "amin": "ties split evenly (torch)", "std": "std of identical values has an infinite slope",
               "logsumexp": "all -inf gives nan (torch)"}.get(_name, ""),
    ))
for _name in ("max", "min"):
    _add(OpSpec(
        _name, "reduction", "reduce", smooth="piecewise", kinks=("tie",), tol="reduction",
        attrs={"dims": "full"}, calls={"fn": f"T.{_name}({{0}})", "method": f"{{0}}.{_name}()"},
        exports=_exports(_name), notes="full reduction: ties split evenly among the tied elements (torch)",
        opinfo=(f"{_name}:reduction_no_dim", f"{_name}:binary"),
    ))
    _add(OpSpec(
        f"{_name}_dim", "reduction", "reduce", smooth="piecewise", kinks=("tie",), tol="reduction",
        attrs={"dims": "int", "item": {CHOICE: [0, 1]}},
        calls={"fn": f"T.{_name}({{0}}, dim={{dim}}, keepdim={{keepdim}})[{{item}}]",
               "method": f"{{0}}.{_name}(dim={{dim}}, keepdim={{keepdim}})[{{item}}]"},
        exports=(), notes="values and indices; the whole gradient goes to the returned (first) index",
        opinfo=(f"{_name}:reduction_with_dim",),
    ))
for _name in ("argmax", "argmin"):
    _add(OpSpec(
        _name, "reduction", "reduce", smooth="none", grad=(), tol="exact", kinks=("tie",),
        attrs={"dims": "optional-int"}, calls={"fn": f"T.{_name}({{0}}{{dimargs}})",
                                               "method": f"{{0}}.{_name}({{dimargs_m}})"},
        exports=_exports(_name), notes="first index among ties",
    ))
_add(OpSpec(
    "vector_norm", "reduction", "reduce", smooth="piecewise", kinks=(0.0, "tie"), tol="reduction",
    attrs={"dims": "optional-tuple", "ord": {CHOICE: [2, 1, math.inf, 3, -math.inf, 0.5]}, "dtype": UPCAST},
    calls={"fn": "T.linalg.vector_norm({0}, ord={ord}{dimargs}, dtype={dtype})",
           "default_ord": "T.linalg.vector_norm({0}{dimargs}, dtype={dtype})"},
    exports=("linalg.vector_norm",),
    notes="gradient 0 at the zero vector (torch); inf-norms split the gradient among tied |x| (no FD at ties)",
))
_add(OpSpec(
    "norm", "reduction", "reduce", smooth="piecewise", kinks=(0.0,), tol="reduction",
    attrs={"dims": "optional-tuple", "p": {CHOICE: [2, 1]}, "dtype": UPCAST},
    calls={"fn": "T.norm({0}, p={p}{dimargs}, dtype={dtype})", "method": "{0}.norm(p={p}{dimargs}, dtype={dtype})"},
    exports=("norm", "Tensor.norm"),
))

# ---- shape and indexing ---------------------------------------------------------------------------
_SHAPE = [
    # ``x.reshape_as(y)``: y is x reshaped (detached), so the target shape is the drawn one
    ("reshape", "reshape", {"fn": "T.reshape({0}, {shape})", "method": "{0}.reshape({shape})",
                            "reshape_as": "{0}.reshape_as({0}.detach().reshape({shape}))"}),
    ("view", "reshape", {"method": "{0}.view({shape})", "view_as": "{0}.view_as({0}.detach().reshape({shape}))"}),
    ("flatten", "flatten", {"fn": "T.flatten({0}, start_dim={start_dim}, end_dim={end_dim})",
                            "method": "{0}.flatten(start_dim={start_dim}, end_dim={end_dim})"}),
    ("squeeze", "squeeze", {"fn": "T.squeeze({0}{dimargs})", "method": "{0}.squeeze({dimargs_m})"}),
    ("unsqueeze", "unsqueeze", {"fn": "T.unsqueeze({0}, {dim})", "method": "{0}.unsqueeze({dim})"}),
    ("transpose", "transpose", {"fn": "T.transpose({0}, {dim0}, {dim1})",
                                "method": "{0}.transpose({dim0}, {dim1})",
                                "swapaxes": "T.swapaxes({0}, {dim0}, {dim1})",
                                "swapaxes_method": "{0}.swapaxes({dim0}, {dim1})",
                                "swapdims": "T.swapdims({0}, {dim0}, {dim1})",
                                "swapdims_method": "{0}.swapdims({dim0}, {dim1})"}),
    ("flip", "flip", {"fn": "T.flip({0}, {dims})", "method": "{0}.flip({dims})"}),
    ("narrow", "narrow", {"fn": "T.narrow({0}, {dim}, {start}, {length})",
                          "method": "{0}.narrow({dim}, {start}, {length})"}),
    ("repeat", "repeat", {"method": "{0}.repeat({sizes})"}),
    ("unflatten", "unflatten", {"fn": "T.unflatten({0}, {dim}, {sizes})", "method": "{0}.unflatten({dim}, {sizes})"}),
    ("permute", "permute", {"fn": "T.permute({0}, {dims})", "method": "{0}.permute({dims})"}),
    ("expand", "expand", {"method": "{0}.expand({shape})", "expand_as": "{0}.expand_as({0}.detach().expand({shape}))"}),
    ("broadcast_to", "expand", {"fn": "T.broadcast_to({0}, {shape})", "method": "{0}.broadcast_to({shape})"}),
    ("t", "t", {"fn": "T.t({0})", "method": "{0}.t()", "T": "{0}.T"}),
]
for _name, _fam, _calls in _SHAPE:
    _add(OpSpec(
        _name, "shape", _fam, tol="movement", calls=_calls,
        exports=_exports(_name, fn="fn" in _calls) + (("swapaxes", "swapdims", "Tensor.swapaxes", "Tensor.swapdims")
                                                      if _name == "transpose" else ())
        + tuple(f"Tensor.{form}" for form in _calls if form.endswith("_as") or form == "T"),
        dag=_name in ("reshape", "transpose", "unsqueeze", "expand"),
    ))
_add(OpSpec(
    "cat", "shape", "cat", arity=-1, tol="movement", grad=(0, 1, 2), dag=True,
    calls={"fn": "T.cat([{*}], dim={dim})", "concat": "T.concat([{*}], dim={dim})",
           "concatenate": "T.concatenate([{*}], dim={dim})", "mixed_dtypes": "T.cat([{*}, {0}.double()], dim={dim})"},
    exports=("cat", "concat", "concatenate"), notes="mixed_dtypes: a float64 copy of input 0 joins (float32 cases promote)",
))
_add(OpSpec(
    "stack", "shape", "cat", arity=-1, tol="movement", grad=(0, 1, 2),
    calls={"fn": "T.stack([{*}], dim={dim})", "mixed_dtypes": "T.stack([{*}, {0}.double()], dim={dim})"},
    exports=("stack",), notes="mixed_dtypes: a float64 copy of input 0 joins (float32 cases promote)",
))
_add(OpSpec(
    "split", "shape", "split", tol="movement",
    calls={"fn": "T.split({0}, {split}, dim={dim})[{item}]", "method": "{0}.split({split}, dim={dim})[{item}]"},
    exports=_exports("split"), notes="one piece per case (attr item); sizes int or list",
))
_add(OpSpec(
    "chunk", "shape", "split", tol="movement",
    calls={"fn": "T.chunk({0}, {chunks}, dim={dim})[{item}]", "method": "{0}.chunk({chunks}, dim={dim})[{item}]"},
    exports=_exports("chunk"),
))
_add(OpSpec(
    "gather", "indexing", "gather", arity=2, domain=("real", "index"), tol="movement",
    calls={"fn": "T.gather({0}, {dim}, {1})", "method": "{0}.gather({dim}, {1})"}, exports=_exports("gather"),
    notes="repeated indices accumulate",
))
_add(OpSpec(
    "index_select", "indexing", "index_select", arity=2, domain=("real", "index"), tol="movement",
    calls={"fn": "T.index_select({0}, {dim}, {1})", "method": "{0}.index_select({dim}, {1})"},
    exports=_exports("index_select"), notes="repeated indices accumulate",
))
_add(OpSpec(
    "getitem", "indexing", "getitem", tol="movement", dag=True, calls={"op": "{0}[{index}]"},
    exports=("Tensor.__getitem__",), notes="slices, ints, None, Ellipsis, int tensors (repeats), bool masks",
    opinfo=("__getitem__",),
))

# ---- linear algebra --------------------------------------------------------------------------------
for _name, _calls, _ex in [
    ("matmul", {"op": "({0} @ {1})", "fn": "T.matmul({0}, {1})", "method": "{0}.matmul({1})"},
     ("matmul", "Tensor.matmul", "Tensor.__matmul__", "Tensor.__rmatmul__")),
    ("mm", {"fn": "T.mm({0}, {1})", "method": "{0}.mm({1})"}, _exports("mm")),
    ("bmm", {"fn": "T.bmm({0}, {1})", "method": "{0}.bmm({1})"}, _exports("bmm")),
    ("mv", {"fn": "T.mv({0}, {1})", "method": "{0}.mv({1})"}, _exports("mv")),
    ("dot", {"fn": "T.dot({0}, {1})", "method": "{0}.dot({1})"}, _exports("dot")),
    ("outer", {"fn": "T.outer({0}, {1})", "method": "{0}.outer({1})", "ger": "T.ger({0}, {1})",
               "ger_method": "{0}.ger({1})"}, _exports("outer") + ("ger", "Tensor.ger")),
]:
    _add(OpSpec(_name, "linalg", "matmul", arity=2, domain=("real", "real"), grad=(0, 1), tol="matmul",
                calls=_calls, exports=_ex, dag=_name == "matmul"))
_add(OpSpec(
    "linear", "linalg", "matmul", arity=-1, domain=("real", "real", "real"), grad=(0, 1, 2), tol="matmul",
    calls={"F": "F.linear({*})"}, exports=("nn.functional.linear",), notes="weight (out, in), optional bias",
))

# ---- losses ----------------------------------------------------------------------------------------------
_add(OpSpec(
    "mse_loss", "loss", "loss_pointwise", arity=-1, domain=("real", "real", "positive"), grad=(0, 1), tol="loss", kinks=("tie",),
    attrs={"reduction": REDUCTIONS, **LEGACY_REDUCTION},
    calls={"F": "F.mse_loss({0}, {1}, reduction={reduction}, weight={w})",
           "legacy": "F.mse_loss({0}, {1}, size_average={size_average}, reduce={reduce})"},
    exports=("nn.functional.mse_loss",),
))
_add(OpSpec(
    "l1_loss", "loss", "loss_pointwise", arity=-1, domain=("real", "real", "positive"), grad=(0, 1), tol="loss", smooth="piecewise", kinks=("tie",),
    attrs={"reduction": REDUCTIONS}, calls={"F": "F.l1_loss({0}, {1}, reduction={reduction}, weight={w})"},
    exports=("nn.functional.l1_loss",), notes="gradient 0 where input == target",
))
_add(OpSpec(
    "huber_loss", "loss", "loss_pointwise", arity=-1, domain=("real", "real", "positive"), grad=(0, 1), tol="loss", smooth="piecewise",
    kinks=("tie", "delta"), attrs={"reduction": REDUCTIONS, "delta": {CHOICE: [1.0, 0.5, 2.0]}},
    calls={"F": "F.huber_loss({0}, {1}, reduction={reduction}, delta={delta}, weight={w})"},
    exports=("nn.functional.huber_loss",), notes="at |d| = delta the gradient is delta * sign(d)",
))
_add(OpSpec(
    "smooth_l1_loss", "loss", "loss_pointwise", arity=2, grad=(0, 1), tol="loss", smooth="piecewise",
    kinks=("tie", "beta"), attrs={"reduction": REDUCTIONS, "beta": {CHOICE: [1.0, 0.5, 2.0, 0.0]}},
    calls={"F": "F.smooth_l1_loss({0}, {1}, reduction={reduction}, beta={beta})"},
    exports=("nn.functional.smooth_l1_loss",),
))
_add(OpSpec(
    "hinge_embedding_loss", "loss", "loss_pointwise", arity=2, domain=("real", "sign"), grad=(0,), tol="loss",
    smooth="piecewise", kinks=("margin",), attrs={"reduction": REDUCTIONS, "margin": {CHOICE: [1.0, 0.5, 2.0]}},
    calls={"F": "F.hinge_embedding_loss({0}, {1}, margin={margin}, reduction={reduction})"},
    exports=("nn.functional.hinge_embedding_loss",),
))
_add(OpSpec(
    "binary_cross_entropy", "loss", "loss_pointwise", arity=-1, domain=("prob", "prob", "positive"),
    grad=(0, 1), tol="loss", kinks=(0.0, 1.0), attrs={"reduction": REDUCTIONS},
    calls={"F": "F.binary_cross_entropy({0}, {1}, weight={w}, reduction={reduction})"},
    exports=("nn.functional.binary_cross_entropy",),
    notes="log clamped at -100; gradient denominator clamped at 1e-12 (torch)",
))
_add(OpSpec(
    "binary_cross_entropy_with_logits", "loss", "loss_pointwise", arity=-1,
    domain=("real_large", "prob", "positive", "positive"), grad=(0, 1), tol="loss", attrs={"reduction": REDUCTIONS},
    calls={"F": "F.binary_cross_entropy_with_logits({0}, {1}, weight={w}, pos_weight={pw}, reduction={reduction})"},
    exports=("nn.functional.binary_cross_entropy_with_logits",), notes="stable for logits of magnitude 1e4",
))
_add(OpSpec(
    "cross_entropy", "loss", "loss_class", arity=-1, domain=("real_large", "index", "positive"), grad=(0,),
    tol="loss", attrs={"reduction": REDUCTIONS, "label_smoothing": {CHOICE: [0.0, 0.1, 0.3]}},
    calls={"F": "F.cross_entropy({0}, {1}, weight={w}, ignore_index={ignore_index}, reduction={reduction}, "
                "label_smoothing={label_smoothing})"},
    exports=("nn.functional.cross_entropy",), notes="class indices or probabilities; weight; ignore_index",
))
_add(OpSpec(
    "nll_loss", "loss", "loss_class", arity=-1, domain=("real", "index", "positive"), grad=(0,), tol="loss",
    attrs={"reduction": REDUCTIONS, **LEGACY_REDUCTION},
    calls={"F": "F.nll_loss({0}, {1}, weight={w}, ignore_index={ignore_index}, reduction={reduction})",
           "legacy": "F.nll_loss({0}, {1}, weight={w}, size_average={size_average}, ignore_index={ignore_index}, "
                     "reduce={reduce})"},
    exports=("nn.functional.nll_loss",),
))
_add(OpSpec(
    "multi_margin_loss", "loss", "loss_class", arity=-1, domain=("real", "index", "positive"), grad=(0,),
    tol="loss", smooth="piecewise", kinks=("margin",),
    attrs={"reduction": REDUCTIONS, "p": {CHOICE: [1, 2]}, "margin": {CHOICE: [1.0, 0.5]}},
    calls={"F": "F.multi_margin_loss({0}, {1}, p={p}, margin={margin}, weight={w}, reduction={reduction})"},
    exports=("nn.functional.multi_margin_loss",),
))

# ---- more elementwise, logical and integer ops ----------------------------------------------------
for _name in ("ceil", "floor", "round"):
    _add(OpSpec(_name, "elementwise", "unary", smooth="piecewise", kinks=(0.5, -0.5, 1.0, 2.5, -1.5), tol="exact",
                calls=_fn_method(_name), exports=_exports(_name),
                notes="zero gradient; round half to even" if _name == "round" else "zero gradient"))
_add(OpSpec("positive", "arithmetic", "unary", calls={"op": "(+{0})"}, tol="exact", exports=("Tensor.__pos__",),
            notes="operator form only (minigrad has no torch.positive)", opinfo=()))
_add(OpSpec(
    "remainder", "arithmetic", "binary", arity=2, domain=("real", "nonzero"), grad=(0, 1), smooth="piecewise",
    calls={"op": "({0} % {1})", "fn": "T.remainder({0}, {1})", "method": "{0}.remainder({1})"},
    exports=("remainder", "Tensor.remainder", "Tensor.__mod__", "Tensor.__rmod__"),
    notes="sign of the divisor; d/dy = -floor(x / y)",
))
_add(OpSpec(
    "floor_divide", "arithmetic", "binary", arity=2, domain=("real", "nonzero"), grad=(), smooth="none",
    tol="exact", attrs={"c": {CHOICE: [2.5, -1.5]}}, calls={"op": "({0} // {1})", "scalar_left": "({c} // {1})"},
    exports=("Tensor.__floordiv__", "Tensor.__rfloordiv__"),
    notes="operator form only; not differentiable in torch", opinfo=(),
))
for _name in ("logical_and", "logical_or", "logical_xor"):
    _add(OpSpec(_name, "logical", "binary", arity=2, domain=("grid", "grid"), grad=(), smooth="none", tol="exact",
                calls={"fn": f"T.{_name}({{0}}, {{1}})", "method": f"{{0}}.{_name}({{1}})"}, exports=_exports(_name)))
_add(OpSpec("logical_not", "logical", "unary", domain=("grid",), grad=(), smooth="none", tol="exact",
            calls=_fn_method("logical_not"), exports=_exports("logical_not")))
for _name, _sym in (("bitwise_and", "&"), ("bitwise_or", "|"), ("bitwise_xor", "^")):
    _add(OpSpec(_name, "logical", "int_binary", arity=2, domain=("int", "int"), grad=(), smooth="none",
                tol="exact", dtypes=("int64", "bool"),
                calls={"op": f"({{0}} {_sym} {{1}})", "fn": f"T.{_name}({{0}}, {{1}})", "method": f"{{0}}.{_name}({{1}})"},
                exports=_exports(_name) + (f"Tensor.__{_name[8:]}__",)))
_add(OpSpec("bitwise_not", "logical", "int_binary", domain=("int",), grad=(), smooth="none", tol="exact",
            dtypes=("int64", "bool"), calls={"op": "(~{0})", "fn": "T.bitwise_not({0})", "method": "{0}.bitwise_not()"},
            exports=_exports("bitwise_not") + ("Tensor.__invert__",)))
_add(OpSpec("nonzero", "indexing", "unary", domain=("grid",), grad=(), smooth="none", tol="exact",
            calls={**_fn_method("nonzero"), "as_tuple": "T.stack(T.nonzero({0}, as_tuple=True))"},
            exports=_exports("nonzero"), notes="int64 (n, ndim) indices; as_tuple: one index tensor per dim"))
_add(OpSpec("masked_fill", "indexing", "masked_fill", arity=2, domain=("real", "bool"), tol="movement",
            attrs={"value": {CHOICE: [0.0, -1.5, float("-inf"), 2.0]}},
            calls={"fn": "T.masked_fill({0}, {1}, {value})", "method": "{0}.masked_fill({1}, {value})"},
            exports=_exports("masked_fill"), notes="mask broadcast to the input; -inf fill is attention masking"))
_add(OpSpec("unbind", "shape", "split", tol="movement",
            calls={"fn": "T.unbind({0}, dim={dim})[{item}]", "method": "{0}.unbind({dim})[{item}]"},
            exports=_exports("unbind")))
for _name in ("hstack", "vstack"):
    _add(OpSpec(_name, "shape", "cat", arity=-1, tol="movement", grad=(0, 1, 2), calls={"fn": f"T.{_name}([{{*}}])"},
                exports=(_name,)))

# ---- in-place ops on non-leaf tensors (what optimisers and user code do) -------------------------------
_INPLACE = ["abs_()", "exp_()", "log_()", "neg_()", "reciprocal_()", "relu_()", "sigmoid_()", "sign_()", "sqrt_()",
            "square_()", "tanh_()", "pow_(2.0)", "pow_(0.5)", "clamp_min_(1.0)", "clamp_min_(0.75)",
            "clamp_max_(1.0)", "clamp_max_(1.25)", "clip_(0.5, 2.0)", "clip_(max=1.5)", "clamp_(0.5, 2.0)",
            "clamp_(min=0.75)", "clamp_(max=1.25)", "mul_(3.0)", "mul_(-0.5)", "add_(1.5)", "add_(-2.0, alpha=0.5)",
            "sub_(0.5)", "sub_(1.0, alpha=-2.0)", "div_(4.0)", "div_(-2.0)", "div_(0.5, rounding_mode='trunc')",
            "div_(0.5, rounding_mode='floor')"]
_add(OpSpec(
    "inplace", "inplace", "unary", domain=("positive",), tol="transcendental", smooth="piecewise",
    kinks=(1.0, 0.5, 2.0, 0.75, 1.25, 1.5),
    attrs={"call": {CHOICE: _INPLACE}}, calls={"method": "({0} * 1.0).{call_raw}"},
    exports=tuple(dict.fromkeys(f"Tensor.{c.split('(')[0]}" for c in _INPLACE)), notes="autograd through an in-place op",
    opinfo=("abs", "exp", "log", "neg", "reciprocal", "nn.functional.relu", "sigmoid", "sign", "sqrt", "square",
            "tanh", "pow", "clamp_min", "clamp_max", "clamp", "mul", "add", "sub", "div"),
))
_add(OpSpec(
    "addcmul_", "inplace", "ternary", arity=3, domain=("real", "real", "real"), grad=(0, 1, 2),
    attrs={"value": {CHOICE: [1.0, -0.5, 2.0]}}, calls={"method": "({0} * 1.0).addcmul_({1}, {2}, value={value})"},
    exports=("Tensor.addcmul_",), opinfo=("addcmul",),
))
_add(OpSpec(
    "addcdiv_", "inplace", "ternary", arity=3, domain=("real", "real", "nonzero"), grad=(0, 1, 2),
    attrs={"value": {CHOICE: [1.0, -0.5, 2.0]}}, calls={"method": "({0} * 1.0).addcdiv_({1}, {2}, value={value})"},
    exports=("Tensor.addcdiv_",), opinfo=("addcdiv",),
))
_add(OpSpec(
    "lerp", "arithmetic", "ternary", arity=3, domain=("real", "real", "real"), grad=(0, 1, 2),
    calls={"fn": "T.lerp({0}, {1}, {2})", "method": "{0}.lerp({1}, {2})"}, exports=("lerp", "Tensor.lerp"),
    notes="tensor weight; torch's two-sided formula (from `end` when |weight| >= 0.5)",
))
_add(OpSpec(
    "lerp_", "inplace", "ternary", arity=2, domain=("real", "real"), grad=(0, 1),
    attrs={"weight": {CHOICE: [0.5, 0.1, 1.0, 0.0]}}, calls={"method": "({0} * 1.0).lerp_({1}, {weight})"},
    exports=("Tensor.lerp_",), opinfo=("lerp",),
))
_add(OpSpec(
    "linalg_norm", "reduction", "reduce", smooth="piecewise", kinks=(0.0,), tol="reduction", opinfo=("linalg.norm",),
    attrs={"dims": "optional-pair", "ord": {CHOICE: ["fro", "nuc", 1, -1, math.inf, -math.inf, 2, -2]},
           "dtype": UPCAST},
    calls={"fn": "T.linalg.norm({0}{dimargs})", "matrix": "T.linalg.norm({0}, ord={ord}{dimargs}, dtype={dtype})"},
    exports=("linalg.norm",),
    notes="ord=None: 2-norm of the flattened input, Frobenius over a pair of dims; the matrix form: a matrix "
          "norm over a pair of dims (the input's two dims without dim), a vector norm over one dim",
))
_add(OpSpec(
    "linalg_norm_ord", "reduction", "reduce", smooth="piecewise", kinks=(0.0, "tie"), tol="reduction",
    attrs={"dims": "int", "ord": {CHOICE: [2, 1, math.inf, -math.inf, 3, 0.5]}, "dtype": UPCAST},
    calls={"fn": "T.linalg.norm({0}, ord={ord}{dimargs}, dtype={dtype})"}, exports=(),
    notes="an ord over one dim is a vector norm (matrix norms: the matrix form of linalg_norm)",
))

# ---- module forms of functional ops: nn.ReLU()(x) is F.relu(x) --------------------------------------------
MODULE_FORMS: dict[str, tuple[str, str]] = {
    "relu": ("nn.ReLU", "T.nn.ReLU()({0})"),
    "tanh": ("nn.Tanh", "T.nn.Tanh()({0})"),
    "sigmoid": ("nn.Sigmoid", "T.nn.Sigmoid()({0})"),
    "leaky_relu": ("nn.LeakyReLU", "T.nn.LeakyReLU(negative_slope={negative_slope})({0})"),
    "gelu": ("nn.GELU", "T.nn.GELU(approximate={approximate})({0})"),
    "elu": ("nn.ELU", "T.nn.ELU(alpha={alpha})({0})"),
    "silu": ("nn.SiLU", "T.nn.SiLU()({0})"),
    "softplus": ("nn.Softplus", "T.nn.Softplus(beta={beta}, threshold={threshold})({0})"),
    "hardtanh": ("nn.Hardtanh", "T.nn.Hardtanh(min_val={min_val}, max_val={max_val})({0})"),
    "relu6": ("nn.ReLU6", "T.nn.ReLU6()({0})"),
    "softmax": ("nn.Softmax", "T.nn.Softmax(dim={dim})({0})"),
    "log_softmax": ("nn.LogSoftmax", "T.nn.LogSoftmax(dim={dim})({0})"),
    "flatten": ("nn.Flatten", "T.nn.Flatten(start_dim={start_dim}, end_dim={end_dim})({0})"),
    "dropout": ("nn.Dropout", "T.nn.Dropout(p={p}).train({training})({0})"),
    "mse_loss": ("nn.MSELoss", "T.nn.MSELoss(reduction={reduction})({0}, {1})"),
    "l1_loss": ("nn.L1Loss", "T.nn.L1Loss(reduction={reduction})({0}, {1})"),
    "huber_loss": ("nn.HuberLoss", "T.nn.HuberLoss(reduction={reduction}, delta={delta})({0}, {1})"),
    "smooth_l1_loss": ("nn.SmoothL1Loss", "T.nn.SmoothL1Loss(reduction={reduction}, beta={beta})({0}, {1})"),
    "hinge_embedding_loss": ("nn.HingeEmbeddingLoss",
                             "T.nn.HingeEmbeddingLoss(margin={margin}, reduction={reduction})({0}, {1})"),
    "binary_cross_entropy": ("nn.BCELoss", "T.nn.BCELoss(weight={w}, reduction={reduction})({0}, {1})"),
    "binary_cross_entropy_with_logits": (
        "nn.BCEWithLogitsLoss", "T.nn.BCEWithLogitsLoss(weight={w}, reduction={reduction}, pos_weight={pw})({0}, {1})"),
    "cross_entropy": ("nn.CrossEntropyLoss", "T.nn.CrossEntropyLoss(weight={w}, ignore_index={ignore_index}, "
                      "reduction={reduction}, label_smoothing={label_smoothing})({0}, {1})"),
    "nll_loss": ("nn.NLLLoss", "T.nn.NLLLoss(weight={w}, ignore_index={ignore_index}, reduction={reduction})({0}, {1})"),
    "multi_margin_loss": ("nn.MultiMarginLoss",
                          "T.nn.MultiMarginLoss(p={p}, margin={margin}, weight={w}, reduction={reduction})({0}, {1})"),
}
for _i, _spec in enumerate(_ENTRIES):
    if _spec.name in MODULE_FORMS:
        _export, _tmpl = MODULE_FORMS[_spec.name]
        _ENTRIES[_i] = replace(_spec, calls={**_spec.calls, "module": _tmpl}, exports=_spec.exports + (_export,))

# ---- components: layers, init, optimisers, schedulers, clipping (checked by networks and training) ----
COMPONENT_KINDS = ("layer", "init", "optim", "scheduler", "clip", "utils")


def _component(name: str, group: str, exports: tuple[str, ...], attrs: dict[str, Any] | None = None,
               notes: str = "", tol: str = "training") -> None:
    _add(OpSpec(name, group, "component", calls={}, exports=exports, attrs=attrs or {}, smooth="none",
                tol=tol, grad=(), notes=notes))


_component("Linear", "layer", ("nn.Linear",), {"bias": {CHOICE: [True, False]}},
           "weight (out, in); default init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) checked as a distribution")
_component("Sequential", "layer", ("nn.Sequential",), notes="container; every network uses it")
_component("Module", "layer", ("nn.Module", "nn.Parameter"), notes="custom activation modules subclass it")
_component("ModuleList", "layer", ("nn.ModuleList",), notes="MLPs are built as Sequential or as a ModuleList")
_component("Identity", "layer", ("nn.Identity",), notes="the 'identity' activation of random MLPs")
for _init, _kind in [
    ("xavier_uniform_", "uniform"), ("xavier_normal_", "normal"), ("kaiming_uniform_", "uniform"),
    ("kaiming_normal_", "normal"), ("uniform_", "uniform"), ("normal_", "normal"), ("zeros_", "const"),
    ("ones_", "const"), ("constant_", "const"), ("eye_", "const"), ("trunc_normal_", "normal"),
    ("calculate_gain", "value"),
]:
    _component(f"init.{_init}", "init", (f"nn.init.{_init}",), {"kind": _kind},
               "random: checked as a distribution (bounds and variance); constants exactly", tol="distribution")
_component("SGD", "optim", ("optim.SGD",), {
    "lr": {CHOICE: [0.1, 0.01, 0.5]}, "momentum": {CHOICE: [0.0, 0.9, 0.5]}, "dampening": {CHOICE: [0.0, 0.1]},
    "nesterov": {CHOICE: [False, True]}, "weight_decay": {CHOICE: [0.0, 0.01, 0.1]}, "maximize": {CHOICE: [False, True]},
}, "momentum buffer starts at the first gradient; nesterov needs momentum > 0 and dampening 0")
_component("Adam", "optim", ("optim.Adam",), {
    "lr": {CHOICE: [0.01, 0.001, 0.1]}, "betas": {CHOICE: [[0.9, 0.999], [0.5, 0.9]]},
    "eps": {CHOICE: [1e-8, 1e-6]}, "weight_decay": {CHOICE: [0.0, 0.01]}, "amsgrad": {CHOICE: [False, True]},
    "maximize": {CHOICE: [False, True]}, "decoupled_weight_decay": {CHOICE: [False, True]},
})
_component("AdamW", "optim", ("optim.AdamW",), {
    "lr": {CHOICE: [0.01, 0.001, 0.1]}, "betas": {CHOICE: [[0.9, 0.999], [0.5, 0.9]]},
    "eps": {CHOICE: [1e-8, 1e-6]}, "weight_decay": {CHOICE: [0.01, 0.1, 0.0]}, "amsgrad": {CHOICE: [False, True]},
    "maximize": {CHOICE: [False, True]},
})
_component("RMSprop", "optim", ("optim.RMSprop",), {
    "lr": {CHOICE: [0.01, 0.001]}, "alpha": {CHOICE: [0.99, 0.9]}, "eps": {CHOICE: [1e-8, 1e-6]},
    "weight_decay": {CHOICE: [0.0, 0.01]}, "momentum": {CHOICE: [0.0, 0.9]}, "centered": {CHOICE: [False, True]},
    "maximize": {CHOICE: [False, True]},
})
_component("Adagrad", "optim", ("optim.Adagrad",), {
    "lr": {CHOICE: [0.1, 0.01]}, "lr_decay": {CHOICE: [0.0, 0.01]}, "weight_decay": {CHOICE: [0.0, 0.01]},
    "initial_accumulator_value": {CHOICE: [0.0, 0.1]}, "eps": {CHOICE: [1e-10, 1e-6]},
    "maximize": {CHOICE: [False, True]},
})
_component("StepLR", "scheduler", ("optim.lr_scheduler.StepLR",),
           {"step_size": {CHOICE: [1, 2, 3]}, "gamma": {CHOICE: [0.5, 0.1]}})
_component("CosineAnnealingLR", "scheduler", ("optim.lr_scheduler.CosineAnnealingLR",),
           {"T_max": {CHOICE: [2, 5, 10]}, "eta_min": {CHOICE: [0.0, 0.001]}})
_component("ExponentialLR", "scheduler", ("optim.lr_scheduler.ExponentialLR",), {"gamma": {CHOICE: [0.9, 0.5]}})
_component("MultiStepLR", "scheduler", ("optim.lr_scheduler.MultiStepLR",),
           {"milestones": {CHOICE: [[1, 3], [2]]}, "gamma": {CHOICE: [0.5, 0.1]}})
_component("LambdaLR", "scheduler", ("optim.lr_scheduler.LambdaLR",),
           {"lr_lambda": {CHOICE: [{"expr": "0.9 ** epoch"}, {"expr": "1.0 / (1 + epoch)"}]}},
           "lr_lambda given as an expression in epoch")
for _util in ("get_total_norm", "clip_grads_with_norm_", "parameters_to_vector", "vector_to_parameters"):
    _component(_util, "utils", (f"nn.utils.{_util}",), notes="checked on random parameter lists")
_component("clip_grad_norm_", "clip", ("nn.utils.clip_grad_norm_",),
           {"max_norm": {CHOICE: [0.5, 1.0, 10.0]}, "norm_type": {CHOICE: [2.0, math.inf]}},
           "returns the total norm; scale max_norm / (total_norm + 1e-6) clamped to 1")
_component("clip_grad_value_", "clip", ("nn.utils.clip_grad_value_",), {"clip_value": {CHOICE: [0.1, 0.5, 1.0]}})

# ---- error parity: invalid uses specific to one entry (see ``invalid`` in the module docstring) ----------
_INVALID: dict[str, dict[str, tuple[str, ...]]] = {
    "Linear": {"hyper": ("T.nn.Linear(-1, 2)", "T.nn.Linear(3, -2)", "T.nn.Linear(2, 3, bias=True)(T.ones(4, 3))"),
               "shape": ("T.nn.Linear(3, 2)(T.ones(2, 4))", "T.nn.Linear(3, 2).double()(p)")},
    "Sequential": {"hyper": ("T.nn.Sequential(T.nn.Identity(), 1)", "T.nn.Sequential(T.nn.Linear(2, 2))[5]")},
    "ModuleList": {"hyper": ("T.nn.ModuleList([T.nn.Identity(), 'relu'])", "T.nn.ModuleList([]).append(3)",
                             "T.nn.ModuleList([T.nn.Identity()])[2]")},
    "Module": {"hyper": ("m = T.nn.Module()\nm.register_parameter('w', T.ones(2))",
                         "m = T.nn.Module()\nm.register_buffer('a.b', T.ones(2))",
                         "m = T.nn.Module()\nm.load_state_dict({'w': T.ones(2)})",
                         "T.nn.Module()(p)", "T.nn.Parameter([1.0, 2.0])")},
    "Identity": {"hyper": ("T.nn.Identity()(p, p)",)},
    "init.calculate_gain": {"hyper": ("T.nn.init.calculate_gain('bogus')", "T.nn.init.calculate_gain('leaky_relu', 'a')",
                                      "T.nn.init.calculate_gain('leaky_relu', True)")},
    "init.kaiming_uniform_": {"hyper": ("T.nn.init.kaiming_uniform_(T.empty(2, 3), mode='bad')",
                                        "T.nn.init.kaiming_uniform_(T.empty(2, 3), nonlinearity='bogus')")},
    "init.kaiming_normal_": {"hyper": ("T.nn.init.kaiming_normal_(T.empty(2, 3), mode='fan')",
                                       "T.nn.init.kaiming_normal_(T.empty(2, 3), nonlinearity='softmax')")},
    "init.trunc_normal_": {"hyper": ("T.nn.init.trunc_normal_(T.empty(2, 3), a=2.0, b=-2.0)",)},
    "init.uniform_": {"hyper": ("T.nn.init.uniform_(T.empty(2, 3), a=1.0, b=0.0)",)},
    "init.normal_": {"hyper": ("T.nn.init.normal_(T.empty(2, 3), std=-1.0)",)},
    "clip_grad_norm_": {"hyper": (
        "p.grad = T.full_like(p, float('nan'))\nT.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)",
        "p.grad = T.full_like(p, float('inf'))\nT.nn.utils.clip_grad_norm_([p], 1.0, norm_type='inf', "
        "error_if_nonfinite=True)")},
    "clip_grad_value_": {"hyper": ("p.grad = T.ones_like(p)\nT.nn.utils.clip_grad_value_([p], None)",)},
    "parameters_to_vector": {"hyper": ("T.nn.utils.parameters_to_vector([])", "T.nn.utils.parameters_to_vector(p)")},
    "vector_to_parameters": {"hyper": ("T.nn.utils.vector_to_parameters([1.0], [p])",
                                       "T.nn.utils.vector_to_parameters(T.ones(2), [T.ones(3)])")},
    "get_total_norm": {"hyper": ("T.nn.utils.get_total_norm([p], norm_type='fro')",)},
    "clip_grads_with_norm_": {"hyper": ("p.grad = T.ones_like(p)\nT.nn.utils.clip_grads_with_norm_([p], 1.0, 'a')",)},
}
# op entries: invalid uses the drawn perturbations rarely or never produce (torch's own checks, each compared)
_INVALID.update({
    "dropout": {"dtype": ("F.dropout(T.ones(3, dtype=T.int64), p=0.5)",)},
    "one_hot": {"index": ("F.one_hot(T.zeros(0, dtype=T.int64))",)},
    "mse_loss": {"dtype": ("F.mse_loss([1.0, 2.0], p)", "F.mse_loss(T.ones(3, dtype=T.int64), T.ones(3, dtype=T.int64))"),
                 "shape": ("F.mse_loss(T.zeros(2, 3), T.zeros(4, 3))",)},
    "l1_loss": {"dtype": ("F.l1_loss(T.ones(3, dtype=T.bool), T.ones(3))", "F.l1_loss(p, (1.0,))")},
    "huber_loss": {"dtype": ("F.huber_loss(p.detach().float(), p).sum().backward()",),
                   "hyper": ("F.huber_loss(p, p.detach(), delta=0.0)", "F.huber_loss(p, p.detach(), delta=-1.0)")},
    "smooth_l1_loss": {"hyper": ("F.smooth_l1_loss(p, p.detach(), beta=-0.5)",)},
    "binary_cross_entropy": {
        "dtype": ("F.binary_cross_entropy(T.ones(3, dtype=T.int64), T.ones(3, dtype=T.int64))",
                  "F.binary_cross_entropy([0.5], p)"),
        "hyper": ("F.binary_cross_entropy(T.full((3,), 1.5), T.ones(3))",
                  "F.binary_cross_entropy(p.sigmoid(), p.detach().sigmoid(), weight=p.detach().requires_grad_())")},
    "binary_cross_entropy_with_logits": {
        "shape": ("F.binary_cross_entropy_with_logits(T.zeros(3), T.zeros(3), weight=T.ones(2, 3))",),
        "dtype": ("F.binary_cross_entropy_with_logits(p, [1.0])",)},
    "nll_loss": {"shape": ("F.nll_loss(p.sum(), T.tensor(0))", "F.nll_loss(T.zeros(3), T.zeros(1, 1, dtype=T.int64))",
                           "F.nll_loss(T.zeros(2, 3), T.zeros(2, 1, dtype=T.int64))",
                           "F.nll_loss(T.zeros(2, 3, 4, 5), T.zeros(2, 4, dtype=T.int64))",
                           "F.nll_loss(T.zeros(2, 3, 4, 5), T.zeros(2, 4, 6, dtype=T.int64))",
                           "F.nll_loss(T.zeros(2, 3, 4), T.zeros(2, 5, dtype=T.int64))"),
                 "dtype": ("F.nll_loss(p, [1])",)},
    "cross_entropy": {"shape": ("F.cross_entropy(T.tensor(1.0), T.tensor([0]))",
                                "F.cross_entropy(T.zeros(2, 3), T.full((2, 3), 1 / 3), weight=T.ones(2))",
                                "F.cross_entropy(T.zeros(2, 3), T.zeros(2, 1, dtype=T.int64))"),
                      "dtype": ("F.cross_entropy([1.0], p)",)},
    "reshape": {"shape": ("T.zeros(0, 3).reshape(0, -1)",)},
    "flatten": {"dim": ("T.flatten(T.ones(2, 3, 4), start_dim=2, end_dim=1)",)},
    "permute": {"dim": ("p.permute(0, 0)",)},
    "t": {"shape": ("p.reshape(-1).mT", "T.ones(2, 3, 4).t()")},
    "cat": {"dtype": ("T.cat(p)", "T.cat([])"), "shape": ("T.cat([p.sum(), p.sum()])",)},
    "stack": {"dtype": ("T.stack(p)", "T.stack([])")},
    "narrow": {"shape": ("T.narrow(p.sum(), 0, 0, 1)", "T.narrow(p, 0, 0, -1)")},
    "split": {"shape": ("T.split(p, 0, dim=1)",)},
    # an index equal to the size is the first one out of range
    "getitem": {"index": ("p[T.tensor([0.0])]", "p[[0.5, 1.7]]", "p[0, [3]]", "p[[0], [5]]", "p[:, 3]", "p[2]",
                          "p[..., -4]")},
    "index_select": {"index": ("T.index_select(p, 1, T.tensor([3]))", "T.index_select(p, 0, T.tensor([2]))",
                               "T.index_select(p, 0, T.tensor([-3]))")},
    "gather": {"index": ("T.gather(p, 1, T.tensor([[3]]))", "T.gather(p, 0, T.tensor([[2]]))")},
    "amax": {"dim": ("T.amax(T.ones(2, 0), dim=1)", "T.amax(T.ones(0, 2), dim=())")},
    "amin": {"dim": ("T.amin(T.ones(0, 2))", "T.amin(T.ones(2, 0), dim=(0, 1))")},
    "vector_norm": {"dim": ("T.linalg.vector_norm(T.ones(2, 0), ord=float('inf'), dim=1)",)},
    "norm": {"hyper": ("T.norm(p, p='bad')",)},
    "linalg_norm": {"hyper": ("T.linalg.norm(T.ones(2, 2, 2), ord=2)", "T.linalg.norm(T.ones(2, 2), ord=3)",
                              "T.linalg.norm(T.ones(2, 2), ord='fro', dim=(0, 0))")},
    "clamp": {"hyper": ("T.clamp(p)",)},
    "round": {"dtype": ("T.round(T.ones(3, dtype=T.int64), decimals=1)",)},
    "lerp": {"dtype": ("T.lerp(T.ones(3, dtype=T.int64), T.ones(3, dtype=T.int64), 0.5)",)},
    "matmul": {"shape": ("T.matmul(T.ones(2, 3, 4), T.ones(5))", "T.matmul(T.ones(2, 3, 4), T.ones(5, 2))",
                         "T.matmul(T.ones(2, 3, 4), T.ones(2, 5, 2))")},
    "bmm": {"dtype": ("T.bmm(T.ones(2, 3, 4, dtype=T.bool), T.ones(2, 4, 2, dtype=T.bool))",)},
    "softmax": {"dim": ("T.softmax(p)", "p.softmax()")},
    "log_softmax": {"dim": ("T.log_softmax(p)",)},
    "hardtanh": {"hyper": ("F.hardtanh(p, min_val=2.0, max_val=1.0)",)},
})
for _i, _spec in enumerate(_ENTRIES):
    if _spec.name in _INVALID:
        _ENTRIES[_i] = replace(_spec, invalid=_INVALID[_spec.name])

CATALOG: dict[str, OpSpec] = {}
for _spec in _ENTRIES:
    if _spec.name in CATALOG:
        raise ValueError(f"duplicate catalogue entry {_spec.name}")
    CATALOG[_spec.name] = _spec

#: Public names that are not ops (creation, modes, dtypes, utilities); the coverage test accepts them.
NOT_OPS = frozenset({
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "zeros_like", "ones_like", "full", "full_like",
    "empty", "empty_like", "arange", "linspace", "eye", "rand", "randn", "randint", "rand_like", "randn_like",
    "randperm", "manual_seed", "seed", "initial_seed", "Generator", "default_generator", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "inference_mode", "is_inference_mode_enabled", "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled", "is_tensor", "numel", "get_default_dtype",
    "set_default_dtype", "dtype", "Size", "Tensor", "float32", "float64", "float", "double", "int64", "long",
    "int32", "int", "bool", "float16", "half", "uint8", "int8", "int16", "finfo", "iinfo", "is_floating_point",
    "result_type", "promote_types", "can_cast", "save", "load", "isclose", "autograd", "nn", "optim", "utils", "linalg", "testing", "device", "inf", "nan",
    "pi", "e", "newaxis", "clone", "detach", "numpy", "__version__",
    # Tensor attributes and non-op methods
    "Tensor.backward", "Tensor.grad", "Tensor.requires_grad", "Tensor.requires_grad_", "Tensor.grad_fn",
    "Tensor.is_leaf", "Tensor.detach", "Tensor.detach_", "Tensor.retain_grad", "Tensor.retains_grad",
    "Tensor.register_hook", "Tensor.numpy", "Tensor.item", "Tensor.tolist", "Tensor.shape", "Tensor.size",
    "Tensor.dim", "Tensor.ndim", "Tensor.ndimension", "Tensor.numel", "Tensor.dtype", "Tensor.data",
    "Tensor.to", "Tensor.float", "Tensor.double", "Tensor.long", "Tensor.int", "Tensor.bool", "Tensor.type",
    "Tensor.clone", "Tensor.copy_", "Tensor.zero_", "Tensor.fill_", "Tensor.contiguous", "Tensor.is_contiguous",
    "Tensor.device", "Tensor.cpu", "Tensor.mT", "Tensor.element_size", "Tensor.nelement",
    "Tensor.is_floating_point", "Tensor.new_zeros", "Tensor.new_ones", "Tensor.new_full", "Tensor.new_tensor",
    "Tensor.new_empty", "Tensor.uniform_", "Tensor.normal_", "Tensor.__setitem__", "Tensor.__len__", "Tensor.__iter__",
    "Tensor.__bool__", "Tensor.__float__", "Tensor.__int__", "Tensor.__index__", "Tensor.__repr__",
    "Tensor.__array__", "Tensor.__hash__", "Tensor.__format__", "Tensor.__reversed__", "Tensor.__contains__",
    "Tensor.version", "Tensor._version", "Tensor.type_as",
    "Tensor.__deepcopy__", "Tensor.__copy__", "Tensor.__array_priority__", "Tensor.__iadd__",
    "Tensor.__isub__", "Tensor.__imul__", "Tensor.__itruediv__",
    "Tensor.__array_ufunc__", "Tensor.__array_function__", "Tensor.__dlpack__", "Tensor.is_cuda",
    "optim.Optimizer", "optim.lr_scheduler.LRScheduler",
})

#: Parameters of catalogued exports that no entry varies on purpose (``"export.param"``, ``"*.param"`` for
#: every export, ``"<component group>.param"`` for a kind of component), each with the reason. The
#: parameter test (tests/conformance/test_catalog_calls.py) fails on any other parameter left at its default.
NOT_VARIED: dict[str, str] = {
    "nn.Hardtanh.min_value": "deprecated alias of min_val: the module machine's constructor sweep builds "
                             "Hardtanh(min_value=..., max_value=...) in both libraries (stateful.MODULE_CONSTRUCTORS)",
    "nn.Hardtanh.max_value": "deprecated alias of max_val: compared with min_value, as above",
    "round.decimals": "varied by torch's own samples instead: the round entry runs every OpInfo variant of round "
                      "(decimals_0, decimals_3, decimals_neg_3) as fixed cases (conformance/opinfo.py)",
    "Tensor.round.decimals": "as round.decimals: torch's OpInfo variants of round vary it",
    "*.size_average": "deprecated by torch (it warns and maps it onto reduction): varied by the legacy forms of "
                      "mse_loss and nll_loss (every minigrad loss maps it with the same _reduction helper)",
    "*.reduce": "deprecated by torch (it warns and maps it onto reduction): varied by the legacy forms of mse_loss "
                "and nll_loss (every minigrad loss maps it with the same _reduction helper)",
    "*.axis": "NumPy spelling of dim that torch also accepts; minigrad renames it to dim first, dim is varied",
    "*.keepdims": "NumPy spelling of keepdim that torch also accepts; minigrad renames it first, keepdim is varied",
    "*._stacklevel": "torch's warning stack depth, no effect on values",
    "*.inplace": "in-place on a leaf that requires grad is an error in torch, and every catalogue input is one; "
                 "in-place autograd is compared by the inplace entries (and the stateful machine of issue #8)",
    "*.foreach": "torch kernel choice (one multi-tensor kernel instead of a loop), same numbers; minigrad ignores it",
    "*.fused": "torch kernel choice (a fused CPU/GPU kernel), same numbers; minigrad ignores it",
    "*.capturable": "CUDA-graph capture support in torch's optimisers; CPU only here, minigrad ignores it",
    "*.differentiable": "autograd through optimiser.step (torch); not supported by minigrad's optimisers",
    "*.error_if_nonfinite": "only acts on a non-finite total norm, which random training never produces; raising "
                            "belongs to the error-parity checks of issue #8",
    "*.generator": "an explicit random stream; initialisers are checked as distributions on the default stream",
    "Tensor.__rmatmul__.other": "reached only with a non-Tensor left operand of @, which torch rejects (TypeError)",
    "Tensor.__rmod__.other": "number % tensor has no derivative in torch 2.13 ('derivative for aten::remainder is "
                             "not implemented'), and the remainder entry's inputs require grad",
    "nn.Sigmoid.args": "torch's Sigmoid takes no arguments (minigrad's *args only mirrors Module's signature)",
    "nn.Tanh.args": "torch's Tanh takes no arguments (minigrad's *args only mirrors Module's signature)",
    "layer.args": "the modules a container holds or Identity ignores: built by the network strategy",
    "layer.modules": "the modules a ModuleList holds: built by the network strategy",
    "layer.in_features": "drawn by the network strategy (layer sizes), not a catalogue attribute",
    "layer.out_features": "drawn by the network strategy (layer sizes), not a catalogue attribute",
    "layer.device": "CPU is the only device of both libraries here",
    "layer.dtype": "networks take their parameters from the case's arrays (float64 or float32) instead",
    "layer.data": "Parameter wraps the case's arrays (built by the network strategy)",
    "layer.requires_grad": "every network parameter is trained; frozen parameters are the stateful machine's",
    "optim.params": "the network's parameters (built by the training strategy)",
    "scheduler.optimizer": "the training run's optimiser (built by the training strategy)",
    "scheduler.last_epoch": "resuming a schedule is a state_dict round trip, not a single training run",
    "clip.parameters": "the network's parameters (built by the training strategy)",
    "utils.parameters": "random parameter lists drawn by checks.check_param_utils",
    "utils.tensors": "random gradient lists drawn by checks.check_param_utils",
    "utils.vec": "the flattened parameters of checks.check_param_utils",
    "utils.max_norm": "varied by checks.check_param_utils (0.5, 1, 100 by seed), not a catalogue attribute",
    "utils.total_norm": "the total norm get_total_norm returned in checks.check_param_utils",
    "utils.norm_type": "varied by checks.check_param_utils (2, 1, inf by seed), not a catalogue attribute",
    "init.tensor": "the tensor being initialised (built by checks.check_init)",
    "init.val": "set by checks.INIT_CASES (0.25)",
    "init.mean": "set by checks.INIT_CASES (normal_: 0.5; trunc_normal_: 0, 0.5 and 1)",
    "init.std": "set by checks.INIT_CASES (normal_: 2; trunc_normal_: 1, 0.5 and 2)",
    "init.a": "set by checks.INIT_CASES (uniform_/trunc_normal_ bounds); NOT varied for kaiming_*: a known gap",
    "init.b": "set by checks.INIT_CASES (uniform_/trunc_normal_ bounds)",
    "init.mode": "NOT varied yet (kaiming_* run with fan_in only): a known gap of the distribution checks",
    "init.nonlinearity": "calculate_gain's cases in checks.INIT_CASES; NOT varied for kaiming_*: a known gap",
    "init.param": "calculate_gain's cases in checks.INIT_CASES (leaky_relu with 0.2)",
    "init.gain": "NOT varied yet (xavier_* run with gain 1): a known gap of the distribution checks",
}

#: Names minigrad exports that torch 2.13 does not have: no reference to compare them with.
NOT_IN_TORCH: frozenset[str] = frozenset()


def get(name: str) -> OpSpec:
    """The entry called ``name`` (KeyError names the missing op)."""
    return CATALOG[name]


def op_entries() -> list[OpSpec]:
    """Entries checked as single ops (everything but components)."""
    return [s for s in CATALOG.values() if s.family != "component"]


def components(kind: str | None = None) -> list[OpSpec]:
    """Entries checked through networks and training runs (layers, init, optim, schedulers, clipping)."""
    return [s for s in CATALOG.values() if s.family == "component" and (kind is None or s.group == kind)]


def export_index() -> dict[str, str]:
    """Public name -> catalogue entry name."""
    return {e: s.name for s in CATALOG.values() for e in s.exports}


# ---- rendering attributes into call templates ---------------------------------------------------------
def render_attr(value: Any) -> str:
    """Python source for one attribute value (lists become tuples; dtypes and tensors become ``T.`` calls)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(render_attr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        if "dtype" in value and len(value) == 1:
            return f"T.{value['dtype']}"
        if "tensor" in value:
            return f"T.tensor({value['tensor']!r}, dtype=T.{value['dtype']})"
        if "index" in value:
            return render_index(value["index"])
        if "slice" in value:
            return "slice({}, {}, {})".format(*(repr(v) for v in value["slice"]))
        raise ValueError(f"cannot render attribute {value!r}")
    return repr(value)


def render_index(items: list[Any]) -> str:
    """An indexing tuple ``x[...]``: ints, ``{"slice": [a, b, s]}``, ``None``, ``"..."``, int/bool tensors."""
    parts = []
    for it in items:
        if it == "...":
            parts.append("...")
        elif isinstance(it, dict) and "slice" in it:
            a, b, s = it["slice"]
            parts.append(f"{'' if a is None else a}:{'' if b is None else b}{'' if s is None else f':{s}'}")
        else:
            parts.append(render_attr(it))
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts)


#: the form of a node that carries its own call template in ``attrs["call"]`` (an OpInfo sample's arguments)
OWN_CALL = "call"


def render_call(spec: OpSpec, form: str, inputs: list[str], attrs: dict[str, Any]) -> str:
    """The Python expression for one node: the form's template filled with inputs and rendered attrs."""
    if form == OWN_CALL:
        return attrs[OWN_CALL].format(*inputs)
    template = spec.calls[form]
    rendered = {k: inputs[v["input"]] if isinstance(v, dict) and set(v) == {"input"} else render_attr(v)
                for k, v in attrs.items()}
    rendered.update({f"{k}_raw": v for k, v in attrs.items() if isinstance(v, str)})  # code, not a string literal
    rendered.update(_dimargs(attrs))
    template = template.replace("{*}", ", ".join(f"{{{i}}}" for i in range(len(inputs))))
    # "x.var({dimargs_m}, correction=1)" without a dim: the keyword tail follows an empty head
    return template.format(*inputs, **rendered).replace("(, ", "(")


def _dimargs(attrs: dict[str, Any]) -> dict[str, str]:
    """``{dimargs}`` / ``{dimargs_m}``: the optional ``dim=..., keepdim=...`` tail of a reduction."""
    if "dim" not in attrs or attrs["dim"] is None:
        return {"dimargs": "", "dimargs_m": ""}
    tail = f"dim={render_attr(attrs['dim'])}"
    if "keepdim" in attrs:
        tail += f", keepdim={attrs['keepdim']!r}"
    return {"dimargs": ", " + tail, "dimargs_m": tail}


def markdown_table() -> str:
    """The catalogue as a markdown table (README): op, group, call, domain, smoothness, kinks, tolerance."""
    rows = ["| op | group | call (torch == minigrad) | domain | FD | kinks / ties drawn | tolerance |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for s in CATALOG.values():
        call = next(iter(s.calls.values()), "").replace("|", "\\|") if s.calls else ", ".join(s.exports)
        call = call.replace("{0}", "x").replace("{1}", "y").replace("{2}", "z").replace("{*}", "...")
        kinks = ", ".join(str(k) for k in s.kinks)
        rows.append(f"| {s.name} | {s.group} | `{call}` | {', '.join(s.domain) if s.family != 'component' else ''} "
                    f"| {s.smooth} | {kinks} | {s.tol} |")
    return "\n".join(rows)
