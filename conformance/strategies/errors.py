"""Invalid inputs, drawn on purpose: error cases for every catalogue entry and for the autograd engine.

An :class:`~conformance.errors.ErrorCase` is a few Python statements (and the arrays of its input tensors)
that both libraries run; torch's outcome is the expectation. Which *categories* of invalid input an entry
gets follows from its catalogue data, never from its name:

- ``shape``: incompatible shapes -- one input of an op with several inputs gets a dimension of another size or
  an extra leading dimension; a shape-like attribute (``shape``, ``sizes``, ``length``, ``split``, ...)
  is perturbed;
- ``dtype``: wrong dtypes -- an int64/bool tensor where a float is expected, a float/int32 tensor where an
  index is expected, a float32 input mixed with float64 ones;
- ``dim``: out-of-range dims (and repeated dims in a list of dims) for every dim-like attribute or
  ``{dimargs}`` template;
- ``index``: out-of-range indices and classes for ``index`` inputs (gather, index_select, loss targets,
  one_hot) and for ``getitem``;
- ``hyper``: an attribute replaced by an invalid value from :data:`INVALID_VALUES` (keyed by attribute
  name: ``reduction``, ``label_smoothing``, ``p``, ``lr``, ``betas``, ``eps``, ``momentum``, ...); for
  optimisers and schedulers the rest of the configuration is drawn from the entry's valid choices, so
  invalid combinations such as ``nesterov`` without momentum come up too; plus the entry's own
  ``invalid`` statements (catalogue field) and its group's misuses (:data:`GROUP_MISUSE`);
- ``engine``: misuse of autograd itself (:data:`ENGINE`): backward twice, non-scalar backward,
  ``requires_grad`` on integer tensors, a modified saved tensor, assigning a non-tensor (or a tensor of
  another shape or dtype) to ``.grad``, in-place ops on a leaf or a view of a leaf, ``.to("cuda")``, ...
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from .. import catalog
from ..catalog import OpSpec
from ..errors import ErrorCase
from .ops import FAMILIES, draw_attr

Draw = Any

CATEGORIES = ("shape", "dtype", "dim", "index", "hyper", "engine")

#: attribute name -> invalid values (torch decides whether each one raises; parity is checked either way)
INVALID_VALUES: dict[str, list[Any]] = {
    "reduction": ["bad", "avg", "elementwise_mean"],
    "rounding_mode": ["round"],
    "label_smoothing": [-0.1, 1.5],
    "p": [-0.5, 1.5, 3],
    "num_classes": [0, -2],
    "approximate": ["exact"],
    "correction": [-1],
    "negative_slope": [float("nan")],
    "ord": ["fro", "nuc"],
    "lr": [-1.0, -0.01],
    "momentum": [-0.9],
    "dampening": [-0.5],
    "weight_decay": [-0.1],
    "betas": [[1.0, 0.999], [0.9, 1.0], [-0.1, 0.999], [0.9, -0.5]],
    "eps": [-1e-8],
    "alpha": [-0.5],
    "lr_decay": [-0.1],
    "initial_accumulator_value": [-0.1],
    "step_size": [0, -1],
    "gamma": [-0.5],
    "T_max": [0],
    "milestones": [[3, 1], [2, 2]],
    "lr_lambda": [[{"expr": "1.0"}, {"expr": "0.5"}], {"expr": "1.0 / 0.0"}],
    "max_norm": [-1.0],
    "norm_type": ["fro", -1.0],
    "clip_value": [-0.5],
}

#: attribute names holding dims, and shape-like attribute names (see ``shape`` above)
DIM_ATTRS = ("dim", "dim0", "dim1", "dims", "start_dim", "end_dim")
SHAPE_ATTRS = ("shape", "sizes", "length", "start", "split", "chunks")

#: group -> statements run after ``{component}`` is built with drawn keyword arguments ``{kwargs}``
GROUP_TEMPLATES: dict[str, str] = {
    "optim": "opt = T.optim.{name}([p], {kwargs})\np.grad = T.ones_like(p)\nopt.step()\nopt.step()",
    "scheduler": ("opt = T.optim.SGD([p], lr=0.1)\nsched = T.optim.lr_scheduler.{name}(opt, {kwargs})\n"
                  "for _ in range(3):\n    opt.step()\n    sched.step()"),
    "clip": "p.grad = T.ones_like(p)\nT.nn.utils.{name}([p], {kwargs})",
}

#: group -> misuses every entry of the group gets (``{name}``: the entry's exported name)
GROUP_MISUSE: dict[str, tuple[str, ...]] = {
    "optim": ("T.optim.{name}([], lr=0.1)", "T.optim.{name}(p, lr=0.1)", "T.optim.{name}([p * 2.0], lr=0.1)",
              "T.optim.{name}([p], lr='fast')", "T.optim.{name}([{{'params': [p]}}, {{'params': [p]}}], lr=0.1)",
              "opt = T.optim.{name}([p], lr=0.1)\nopt.add_param_group({{'params': [p]}})",
              "opt = T.optim.{name}([p], lr=0.1)\nopt.load_state_dict({{'state': {{}}, 'param_groups': []}})"),
    "scheduler": ("T.optim.lr_scheduler.{name}(p, {kwargs})",
                  "opt = T.optim.SGD([p], lr=0.1)\nT.optim.lr_scheduler.{name}(opt, {kwargs}, last_epoch=3)"),
    # zeros, not empty: a message may print the tensor (calculate_gain's), and torch.empty's memory is arbitrary
    "init": ("T.nn.{export}(T.zeros(3))", "T.nn.{export}(T.zeros(0, 3))", "T.nn.{export}(T.zeros(2, 3, 4))",
             "T.nn.{export}(T.zeros(()))", "T.nn.{export}(T.zeros(2, 3), generator=1)"),
}

#: engine misuse: (name, statements); ``x`` is a float leaf that requires grad, ``i`` an int64 tensor,
#: ``{call}`` a catalogue op applied to ``y = x * 1.0`` (unary ops only)
ENGINE: tuple[tuple[str, str], ...] = (
    ("backward twice", "out = {call}.sum()\nout.backward()\nout.backward()"),
    ("backward twice through grad", "out = {call}.sum()\nT.autograd.grad(out, [x])\nT.autograd.grad(out, [x])"),
    ("non-scalar backward", "{call}.backward()"),
    ("backward of a tensor without grad", "{call}.detach().sum().backward()"),
    ("backward with a wrong-shape gradient", "out = {call}\nout.backward(T.ones(out.shape + (2,), dtype=out.dtype))"),
    ("grad of an unused input", "w = x * 1.0\nT.autograd.grad({call}.sum(), [x, w.detach().requires_grad_()])"),
    ("modified input of a saved op", "out = {call}\ny.add_(1.0)\nout.sum().backward()"),
    ("modified output of a saved op", "out = {call}\nout.mul_(2.0)\nout.sum().backward()"),
    ("requires_grad on an int tensor", "T.tensor(np.array([1, 2]), requires_grad=True)"),
    ("requires_grad_ on an int tensor", "i.requires_grad_()"),
    ("requires_grad on a bool tensor", "(i > 0).requires_grad = True"),
    ("int creation with requires_grad", "T.zeros(3, dtype=T.int64, requires_grad=True)"),
    ("grad assigned a float", "x.grad = 0.0"),
    ("grad assigned a list", "x.grad = [0.0] * x.numel()"),
    ("grad assigned an ndarray", "x.grad = np.zeros(x.shape)"),
    ("grad of another shape", "x.grad = T.zeros(x.shape + (2,), dtype=x.dtype)"),
    ("grad of another dtype", "x.grad = T.zeros(x.shape, dtype=T.float32)"),
    ("grad of an int dtype", "x.grad = T.zeros(x.shape, dtype=T.int64)"),
    ("in-place on a leaf", "x.add_(1.0)"),
    ("in-place on a view of a leaf", "x[...].mul_(2.0)"),
    ("in-place on a reshaped leaf", "x.view(-1).add_(1.0)"),
    ("setitem on a leaf", "x[...] = 0.0"),
    (".to('cuda')", "x.to('cuda')"),
    (".to('cuda:0')", "x.detach().to('cuda:0')"),
    ("creation on cuda", "T.ones(2, device='cuda')"),
    ("module to cuda", "T.nn.Linear(2, 2).to('cuda')"),
    ("numpy of a grad tensor", "x.numpy()"),
    ("item of many", "T.ones(2).item()"),
)
# not drawn: ``create_graph=True`` (higher-order gradients) is a documented limit of minigrad (README, "Limits"):
# it raises NotImplementedError where torch computes, which would only measure the missing feature


def categories(spec: OpSpec) -> tuple[str, ...]:
    """The invalid categories drawn for an entry, from its family, domain and attrs (and ``invalid``)."""
    if spec.family == "component":
        cats = {"hyper"} if (set(spec.attrs) & set(INVALID_VALUES) or spec.group in GROUP_MISUSE) else set()
    else:
        cats = {"dtype"}
        if spec.arity != 1 or spec.family in _SHAPE_FAMILIES:
            cats.add("shape")
        if any("{dim" in t for t in spec.calls.values()) or spec.attrs.get("dims", "full") != "full":
            cats.add("dim")
        if "index" in spec.domain or spec.family == "getitem":
            cats.add("index")
        if set(spec.attrs) & set(INVALID_VALUES):
            cats.add("hyper")
    for cat, statements in spec.invalid.items():
        (cats.add if statements else cats.discard)(cat)
    return tuple(c for c in CATEGORIES if c in cats)


#: families with shape-like attributes (see ``strategies.ops``)
_SHAPE_FAMILIES = ("reshape", "expand", "unflatten", "repeat", "narrow", "split")


def error_specs() -> list[tuple[OpSpec, str]]:
    """Every (entry, category) pair the suite draws."""
    return [(s, c) for s in catalog.CATALOG.values() if s.family in FAMILIES or s.family == "component"
            for c in categories(s)]


# ---- op entries -------------------------------------------------------------------------------------------
def _valid_op(draw: Draw, spec: OpSpec) -> tuple[list[Any], dict[str, Any], str]:
    leaves, attrs, form, _ = FAMILIES[spec.family](draw, spec)
    return leaves, attrs, form


def _perturb_shape(draw: Draw, leaves: list[Any], attrs: dict[str, Any]) -> None:
    shape_keys = [k for k in attrs if k in SHAPE_ATTRS and attrs[k] is not None]
    candidates = [i for i, lf in enumerate(leaves)] if len(leaves) > 1 else []
    if shape_keys and (not candidates or draw(st.booleans())):
        key = draw(st.sampled_from(shape_keys))
        value = attrs[key]
        if isinstance(value, list) and value:
            k = draw(st.integers(0, len(value) - 1))
            how = draw(st.sampled_from(["grow", "negative", "drop"]))
            new = list(value)
            if how == "grow":
                new[k] = (new[k] if new[k] != -1 else 1) + draw(st.integers(1, 3))
            elif how == "negative":
                new[k] = draw(st.sampled_from([-2, -1]))
                if new[k] == -1 and -1 not in value and len(value) > 1:
                    new[(k + 1) % len(new)] = -1  # two inferred sizes
            else:
                new = new[:-1]
            attrs[key] = new
        else:
            attrs[key] = draw(st.sampled_from([-1, 0, 7]))
        return
    if not candidates:
        return
    i = draw(st.sampled_from(candidates))
    values = leaves[i].values
    if values.ndim and draw(st.booleans()):
        axis = draw(st.integers(0, values.ndim - 1))
        size = values.shape[axis] + draw(st.integers(1, 2))
        values = np.take(values, np.arange(size) % max(values.shape[axis], 1), axis=axis) \
            if values.shape[axis] else np.zeros(values.shape[:axis] + (size,) + values.shape[axis + 1:], values.dtype)
    else:
        values = np.stack([values] * draw(st.integers(2, 3)))
    leaves[i] = type(leaves[i])(leaves[i].name, values, leaves[i].requires_grad)


def _as_int(values: np.ndarray) -> np.ndarray:
    return np.trunc(np.nan_to_num(values, nan=0.0, posinf=7.0, neginf=-7.0)).clip(-100, 100).astype(np.int64)


def _perturb_dtype(draw: Draw, leaves: list[Any]) -> None:
    i = draw(st.integers(0, len(leaves) - 1))
    lf = leaves[i]
    v = lf.values
    floats = [k for k, other in enumerate(leaves) if other.values.dtype.kind == "f"]
    if v.dtype.kind == "f":
        options = ["int64", "bool"] + (["float32"] if len(floats) > 1 else [])
    elif v.dtype.kind == "b":
        options = ["float64", "int64"]
    else:
        options = ["float64", "int32", "bool"]
    target = draw(st.sampled_from(options))
    if target == "int64":
        new = _as_int(v) if v.dtype.kind == "f" else v.astype(np.int64)
    elif target == "bool":
        new = v != 0
    else:
        new = v.astype(target)
    leaves[i] = type(lf)(lf.name, new, lf.requires_grad and new.dtype.kind == "f")


def _perturb_dim(draw: Draw, leaves: list[Any], attrs: dict[str, Any]) -> None:
    nd = max(leaves[0].values.ndim, 1)
    bad = draw(st.sampled_from([nd + 1, nd + 2, -nd - 2]))
    keys = [k for k in attrs if k in DIM_ATTRS and attrs[k] is not None]
    if not keys:
        attrs["dim"] = bad
        return
    key = draw(st.sampled_from(keys))
    value = attrs[key]
    if isinstance(value, list):
        if value and draw(st.booleans()):
            attrs[key] = value + [value[0]]  # a repeated dim
        else:
            attrs[key] = (value + [bad]) if not value or draw(st.booleans()) else [bad] + value[1:]
    else:
        attrs[key] = bad


def _perturb_index(draw: Draw, leaves: list[Any], attrs: dict[str, Any]) -> None:
    index_leaves = [i for i, lf in enumerate(leaves) if lf.values.dtype.kind in "iu"]
    if "index" in attrs and isinstance(attrs["index"], dict) and "index" in attrs["index"]:
        items = list(attrs["index"]["index"])
        shape = leaves[0].values.shape
        positions = [k for k, it in enumerate(items) if isinstance(it, int) and not isinstance(it, bool)]
        bad = draw(st.sampled_from([5, 9, -6]))
        if positions and draw(st.booleans()):
            items[draw(st.sampled_from(positions))] = bad
        elif shape:
            items = [{"tensor": [0, bad], "dtype": "int64"}]
        attrs["index"] = {"index": items}
        return
    if not index_leaves:
        return
    i = draw(st.sampled_from(index_leaves))
    lf = leaves[i]
    v = lf.values.copy()
    bad = draw(st.sampled_from([5, 9, -2, -7]))
    if v.size:
        v.flat[draw(st.integers(0, v.size - 1))] = bad
    else:
        v = np.full((1,) * v.ndim, bad, dtype=v.dtype)
    leaves[i] = type(lf)(lf.name, v, False)


def _perturb_hyper(draw: Draw, spec: OpSpec, attrs: dict[str, Any]) -> None:
    keys = [k for k in attrs if k in INVALID_VALUES]
    if keys:
        key = draw(st.sampled_from(keys))
        attrs[key] = draw(st.sampled_from(INVALID_VALUES[key]))


_PERTURB = {
    "shape": lambda draw, spec, leaves, attrs: _perturb_shape(draw, leaves, attrs),
    "dtype": lambda draw, spec, leaves, attrs: _perturb_dtype(draw, leaves),
    "dim": lambda draw, spec, leaves, attrs: _perturb_dim(draw, leaves, attrs),
    "index": lambda draw, spec, leaves, attrs: _perturb_index(draw, leaves, attrs),
    "hyper": lambda draw, spec, leaves, attrs: _perturb_hyper(draw, spec, attrs),
}


def _op_statements(spec: OpSpec, form: str, leaves: list[Any], attrs: dict[str, Any]) -> str:
    call = catalog.render_call(spec, form, [lf.name for lf in leaves], attrs)
    return (f"out = {call}\n"
            "if isinstance(out, T.Tensor) and out.requires_grad:\n"
            "    out.sum().backward()")


def _op_error_case(draw: Draw, spec: OpSpec, category: str) -> ErrorCase:
    leaves, attrs, form = _valid_op(draw, spec)
    if category in spec.invalid and draw(st.booleans()):
        code = draw(st.sampled_from(spec.invalid[category]))
        return ErrorCase(spec.name, category, code, _p_leaf(draw), [spec.name])
    _PERTURB[category](draw, spec, leaves, attrs)
    code = _op_statements(spec, form, leaves, attrs)
    return ErrorCase(spec.name, category, code, {lf.name: (lf.values, bool(lf.requires_grad)) for lf in leaves},
                     [spec.name])


# ---- components ------------------------------------------------------------------------------------------
def _p_leaf(draw: Draw) -> dict[str, tuple[np.ndarray, bool]]:
    shape = draw(st.sampled_from([(3,), (2, 3)]))
    return {"p": (np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape), True)}


def _render_kwargs(attrs: dict[str, Any]) -> str:
    parts = []
    for k, v in attrs.items():
        parts.append(f"{k}={_render_value(v)}")
    return ", ".join(parts)


def _render_value(v: Any) -> str:
    if isinstance(v, dict) and "expr" in v:
        return f"lambda epoch: {v['expr']}"
    if isinstance(v, list) and v and all(isinstance(e, dict) for e in v):
        return "[" + ", ".join(_render_value(e) for e in v) + "]"
    return catalog.render_attr(v)


def _component_error_case(draw: Draw, spec: OpSpec, category: str) -> ErrorCase:
    name = spec.exports[0].split(".")[-1]
    export = spec.exports[0].removeprefix("nn.")
    attrs = {k: draw_attr(draw, v) for k, v in spec.attrs.items() if isinstance(v, dict) and "choice" in v
             and k != "kind"}
    literal = list(spec.invalid.get(category, ()))  # the entry's own statements, used as written
    template = GROUP_TEMPLATES.get(spec.group)
    bad_keys = [k for k in attrs if k in INVALID_VALUES]
    formatted = ([template] if template and bad_keys else []) + list(GROUP_MISUSE.get(spec.group, ()))
    choice = draw(st.sampled_from(literal + formatted))
    if choice in literal:
        code = choice
    else:
        if choice == template:
            key = draw(st.sampled_from(bad_keys))
            attrs[key] = draw(st.sampled_from(INVALID_VALUES[key]))
        code = choice.format(name=name, export=export, kwargs=_render_kwargs(attrs))
    return ErrorCase(spec.name, category, code, _p_leaf(draw), [spec.name])


# ---- engine ----------------------------------------------------------------------------------------------
def engine_ops() -> list[OpSpec]:
    """Unary catalogue ops whose call needs no family-specific attribute (the ``{call}`` of :data:`ENGINE`)."""
    return [s for s in catalog.op_entries() if s.family == "unary" and s.grad and s.smooth != "none"
            and "real" in s.domain[0] and all(isinstance(v, dict) for v in s.attrs.values())]


@st.composite
def engine_case(draw: Draw) -> ErrorCase:
    """One misuse of autograd from :data:`ENGINE`, through a drawn unary op."""
    name, template = draw(st.sampled_from(ENGINE))
    spec = draw(st.sampled_from(engine_ops()))
    attrs = {k: draw_attr(draw, v) for k, v in spec.attrs.items()}
    form = draw(st.sampled_from(sorted(spec.calls)))
    call = catalog.render_call(spec, form, ["y"], attrs)
    shape = draw(st.sampled_from([(3,), (2, 3), (1,), ()]))
    dtype = draw(st.sampled_from(["float64", "float32"]))
    x = np.linspace(0.5, 2.0, int(np.prod(shape))).reshape(shape).astype(dtype)
    code = "y = x * 1.0\n" + template.replace("{call}", call) if "{call}" in template else template
    ops = [spec.name] if "{call}" in template else []
    return ErrorCase(f"engine: {name}", "engine", code,
                     {"x": (x, True), "i": (np.arange(3, dtype=np.int64), False)}, ops)


@st.composite
def error_case(draw: Draw, spec: OpSpec, category: str) -> ErrorCase:
    """An invalid use of a catalogue entry in one category."""
    if spec.family == "component":
        return _component_error_case(draw, spec, category)
    return _op_error_case(draw, spec, category)
