"""Single-op cases: one strategy per catalogue ``family`` draws shapes, values and attributes.

:func:`op_case` returns a one-node IR case for any op entry. Shapes include 0-d (reduced, gathered and
softmaxed along dim 0 and -1, as torch's own samples do), empty tensors and empty index tensors, size-1 dims
and broadcasting (``mutually_broadcastable_shapes``); values include the domain's specials (negative zero
among them) and the op's
kink points (``kinks``), and several families plant exact ties and kinks on purpose (``maximum`` ties,
``huber_loss`` at ``|input - target| = delta``, ``multi_margin_loss`` at the margin, ...).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .. import catalog
from ..catalog import OpSpec
from ..ir import Case, Leaf, Node
from .values import arrays, edge_tags, maybe_empty, shapes

Draw = Any


def draw_attr(draw: Draw, spec_value: Any) -> Any:
    """Draw one attribute from its catalogue strategy data."""
    if isinstance(spec_value, dict) and "choice" in spec_value:
        return draw(st.sampled_from(spec_value["choice"]))
    if isinstance(spec_value, dict) and "float" in spec_value:
        lo, hi = spec_value["float"]
        return draw(st.floats(lo, hi, allow_nan=False))
    raise ValueError(f"bad attribute strategy {spec_value!r}")


def plain_attrs(draw: Draw, spec: OpSpec) -> dict[str, Any]:
    """The attributes that are data strategies (not family-specific ones such as ``dims``)."""
    return {k: draw_attr(draw, v) for k, v in spec.attrs.items() if isinstance(v, dict)}


def resolve_kinks(spec: OpSpec, attrs: dict[str, Any]) -> tuple[float, ...]:
    """Kink values as numbers (attribute names replaced by the drawn attribute)."""
    out: list[float] = []
    for k in spec.kinks:
        if isinstance(k, (int, float)):
            out.append(float(k))
        elif k == "threshold/beta":
            out.append(attrs["threshold"] / attrs["beta"])
        elif k in attrs and isinstance(attrs[k], (int, float)) and attrs[k] is not None:
            out.append(float(attrs[k]))
    return tuple(out)


def _leaf(i: int, values: np.ndarray, spec: OpSpec) -> Leaf:
    return Leaf(f"x{i}", values, i in spec.grad and values.dtype.kind == "f")


def _form(draw: Draw, spec: OpSpec, exclude: tuple[str, ...] = ()) -> str:
    return draw(st.sampled_from([f for f in spec.calls if f not in exclude]))


def _bshapes(draw: Draw, n: int, max_dims: int = 3) -> tuple[list[tuple[int, ...]], bool]:
    """``n`` mutually broadcastable shapes (often equal); sometimes one with a leading 0 (empty result)."""
    if draw(st.booleans()):
        s = draw(shapes(0, max_dims))
        res = [s] * n
    else:
        bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims, max_side=3))
        res = list(bs.input_shapes)
    if draw(st.integers(0, 11)) == 0:
        res[0] = (0,) + tuple(res[0])
    return res, len(set(res)) > 1


# ---- families -----------------------------------------------------------------------------------------
def tensor_attrs(draw: Draw, spec: OpSpec, attrs: dict[str, Any], leaves: list[Leaf]) -> bool:
    """Attributes drawn as ``"tensor"`` become inputs: an array broadcastable to input 0 (same shape half
    of the time, then with exact ties to it planted), passed as ``{"input": k}``. Returns whether any was."""
    x = leaves[0].values
    drawn = False
    for name in sorted(spec.attrs):
        if attrs.get(name) != "tensor":
            continue
        nd = draw(st.integers(0, x.ndim))
        shape = x.shape if draw(st.booleans()) else tuple(1 if draw(st.booleans()) else n for n in x.shape[x.ndim - nd:])
        bound = draw(arrays(spec.domain[0], shape))
        if shape == x.shape and x.size and draw(st.booleans()):
            bound = np.where(draw(hnp.arrays(np.bool_, shape)), x, bound)  # x == bound exactly
        leaves.append(_leaf(len(leaves), bound.astype(x.dtype), spec))
        attrs[name] = {"input": len(leaves) - 1}
        drawn = True
    return drawn


def fam_unary(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    attrs = plain_attrs(draw, spec)
    form = _form(draw, spec)
    if spec.name == "clamp":
        if form.startswith(("clamp_min", "clamp_max")):  # one bound only
            bound = "min" if form.startswith("clamp_min") else "max"
            attrs[bound] = attrs[bound] if attrs[bound] is not None else (-1.0 if bound == "min" else 1.0)
            attrs["min" if bound == "max" else "max"] = None
        elif attrs.get("min") is None and attrs.get("max") is None:
            attrs["min"] = -1.0
        if "tensor" in (attrs["min"], attrs["max"]):  # torch takes both bounds as numbers or both as tensors
            attrs.update({b: "tensor" for b in ("min", "max") if attrs[b] is not None})
    kinks = resolve_kinks(spec, attrs)
    shape = draw(maybe_empty(draw(shapes(0, 3))))
    x = draw(arrays(spec.domain[0], shape, kinks))
    leaves = [_leaf(0, x, spec)]
    tensors = tensor_attrs(draw, spec, attrs, leaves)
    if "min_or_max" in " ".join(spec.calls.values()):
        attrs["min_or_max"] = attrs["min"] if attrs.get("min") is not None else attrs.get("max")
    return leaves, attrs, form, edge_tags([lf.values for lf in leaves], list(kinks)) + (["tensor_bound"] if tensors else [])


def fam_int_binary(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    dtype = draw(st.sampled_from([np.int64, np.bool_]))
    elems = st.booleans() if dtype is np.bool_ else st.integers(-8, 8)
    shapes_, bc = _bshapes(draw, len(spec.domain))
    arrs = [draw(hnp.arrays(dtype, sh, elements=elems)) for sh in shapes_]
    return [Leaf(f"x{i}", a, False) for i, a in enumerate(arrs)], {}, _form(draw, spec), edge_tags(arrs, [], bc)


def fam_ternary(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    shape = draw(maybe_empty(draw(shapes(0, 3))))
    arrs = [draw(arrays(d, shape)) for d in spec.domain]
    return [_leaf(i, a, spec) for i, a in enumerate(arrs)], plain_attrs(draw, spec), _form(draw, spec), \
        edge_tags(arrs, [])


def fam_masked_fill(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    shape = draw(maybe_empty(draw(shapes(0, 3))))
    k = draw(st.integers(0, len(shape)))
    mshape = tuple(1 if draw(st.booleans()) else s for s in shape[k:])
    x = draw(arrays("real", shape))
    mask = draw(arrays("bool", mshape))
    return [_leaf(0, x, spec), Leaf("x1", mask, False)], plain_attrs(draw, spec), _form(draw, spec), \
        edge_tags([x], [], mshape != shape)


def fam_pow_scalar(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    e = draw(st.sampled_from(spec.attrs["exponent"]["choice"]))
    domain = "real" if float(e).is_integer() else "nonneg"
    if float(e) < 0 and float(e).is_integer():
        domain = "nonzero0"
    shape = draw(maybe_empty(draw(shapes(0, 3))))
    x = draw(arrays(domain, shape, (0.0,)))
    return [_leaf(0, x, spec)], {"exponent": e}, _form(draw, spec), edge_tags([x], [0.0])


def fam_scalar_arith(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    sym = draw(st.sampled_from(spec.attrs["sym"]["choice"]))
    c = draw(st.sampled_from(spec.attrs["c"]["choice"]))
    side = draw(st.sampled_from(["right", "left"]))
    domain = "real"
    if sym == "/" and side == "left":
        domain = "nonzero0"
    if sym == "**":
        if side == "left":
            c = abs(c)
        elif not float(c).is_integer():
            domain = "nonneg"
    shape = draw(maybe_empty(draw(shapes(0, 3))))
    x = draw(arrays(domain, shape))
    return [_leaf(0, x, spec)], {"sym": sym, "c": c}, side, edge_tags([x], [0.0])


def fam_binary(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    (sa, sb), bc = _bshapes(draw, 2)
    a = draw(arrays(spec.domain[0], sa))
    b = draw(arrays(spec.domain[1], sb))
    if sa == sb and a.size and draw(st.booleans()) and spec.domain[0] == spec.domain[1]:
        mask = draw(hnp.arrays(np.bool_, sa))
        b = np.where(mask, a, b)  # exact ties on purpose
    leaves = [_leaf(0, a, spec), _leaf(1, b, spec)]
    return leaves, plain_attrs(draw, spec), _form(draw, spec), edge_tags([a, b], [], bc)


def fam_where(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    (sc, sa, sb), bc = _bshapes(draw, 3)
    c = draw(arrays("bool", sc))
    a = draw(arrays("real", sa))
    b = draw(arrays("real", sb))
    leaves = [Leaf("x0", c, False), _leaf(1, a, spec), _leaf(2, b, spec)]
    return leaves, {}, _form(draw, spec), edge_tags([c, a, b], [], bc)


def _dim(draw: Draw, nd: int, extra: int = 0) -> int:
    """A valid dim for ``nd`` dims (negative allowed); ``extra=1`` for unsqueeze/stack positions. A 0-d
    tensor takes dim 0 and -1 (torch wraps dims as if it had one)."""
    n = nd + extra if extra else max(nd, 1)
    return draw(st.integers(-n, n - 1))


def fam_reduce(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    kind = spec.attrs["dims"]
    shape = draw(maybe_empty(draw(shapes(0, 3))))
    nd = len(shape)
    n = max(nd, 1)  # a 0-d input is reduced with dim 0 or -1 too (torch)
    attrs = plain_attrs(draw, spec)
    if kind == "optional-tuple":
        choice = draw(st.sampled_from(["none", "int", "tuple"]))
        if choice == "int":
            attrs["dim"] = _dim(draw, nd)
        elif choice == "tuple":
            dims = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
            attrs["dim"] = [d - n if draw(st.booleans()) else d for d in dims]
    elif kind == "optional-pair" and draw(st.booleans()):
        dims = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=min(2, n), unique=True))
        attrs["dim"] = dims if len(dims) == 2 or draw(st.booleans()) else dims[0]
    elif kind == "optional-int" and draw(st.booleans()):
        attrs["dim"] = _dim(draw, nd)
    elif kind in ("int", "int-nokeep"):
        attrs["dim"] = _dim(draw, nd)
    if attrs.get("dim") is not None and kind != "int-nokeep":
        attrs["keepdim"] = draw(st.booleans())
    kinks = resolve_kinks(spec, attrs)
    x = draw(arrays(spec.domain[0], shape, kinks))
    form = _form(draw, spec)
    return [_leaf(0, x, spec)], attrs, form, edge_tags([x], list(kinks))


def fam_softmax(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    shape = draw(maybe_empty(draw(shapes(0, 3))))
    x = draw(arrays(spec.domain[0], shape))
    attrs = {**plain_attrs(draw, spec), "dim": _dim(draw, len(shape))}
    return [_leaf(0, x, spec)], attrs, _form(draw, spec), edge_tags([x], [])


def _factor_shape(draw: Draw, numel: int) -> list[int]:
    if numel == 0:
        out = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
        out.insert(draw(st.integers(0, len(out))), 0)
        return out
    factors: list[int] = []
    n, p = numel, 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    k = draw(st.integers(max(1, 0 if numel == 1 else 1), 4)) if numel > 1 else draw(st.integers(0, 3))
    dims = [1] * k
    for f in factors:
        dims[draw(st.integers(0, k - 1))] *= f
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return dims


def fam_shape(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    fam = spec.family
    min_dims = {"transpose": 1, "permute": 1}.get(fam, 0)
    max_dims = 2 if fam == "t" else 4
    shape = draw(maybe_empty(draw(shapes(min_dims, max_dims))))
    nd = len(shape)
    attrs: dict[str, Any] = {}
    if fam == "reshape":
        attrs["shape"] = _factor_shape(draw, int(np.prod(shape)))
    elif fam == "flatten":
        a = draw(st.integers(0, max(nd - 1, 0)))
        b = draw(st.integers(a, max(nd - 1, 0)))
        attrs["start_dim"] = a - nd if nd and draw(st.booleans()) else a
        attrs["end_dim"] = -1 if b == nd - 1 and draw(st.booleans()) else b
    elif fam == "squeeze":
        if nd and draw(st.booleans()):
            ones = [i for i, s in enumerate(shape) if s == 1]
            attrs["dim"] = draw(st.sampled_from(ones)) if ones and draw(st.booleans()) else _dim(draw, nd)
    elif fam == "unsqueeze":
        attrs["dim"] = _dim(draw, nd, 1)
    elif fam == "transpose":
        attrs["dim0"], attrs["dim1"] = _dim(draw, nd), _dim(draw, nd)
    elif fam == "permute":
        attrs["dims"] = list(draw(st.permutations(list(range(nd)))))
    elif fam == "flip":
        attrs["dims"] = [d - nd if draw(st.booleans()) else d
                         for d in draw(st.lists(st.integers(0, max(nd - 1, 0)), max_size=nd, unique=True))] if nd else []
    elif fam == "narrow":
        if nd == 0:
            shape = (draw(st.integers(1, 4)),)
            nd = 1
        dim = _dim(draw, nd)
        start = draw(st.integers(0, shape[dim]))
        attrs.update(dim=dim, start=start, length=draw(st.integers(0, shape[dim] - start)))
    elif fam == "repeat":
        attrs["sizes"] = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))] + \
            [draw(st.integers(0 if draw(st.integers(0, 9)) == 0 else 1, 3)) for _ in range(nd)]
    elif fam == "unflatten":
        if nd == 0:
            shape = (draw(st.integers(1, 6)),)
            nd = 1
        dim = _dim(draw, nd)
        sizes = _factor_shape(draw, shape[dim])
        attrs.update(dim=dim, sizes=sizes if sizes else [1])
    elif fam == "expand":  # new leading dims may be 0 (an empty result); a size-1 dim may expand to 0
        new = [draw(st.integers(0 if draw(st.integers(0, 5)) == 0 else 1, 3)) for _ in range(draw(st.integers(0, 2)))]
        target = []
        for s in shape:
            if s == 1:
                target.append(draw(st.sampled_from([1, 2, 3, -1, 0])) if spec.name == "expand" else draw(st.integers(0, 3)))
            else:
                target.append(-1 if spec.name == "expand" and draw(st.booleans()) else s)
        attrs["shape"] = new + target
    x = draw(arrays("real", tuple(shape)))
    return [_leaf(0, x, spec)], attrs, _form(draw, spec), edge_tags([x], [])


def fam_cat(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    n = draw(st.integers(1, 3))
    base = list(draw(shapes(0 if spec.name == "stack" else 1, 3)))
    nd = len(base)
    if spec.name == "hstack":
        dim = 1 if nd > 1 else 0
    elif spec.name == "vstack":
        dim = 0 if nd > 1 else -1  # 1-D inputs become rows: equal lengths
    else:
        dim = _dim(draw, nd, 0 if spec.name == "cat" else 1)
    leaves, arrs = [], []
    for i in range(n):
        s = list(base)
        if spec.name in ("cat", "hstack", "vstack") and dim >= 0 or spec.name == "cat":
            s[dim] = draw(st.integers(0 if spec.name == "cat" else 1, 3))
        a = draw(arrays("real", tuple(s)))
        arrs.append(a)
        leaves.append(Leaf(f"x{i}", a, True))
    return leaves, {"dim": dim}, _form(draw, spec), edge_tags(arrs, [])


def fam_split(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    shape = draw(maybe_empty(draw(shapes(1, 3))))
    nd = len(shape)
    dim = _dim(draw, nd)
    n = shape[dim]
    attrs: dict[str, Any] = {"dim": dim}
    if spec.name == "unbind":
        if n == 0:
            reject()
        pieces = n
    elif spec.name == "split":
        if draw(st.booleans()) and n > 0:
            sizes, left = [], n
            while left:
                k = draw(st.integers(0 if len(sizes) < 2 else 1, left))
                sizes.append(k)
                left -= k
            attrs["split"] = sizes
            pieces = len(sizes)
        else:
            size = draw(st.integers(1, max(n, 1)))
            attrs["split"] = size
            pieces = max(1, math.ceil(n / size))
    else:
        chunks = draw(st.integers(1, 4))
        attrs["chunks"] = chunks
        size = math.ceil(n / chunks) if n else 0
        pieces = math.ceil(n / size) if size else chunks if n == 0 else 1
    attrs["item"] = draw(st.integers(0, max(pieces - 1, 0)))
    x = draw(arrays("real", tuple(shape)))
    return [_leaf(0, x, spec)], attrs, _form(draw, spec), edge_tags([x], [])


def _rarely_zero(draw: Draw, high: int) -> int:
    """A size in [1, high], and about one time in ten 0 (an empty index)."""
    return draw(st.integers(0 if draw(st.integers(0, 9)) == 0 else 1, high))


def fam_gather(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    shape = draw(shapes(0, 3))
    nd = len(shape)
    dim = _dim(draw, nd)
    if nd == 0:  # a scalar is one element along dim 0; the index is 0-d or 1-d (torch)
        ishape: tuple[int, ...] = draw(st.sampled_from([(), (_rarely_zero(draw, 3),)]))
    else:
        ishape = tuple(_rarely_zero(draw, s) if i != dim % nd else _rarely_zero(draw, 4) for i, s in enumerate(shape))
    idx = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, (shape[dim] if nd else 1) - 1)))
    x = draw(arrays("real", shape))
    return [_leaf(0, x, spec), Leaf("x1", idx, False)], {"dim": dim}, _form(draw, spec), edge_tags([x, idx], [])


def fam_index_select(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    shape = draw(shapes(0, 3))
    dim = _dim(draw, len(shape))
    # the index is a vector or a 0-d tensor; a scalar input takes exactly one index (torch)
    ishape = draw(st.sampled_from([(), (1,)] if not shape else [(), (draw(st.integers(0, 5)),)]))
    idx = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, (shape[dim] if shape else 1) - 1)))
    x = draw(arrays("real", shape))
    return [_leaf(0, x, spec), Leaf("x1", idx, False)], {"dim": dim}, _form(draw, spec), edge_tags([x, idx], [])


def fam_getitem(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    shape = draw(shapes(1, 3))
    x = draw(arrays("real", shape))
    if draw(st.integers(0, 5)) == 0:  # a whole boolean mask
        mask = draw(hnp.arrays(np.bool_, shape))
        index: list[Any] = [{"tensor": mask.tolist(), "dtype": "bool"}]
        return [_leaf(0, x, spec)], {"index": {"index": index}}, "op", edge_tags([x], [])
    index = []
    advanced = False
    for s in shape[: draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "full", "array", "mask", "none"]))
        if kind in ("array", "mask") and advanced:
            kind = "slice"
        if kind == "int":
            index.append(draw(st.integers(-s, s - 1)))
        elif kind == "slice":
            a = draw(st.one_of(st.none(), st.integers(-s - 1, s)))
            b = draw(st.one_of(st.none(), st.integers(-s - 1, s + 1)))
            step = draw(st.sampled_from([None, 1, 2, 3]))
            index.append({"slice": [a, b, step]})
        elif kind == "full":
            index.append({"slice": [None, None, None]})
        elif kind == "array":
            advanced = True
            vals = draw(st.lists(st.integers(-s, s - 1), min_size=0, max_size=4))
            index.append({"tensor": vals, "dtype": "int64"})
        elif kind == "mask":
            advanced = True
            index.append({"tensor": draw(st.lists(st.booleans(), min_size=s, max_size=s)), "dtype": "bool"})
        else:
            index.append(None)
            index.append({"slice": [None, None, None]})
    if draw(st.integers(0, 4)) == 0:
        index.insert(draw(st.integers(0, len(index))), "...")
    return [_leaf(0, x, spec)], {"index": {"index": index}}, "op", edge_tags([x], [])


def fam_matmul(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    def size() -> int:
        return draw(st.integers(0 if draw(st.integers(0, 11)) == 0 else 1, 4))

    n, k, m = size(), size(), size()
    name = spec.name
    if name == "mm":
        sa, sb = (n, k), (k, m)
    elif name == "bmm":
        bsz = size()
        sa, sb = (bsz, n, k), (bsz, k, m)
    elif name == "mv":
        sa, sb = (n, k), (k,)
    elif name == "dot":
        sa, sb = (k,), (k,)
    elif name == "outer":
        sa, sb = (n,), (m,)
    elif name == "linear":
        batch = tuple(size() for _ in range(draw(st.integers(0, 2))))
        x = draw(arrays("real", batch + (k,)))
        w = draw(arrays("real", (m, k)))
        leaves = [_leaf(0, x, spec), _leaf(1, w, spec)]
        if draw(st.booleans()):
            leaves.append(_leaf(2, draw(arrays("real", (m,))), spec))
        return leaves, {}, "F", edge_tags([lf.values for lf in leaves], [])
    else:
        bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
        a_nd, b_nd = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        sa = (tuple(bs.input_shapes[0]) + (n, k)) if a_nd >= 2 else (k,)
        sb = (tuple(bs.input_shapes[1]) + (k, m)) if b_nd >= 2 else (k,)
        if a_nd == 2:
            sa = (n, k)
        if b_nd == 2:
            sb = (k, m)
    a = draw(arrays("real", sa))
    b = draw(arrays("real", sb))
    return [_leaf(0, a, spec), _leaf(1, b, spec)], {}, _form(draw, spec), edge_tags([a, b], [])


def fam_loss_pointwise(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    attrs = plain_attrs(draw, spec)
    shape = draw(maybe_empty(draw(shapes(0, 3))))
    name = spec.name
    kinks: list[float] = []
    if name in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"):
        x = draw(arrays("grid", shape))
        t = draw(arrays("grid", shape))
        gap = float(attrs.get("delta", attrs.get("beta", 0.0)))
        if x.size and draw(st.booleans()):  # plant |input - target| == 0 or == delta exactly
            mask = draw(hnp.arrays(np.bool_, shape))
            sign = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([1.0, -1.0, 0.0])))
            t = np.where(mask, x + sign * gap, t)
        kinks = [gap]
        leaves = [_leaf(0, x, spec), _leaf(1, t, spec)]
        if any("{w}" in c for c in spec.calls.values()):  # an optional elementwise weight (input's shape)
            attrs["w"] = None
            if draw(st.booleans()):
                leaves.append(Leaf("x2", draw(arrays("positive", shape)), False))
                attrs["w"] = {"input": 2}
    elif name == "hinge_embedding_loss":
        x = draw(arrays("grid", shape, (attrs["margin"], 0.0)))
        t = draw(arrays("sign", shape))
        kinks = [attrs["margin"]]
        leaves = [_leaf(0, x, spec), _leaf(1, t, spec)]
    else:  # binary_cross_entropy(_with_logits)
        x = draw(arrays(spec.domain[0], shape))
        t = draw(arrays("prob", shape))
        leaves = [_leaf(0, x, spec), _leaf(1, t, spec)]
        attrs["w"] = None
        if draw(st.booleans()):
            w = draw(arrays("positive", shape[-1:] if shape and draw(st.booleans()) else shape))
            leaves.append(Leaf("x2", w, False))
            attrs["w"] = {"input": 2}
        if name == "binary_cross_entropy_with_logits":
            attrs["pw"] = None
            if draw(st.booleans()) and shape:
                pw = draw(arrays("positive", shape[-1:]))
                leaves.append(Leaf(f"x{len(leaves)}", pw, False))
                attrs["pw"] = {"input": len(leaves) - 1}
    return leaves, attrs, _form(draw, spec), edge_tags([lf.values for lf in leaves], kinks)


def fam_loss_class(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    attrs = plain_attrs(draw, spec)
    c = draw(st.integers(1, 4))
    layout = draw(st.sampled_from(["batch", "batch", "unbatched"] + (["spatial"] if spec.name != "multi_margin_loss"
                                                                       else [])))
    # torch's multi_margin_loss returns uninitialised memory for an empty batch: not drawn
    empty_ok = spec.name != "multi_margin_loss"
    nb = draw(st.integers(0 if empty_ok and draw(st.integers(0, 9)) == 0 else 1, 4))
    d = draw(st.integers(1, 3))
    xshape, tshape = {"batch": ((nb, c), (nb,)), "unbatched": ((c,), ()),
                      "spatial": ((nb, c, d), (nb, d))}[layout]
    probs = spec.name == "cross_entropy" and draw(st.integers(0, 3)) == 0
    x = draw(arrays("grid" if spec.name == "multi_margin_loss" else spec.domain[0], xshape))
    if probs:
        raw = draw(arrays("prob", xshape))
        cdim = 0 if layout == "unbatched" else 1
        tot = raw.sum(axis=cdim, keepdims=True)
        t = np.where(tot > 0, raw / np.where(tot > 0, tot, 1.0), 1.0 / c)
    else:
        t = draw(hnp.arrays(np.int64, tshape, elements=st.integers(0, c - 1)))
    leaves = [_leaf(0, x, spec), Leaf("x1", t, False)]
    kinks: list[float] = []
    if spec.name == "multi_margin_loss" and x.size and draw(st.booleans()):
        # plant margin - x[y] + x[i] == 0 exactly for some i (grid values keep it exact)
        xm = x.reshape(-1, c).copy()
        tm = t.reshape(-1)
        i = draw(st.integers(0, c - 1))
        for r in range(xm.shape[0]):
            if i != tm[r]:
                xm[r, i] = xm[r, tm[r]] - attrs["margin"]
        x = xm.reshape(xshape)
        leaves[0] = _leaf(0, x, spec)
        kinks.append(attrs["margin"])
    attrs["w"] = None
    if draw(st.booleans()):
        leaves.append(Leaf("x2", draw(arrays("positive", (c,))), False))
        attrs["w"] = {"input": 2}
    if spec.name in ("cross_entropy", "nll_loss"):
        attrs["ignore_index"] = -100
        if not probs and t.size and draw(st.booleans()):
            attrs["ignore_index"] = int(draw(st.sampled_from(sorted(set(t.ravel().tolist())))))
    if probs and "label_smoothing" in attrs and draw(st.booleans()):
        attrs["label_smoothing"] = 0.0
    return leaves, attrs, _form(draw, spec), edge_tags([x], kinks)


def fam_one_hot(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    shape = draw(maybe_empty(draw(shapes(0, 2))))
    k = draw(st.integers(1, 4))
    idx = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, k - 1)))
    nc = -1 if idx.size and draw(st.booleans()) else k + draw(st.integers(0, 2))
    return [Leaf("x0", idx, False)], {"num_classes": nc}, "F", edge_tags([idx], [])


def fam_dropout(draw: Draw, spec: OpSpec) -> tuple[list[Leaf], dict[str, Any], str, list[str]]:
    p = draw(st.sampled_from([0.0, 1.0, 0.5]))
    training = draw(st.booleans()) if p in (0.0, 1.0) else False
    shape = draw(maybe_empty(draw(shapes(0, 3))))
    x = draw(arrays("real", shape))
    return [_leaf(0, x, spec)], {"p": p, "training": training}, _form(draw, spec), edge_tags([x], [])


FAMILIES = {
    "unary": fam_unary, "clamp": fam_unary, "pow_scalar": fam_pow_scalar, "scalar_arith": fam_scalar_arith,
    "binary": fam_binary, "where": fam_where, "reduce": fam_reduce, "softmax": fam_softmax,
    "reshape": fam_shape, "flatten": fam_shape, "squeeze": fam_shape, "unsqueeze": fam_shape,
    "transpose": fam_shape, "permute": fam_shape, "expand": fam_shape, "t": fam_shape, "cat": fam_cat,
    "flip": fam_shape, "narrow": fam_shape, "repeat": fam_shape, "unflatten": fam_shape,
    "int_binary": fam_int_binary, "ternary": fam_ternary, "masked_fill": fam_masked_fill,
    "split": fam_split, "gather": fam_gather, "index_select": fam_index_select, "getitem": fam_getitem,
    "matmul": fam_matmul, "loss_pointwise": fam_loss_pointwise, "loss_class": fam_loss_class,
    "one_hot": fam_one_hot, "dropout": fam_dropout,
}


def finalize(case: Case, seed: int) -> Case:
    """Fill cotangents (standard normal, one per float output) from the torch float64 forward pass;
    a case torch rejects (an invalid combination the strategy drew) is rejected."""
    from ..backends import reference
    from ..ir import forward_only

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs = forward_only(case, reference())
    except Exception:  # noqa: BLE001 - torch says the case is invalid
        reject()
    rng = np.random.default_rng(seed)
    case.cotangents = [rng.standard_normal(o.shape) if o.dtype.kind == "f" else None for o in outs]
    case.meta.setdefault("fd_seed", seed)
    return case


@st.composite
def op_case(draw: Draw, spec: OpSpec) -> Case:
    """A one-node case for a catalogue op: leaves, the node, its output, random cotangents."""
    leaves, attrs, form, tags = FAMILIES[spec.family](draw, spec)
    node = Node(0, spec.name, [lf.name for lf in leaves], attrs, form)
    seed = draw(st.integers(0, 2**31 - 1))
    vjp = draw(st.sampled_from(["backward", "backward", "grad"]))
    case = Case(leaves, [node], ["n0"], [], {"kind": "op", "vjp": vjp, "edge_values": tags})
    return finalize(case, seed)


def all_op_specs() -> list[OpSpec]:
    """Every op entry that has a strategy family."""
    return [s for s in catalog.op_entries() if s.family in FAMILIES]
