"""Random DAGs: drawn node by node in topological order, so values are reused (fan-out, shared
subexpressions) and gradients must accumulate; several outputs; broadcasting between nodes.

Every node is evaluated with torch float64 while drawing: that gives its shape (needed to draw the next
node's attributes) and keeps the graph well conditioned (a node whose values are not finite or exceed
``MAX_ABS`` is dropped), so the comparison is about autodiff, not about amplified rounding.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .. import catalog
from ..catalog import OpSpec
from ..ir import Case, Leaf, Node
from .ops import _dim, _factor_shape, finalize, plain_attrs
from .values import arrays, edge_tags

MAX_ABS = 1e3
Draw = Any


def dag_specs() -> list[OpSpec]:
    """Catalogue entries flagged ``dag``."""
    return [s for s in catalog.op_entries() if s.dag]


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def _pick(draw: Draw, avail: list[tuple[str, np.ndarray]], ok: Any = None) -> tuple[str, np.ndarray] | None:
    """An available value, biased towards recent ones (shrinks towards the newest)."""
    cands = [v for v in avail if ok is None or ok(v[1])]
    if not cands:
        return None
    recent = draw(st.booleans())  # half the time one of the 3 newest: deeper graphs
    return cands[len(cands) - 1 - draw(st.integers(0, min(2, len(cands) - 1) if recent else len(cands) - 1))]


def _node_inputs(draw: Draw, spec: OpSpec, avail: list[tuple[str, np.ndarray]],
                 ) -> tuple[list[str], dict[str, Any], str] | None:
    fam = spec.family
    first = _pick(draw, avail, lambda v: v.dtype.kind == "f")
    if first is None:
        return None
    name, x = first
    nd = x.ndim
    attrs: dict[str, Any] = {}
    inputs = [name]
    form = draw(st.sampled_from(list(spec.calls)))
    if fam in ("unary", "clamp"):
        attrs = plain_attrs(draw, spec)
        if spec.name == "clamp" and attrs.get("min") is None and attrs.get("max") is None:
            attrs["min"] = -1.0
    elif fam == "binary":
        other = _pick(draw, avail, lambda v: v.dtype.kind == "f" and _broadcastable(v.shape, x.shape))
        inputs.append(other[0] if other else name)
    elif fam == "reduce":
        if nd == 0 and spec.attrs["dims"] == "int":
            return None
        if nd and (spec.attrs["dims"] == "int" or draw(st.booleans())):
            attrs["dim"] = _dim(draw, nd)
            attrs["keepdim"] = draw(st.booleans())
    elif fam == "softmax":
        if nd == 0:
            return None
        attrs["dim"] = _dim(draw, nd)
    elif fam == "reshape":
        attrs["shape"] = _factor_shape(draw, x.size)
    elif fam == "transpose":
        if nd < 2:
            return None
        attrs["dim0"], attrs["dim1"] = _dim(draw, nd), _dim(draw, nd)
    elif fam == "unsqueeze":
        attrs["dim"] = _dim(draw, nd, 1)
    elif fam == "expand":
        attrs["shape"] = [draw(st.integers(1, 3))] + [draw(st.integers(1, 3)) if s == 1 else s for s in x.shape]
    elif fam == "getitem":
        if nd == 0 or x.shape[0] == 0:
            return None
        a = draw(st.integers(0, x.shape[0] - 1))
        kind = draw(st.sampled_from(["int", "slice", "array"]))
        item: Any = a if kind == "int" else {"slice": [a, None, draw(st.sampled_from([None, 2]))]} \
            if kind == "slice" else {"tensor": [a, 0, a], "dtype": "int64"}
        attrs["index"] = {"index": [item]}
    elif fam == "cat":
        if nd == 0:
            return None
        other = _pick(draw, avail, lambda v: v.dtype.kind == "f" and v.shape == x.shape)
        inputs.append(other[0] if other else name)
        attrs["dim"] = _dim(draw, nd)
    elif fam == "matmul":
        if nd != 2:
            return None
        other = _pick(draw, avail, lambda v: v.ndim == 2 and v.shape[0] == x.shape[1] and v.dtype.kind == "f")
        if other is None:
            return None
        inputs.append(other[0])
    else:
        return None
    return inputs, attrs, form


def _eval_node(spec: OpSpec, form: str, args: list[np.ndarray], attrs: dict[str, Any]) -> np.ndarray | None:
    from ..backends import reference

    ref = reference()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = ref.to_numpy(ref.apply(spec, form, [ref.leaf(a, False) for a in args], attrs))
    except Exception:  # noqa: BLE001 - an invalid combination: drop the node
        return None
    if out.dtype.kind != "f" or not np.isfinite(out).all() or (out.size and np.abs(out).max() > MAX_ABS):
        return None
    return out


@st.composite
def dag_case(draw: Draw, max_nodes: int = 30) -> Case:
    """A random DAG of up to ``max_nodes`` catalogue ops over 1-4 leaves with broadcast-compatible shapes."""
    specs = dag_specs()
    base = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)).copy()
    leaves: list[Leaf] = []
    for i in range(draw(st.integers(1, 4))):
        k = draw(st.integers(0, len(base)))
        shape = tuple(base[k:])
        if shape and draw(st.booleans()):
            shape = (1,) + shape[1:]
        leaves.append(Leaf(f"x{i}", draw(arrays("dag", shape)), draw(st.integers(0, 5)) != 0))
    avail: list[tuple[str, np.ndarray]] = [(lf.name, lf.values) for lf in leaves]
    nodes: list[Node] = []
    used: set[str] = set()
    for _ in range(draw(st.integers(1, max_nodes))):
        spec = draw(st.sampled_from(specs))
        got = _node_inputs(draw, spec, avail)
        if got is None:
            continue
        inputs, attrs, form = got
        env = dict(avail)
        out = _eval_node(spec, form, [env[i] for i in inputs], attrs)
        if out is None:
            continue
        node = Node(len(nodes), spec.name, inputs, attrs, form)
        nodes.append(node)
        used.update(inputs)
        avail.append((node.ref, out))
    if not nodes:  # every drawn node was dropped: fall back to one product (fan-out when one leaf)
        nodes.append(Node(0, "mul", [leaves[0].name, leaves[-1].name], {}, "op"))
        used.update(nodes[0].inputs)
    sinks = [n.ref for n in nodes if n.ref not in used]
    extra = draw(st.lists(st.sampled_from([n.ref for n in nodes]), max_size=2, unique=True))
    outputs = list(dict.fromkeys(sinks[-3:] + extra)) or [nodes[-1].ref]
    tags = edge_tags([lf.values for lf in leaves], [], len({lf.values.shape for lf in leaves}) > 1)
    case = Case(leaves, nodes, outputs, [], {"kind": "graph", "vjp": draw(st.sampled_from(["backward", "grad"])),
                                             "edge_values": tags})
    return finalize(case, draw(st.integers(0, 2**31 - 1)))


def depth_factor(case: Case) -> float:
    """The tolerance factor for a graph: ``1 + depth / 2``."""
    return 1.0 + case.depth() / 2

