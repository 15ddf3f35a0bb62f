"""Backend-neutral graph IR: leaves (arrays), nodes (catalogue op, inputs, attrs), outputs, cotangents.

JSON shape (``version`` 1)::

    {"version": 1,
     "leaves": [{"name": "x0", "shape": [2, 3], "dtype": "float64", "requires_grad": true, "values": [...]}],
     "nodes": [{"id": 0, "op": "exp", "inputs": ["x0"], "attrs": {}, "form": "fn"}],
     "outputs": ["n0"],
     "cotangents": [{"shape": [2, 3], "dtype": "float64", "values": [...]} | null],
     "meta": {"kind": "op", "vjp": "backward", "fd_seed": 0}}

Inputs name leaves (``x0``) or earlier nodes (``n<id>``). ``form`` picks one of the op's call templates
(optional, default: the first). ``values`` are flat, row-major; floats are written with ``repr`` (Python's
shortest round-trip representation, so JSON -> float is exact) and non-finite floats as the strings
``"nan"``, ``"inf"``, ``"-inf"``. ``cotangents`` has one entry per output (``null`` for outputs without a
gradient: integer/boolean results). ``meta.vjp`` is ``backward`` (``out.backward(v)`` per output, gradients
accumulate in ``.grad``) or ``grad`` (``autograd.grad``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import catalog
from .schema import json_float

IR_VERSION = 1


def encode_array(a: np.ndarray) -> dict[str, Any]:
    """An array as ``{"shape", "dtype", "values"}`` with exact floats."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        values: list[Any] = [json_float(v) for v in a.astype(np.float64).ravel().tolist()]
    elif a.dtype.kind == "b":
        values = [bool(v) for v in a.ravel().tolist()]
    else:
        values = [int(v) for v in a.ravel().tolist()]
    return {"shape": list(a.shape), "dtype": str(a.dtype), "values": values}


def decode_array(d: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_array`."""
    dtype = np.dtype(d["dtype"])
    vals = [float(v) if isinstance(v, str) else v for v in d["values"]]
    return np.array(vals, dtype=dtype if dtype.kind != "f" else np.float64).astype(dtype).reshape(d["shape"])


@dataclass
class Leaf:
    """An input array; ``requires_grad`` only for float leaves."""

    name: str
    values: np.ndarray
    requires_grad: bool = True

    @property
    def dtype(self) -> str:
        return str(self.values.dtype)


@dataclass
class Node:
    """One op application; ``inputs`` are leaf names or ``n<id>``."""

    id: int
    op: str
    inputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    form: str | None = None

    @property
    def ref(self) -> str:
        return f"n{self.id}"

    def call_form(self) -> str:
        spec = catalog.get(self.op)
        return self.form if self.form is not None else next(iter(spec.calls))


@dataclass
class Case:
    """A whole graph case."""

    leaves: list[Leaf]
    nodes: list[Node]
    outputs: list[str]
    cotangents: list[np.ndarray | None] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    # ---- JSON -----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (see the module docstring)."""
        return {
            "version": IR_VERSION,
            "leaves": [{"name": lf.name, **_leaf_array(lf.values), "requires_grad": lf.requires_grad}
                       for lf in self.leaves],
            "nodes": [{"id": n.id, "op": n.op, "inputs": list(n.inputs), "attrs": attrs_to_json(n.attrs),
                       "form": n.call_form()} for n in self.nodes],
            "outputs": list(self.outputs),
            "cotangents": [None if c is None else encode_array(c) for c in self.cotangents],
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Case:
        """Inverse of :meth:`to_json`."""
        if d.get("version") != IR_VERSION:
            raise ValueError(f"unsupported IR version {d.get('version')!r}")
        leaves = [Leaf(lf["name"], decode_array(lf), bool(lf["requires_grad"])) for lf in d["leaves"]]
        nodes = [Node(int(n["id"]), n["op"], list(n["inputs"]), attrs_from_json(n.get("attrs", {})), n.get("form"))
                 for n in d["nodes"]]
        cots = [None if c is None else decode_array(c) for c in d.get("cotangents", [])]
        return cls(leaves, nodes, list(d["outputs"]), cots, dict(d.get("meta", {})))

    def dumps(self) -> str:
        """Compact JSON text (``allow_nan=False``: non-finite floats are strings)."""
        return json.dumps(self.to_json(), allow_nan=False, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> Case:
        return cls.from_json(json.loads(text))

    def digest(self) -> str:
        """A short stable hash of the case (for record ids)."""
        return hashlib.sha1(self.dumps().encode()).hexdigest()[:10]

    # ---- helpers --------------------------------------------------------------------------------
    def astype(self, dtype: str) -> Case:
        """The same case with float leaves and cotangents cast to ``dtype``."""
        def cast(a: np.ndarray | None) -> np.ndarray | None:
            if a is None or a.dtype.kind != "f":
                return a
            return a.astype(dtype)
        return Case([Leaf(lf.name, cast(lf.values), lf.requires_grad) for lf in self.leaves],
                    copy.deepcopy(self.nodes), list(self.outputs), [cast(c) for c in self.cotangents],
                    {**self.meta, "dtype": dtype})

    def ops(self) -> list[str]:
        """The catalogue ops used, sorted."""
        return sorted({n.op for n in self.nodes})

    def grad_leaves(self) -> list[Leaf]:
        return [lf for lf in self.leaves if lf.requires_grad and lf.values.dtype.kind == "f"]

    def depth(self) -> int:
        """Longest path (in nodes) from a leaf to an output."""
        d: dict[str, int] = {lf.name: 0 for lf in self.leaves}
        for n in self.nodes:
            d[n.ref] = 1 + max((d[i] for i in n.inputs), default=0)
        return max((d[o] for o in self.outputs), default=0)

    def node(self, ref: str) -> Node:
        return self.nodes[int(ref[1:])] if self.nodes[int(ref[1:])].ref == ref else \
            next(n for n in self.nodes if n.ref == ref)


def attrs_to_json(value: Any) -> Any:
    """Attributes as strict JSON: a non-finite float becomes ``{"float": "inf"}`` (exact round-trip)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": json_float(value)}
    if isinstance(value, dict):
        return {k: attrs_to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [attrs_to_json(v) for v in value]
    return value


def attrs_from_json(value: Any) -> Any:
    """Inverse of :func:`attrs_to_json`."""
    if isinstance(value, dict):
        if set(value) == {"float"}:
            return float(value["float"])
        return {k: attrs_from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [attrs_from_json(v) for v in value]
    return value


def _leaf_array(a: np.ndarray) -> dict[str, Any]:
    return encode_array(a)


@dataclass
class Evaluation:
    """What a backend computed for a case: outputs, gradients of grad leaves, and every node value."""

    outputs: list[np.ndarray]
    grads: dict[str, np.ndarray]
    nodes: dict[str, np.ndarray] = field(default_factory=dict)


def evaluate(case: Case, backend: Any, *, grads: bool = True, keep_nodes: bool = False) -> Evaluation:
    """Run ``case`` on ``backend`` (see ``conformance.backends.base.Backend``): forward, then the VJP."""
    env: dict[str, Any] = {}
    for lf in case.leaves:
        env[lf.name] = backend.leaf(lf.values, lf.requires_grad and lf.values.dtype.kind == "f")
    for n in case.nodes:
        spec = catalog.get(n.op)
        env[n.ref] = backend.apply(spec, n.call_form(), [env[i] for i in n.inputs], n.attrs)
    outs = [env[o] for o in case.outputs]
    out_arrays = [backend.to_numpy(o) for o in outs]
    grad_arrays: dict[str, np.ndarray] = {}
    gl = case.grad_leaves()
    if grads and gl:
        cots = case.cotangents or [None] * len(outs)
        got = backend.vjp(outs, cots, [env[lf.name] for lf in gl], method=case.meta.get("vjp", "backward"))
        for lf, g in zip(gl, got):
            grad_arrays[lf.name] = np.zeros_like(lf.values) if g is None else g
    node_arrays = {n.ref: backend.to_numpy(env[n.ref]) for n in case.nodes} if keep_nodes else {}
    return Evaluation(out_arrays, grad_arrays, node_arrays)


def forward_only(case: Case, backend: Any, leaf_values: dict[str, np.ndarray] | None = None) -> list[np.ndarray]:
    """Outputs only, optionally with replaced leaf values (finite differences use this)."""
    env: dict[str, Any] = {}
    for lf in case.leaves:
        vals = leaf_values.get(lf.name, lf.values) if leaf_values else lf.values
        env[lf.name] = backend.leaf(vals, False)
    for n in case.nodes:
        env[n.ref] = backend.apply(catalog.get(n.op), n.call_form(), [env[i] for i in n.inputs], n.attrs)
    return [backend.to_numpy(env[o]) for o in case.outputs]


# ---- standalone reproducer ---------------------------------------------------------------------------
def _py_array(a: np.ndarray) -> str:
    vals = a.ravel().tolist()
    if a.dtype.kind == "f":
        text = "[" + ", ".join(catalog.render_attr(float(v)) for v in vals) + "]"
    else:
        text = repr(vals)
    return f"np.array({text}, dtype=np.{a.dtype}).reshape({tuple(a.shape)!r})"


def emit_repro(case: Case, title: str = "") -> str:
    """Source of a standalone ``repro.py`` (numpy, torch, minigrad) printing both results and the diff."""
    lines = [
        '"""Reproducer' + (f": {title}" if title else "") + ' (generated by conformance; needs numpy, torch, minigrad)."""',
        "import numpy as np",
        "import torch",
        "import minigrad",
        "",
        "np.set_printoptions(precision=17)",
        "",
        "",
        "def run(T):",
        "    F = T.nn.functional",
    ]
    for lf in case.leaves:
        rg = lf.requires_grad and lf.values.dtype.kind == "f"
        lines.append(f"    {lf.name} = T.tensor({_py_array(lf.values)}, requires_grad={rg})")
    for n in case.nodes:
        expr = catalog.render_call(catalog.get(n.op), n.call_form(), list(n.inputs), n.attrs)
        lines.append(f"    {n.ref} = {expr}")
    lines.append(f"    outs = [{', '.join(case.outputs)}]")
    cots = case.cotangents or [None] * len(case.outputs)
    lines.append("    cots = [" + ", ".join("None" if c is None else _py_array(c) for c in cots) + "]")
    lines.append("    for o, c in zip(outs, cots):")
    lines.append("        if c is not None and o.requires_grad:")
    lines.append("            o.backward(T.tensor(c), retain_graph=True)")
    grads = ", ".join(f"{lf.name!r}: {lf.name}.grad" for lf in case.grad_leaves())
    lines.append(f"    grads = {{{grads}}}")
    lines.append("    return ([np.array(o.detach().numpy()) for o in outs],")
    lines.append("            {k: None if g is None else np.array(g.numpy()) for k, g in grads.items()})")
    lines += [
        "",
        "",
        "def show(name, a, b):",
        "    print(f'--- {name}')",
        "    print('torch   :', a)",
        "    print('minigrad:', b)",
        "    if a is not None and b is not None and np.shape(a) == np.shape(b) and np.asarray(a).dtype.kind in 'fc':",
        "        with np.errstate(invalid='ignore'):",
        "            print('abs diff:', np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))",
        "",
        "",
        "if __name__ == '__main__':",
        "    t_out, t_grad = run(torch)",
        "    m_out, m_grad = run(minigrad)",
        "    for i, (a, b) in enumerate(zip(t_out, m_out)):",
        "        show(f'out[{i}]', a, b)",
        "    for k in t_grad:",
        "        show(f'grad[{k}]', t_grad[k], m_grad.get(k))",
    ]
    return "\n".join(lines) + "\n"


_TRAIN_SCRIPT = '''"""Reproducer: {title} (generated by conformance; needs numpy, torch, minigrad)."""
import json

import numpy as np
import torch
import minigrad

CASE = json.loads({case_json!r})
ACT = {{"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "leaky_relu": "LeakyReLU", "gelu": "GELU",
       "elu": "ELU", "silu": "SiLU", "softplus": "Softplus", "identity": "Identity"}}


def arr(d):
    vals = [float(v) if isinstance(v, str) else v for v in d["values"]]
    return np.array(vals, dtype=np.float64 if d["dtype"].startswith("float") else d["dtype"]).astype(
        d["dtype"]).reshape(d["shape"])


def run(T):
    dtype = CASE["dtype"]
    sizes = CASE["model"]["sizes"]
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(T.nn.Linear(sizes[k], sizes[k + 1], bias=CASE["model"]["bias"]))
        if k < len(sizes) - 2:
            layers.append(getattr(T.nn, ACT[CASE["model"]["activation"]])())
    model = T.nn.Sequential(*layers)
    if dtype == "float64":
        model = model.double()
    model.load_state_dict({{k: T.tensor(arr(v).astype(dtype)) for k, v in CASE["params"].items()}})
    named = dict(model.named_parameters())
    names = sorted(named)
    opt = sched = None
    if CASE.get("optimizer"):
        attrs = dict(CASE["optimizer"]["attrs"])
        if "betas" in attrs:
            attrs["betas"] = tuple(attrs["betas"])
        opt = getattr(T.optim, CASE["optimizer"]["name"])([named[k] for k in names], **attrs)
        if CASE.get("scheduler"):
            sched = getattr(T.optim.lr_scheduler, CASE["scheduler"]["name"])(opt, **CASE["scheduler"]["attrs"])
    losses, params, grads = [], [], []
    for step in range(CASE["steps"]):
        b = CASE["batches"][step % len(CASE["batches"])]
        x, y = arr(b["x"]), arr(b["y"])
        x = T.tensor(x.astype(dtype))
        y = T.tensor(y.astype(dtype) if y.dtype.kind == "f" else y)
        if opt is not None:
            opt.zero_grad()
        loss = getattr(T.nn.functional, CASE["loss"]["name"])(model(x), y, **CASE["loss"]["attrs"])
        loss.backward()
        if CASE.get("clip"):
            getattr(T.nn.utils, CASE["clip"]["name"])([named[k] for k in names], **CASE["clip"]["attrs"])
        grads.append({{k: named[k].grad.detach().numpy().copy() for k in names if named[k].grad is not None}})
        if opt is not None:
            opt.step()
        if sched is not None:
            sched.step()
        losses.append(float(loss.detach().numpy()))
        params.append({{k: named[k].detach().numpy().copy() for k in names}})
    return losses, grads, params


if __name__ == "__main__":
    np.set_printoptions(precision=10)
    t = run(torch)
    m = run(minigrad)
    for step in range(CASE["steps"]):
        print(f"step {{step}}: loss torch={{t[0][step]!r}} minigrad={{m[0][step]!r}} diff={{abs(t[0][step] - m[0][step]):.3e}}")
        for kind, i in (("grad", 1), ("param", 2)):
            for k in t[i][step]:
                a, b = t[i][step][k], m[i][step].get(k)
                d = np.max(np.abs(a - b)) if b is not None and np.shape(a) == np.shape(b) else float("inf")
                print(f"  {{kind}}[{{k}}] max abs diff {{d:.3e}}")
'''


def emit_train_repro(case: dict[str, Any], title: str = "training case") -> str:
    """Source of a standalone ``repro.py`` for a network/training case (numpy, torch, minigrad)."""
    return _TRAIN_SCRIPT.format(title=title, case_json=json.dumps(case, separators=(",", ":")))
