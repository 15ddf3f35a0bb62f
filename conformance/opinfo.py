"""torch's own sample corpus as a second source of cases: OpInfo ``sample_inputs`` turned into IR cases.

For each catalogue entry with an OpInfo (``OpSpec.opinfo``; default: the OpInfo called like the entry, else
``nn.functional.<name>``), :func:`plan` draws nothing: it lists torch's samples at float64 and at float32
(``sample_inputs(device="cpu", dtype, requires_grad=True)``, torch's RNG seeded so the list is fixed) and
converts each into a one-op IR case: every tensor of the sample becomes a leaf (an index tensor an integer
leaf, a tensor used twice one leaf), every other argument a literal in the node's own call template
(``catalog.OWN_CALL``), e.g. ``T.sum({0}, (0, -1), keepdim=True, dtype=T.float64)``. A tuple result
(``max(x, dim)``, ``split``) becomes one node per element. Cotangents are seeded standard normals.

A sample that needs something minigrad deliberately lacks is skipped with a reason from :data:`SKIPS`
(complex numbers, devices, ``out=``, memory formats, generators); :func:`plan` returns them, counted.
Importing torch's test database takes ~10 s, so it happens once per process, on first use.
"""

from __future__ import annotations

import functools
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import catalog
from .catalog import OWN_CALL, OpSpec
from .ir import Case, Leaf, Node, forward_only
from .strategies.values import edge_tags

#: reason key -> what minigrad deliberately lacks (a skipped sample names one of these)
SKIPS: dict[str, str] = {
    "complex": "complex numbers (minigrad is real-valued)",
    "device": "devices other than the CPU",
    "out": "out= arguments",
    "memory_format": "memory formats and layouts",
    "generator": "explicit torch.Generator objects",
    "dtype": "dtypes minigrad does not have (float16, bfloat16, uint8, int8, int16, complex)",
    "inplace_broadcast": "the in-place form of a sample whose input broadcasts to a larger shape (torch raises)",
}

#: dtypes minigrad has (a sample naming another one is skipped)
MINIGRAD_DTYPES = frozenset({"float32", "float64", "int64", "int32", "bool"})


class Unsupported(Exception):
    """A sample uses something minigrad deliberately lacks (``args[0]`` is a key of :data:`SKIPS`)."""


@dataclass
class Sample:
    """One converted sample: the case (None when skipped), the OpInfo it came from and its index."""

    opinfo: str
    index: int
    dtype: str
    case: Case | None
    skip: str | None = None
    detail: str = ""


@dataclass
class Plan:
    """Every sample of one catalogue entry at one dtype."""

    spec: str
    dtype: str
    samples: list[Sample] = field(default_factory=list)

    def cases(self) -> list[Sample]:
        return [s for s in self.samples if s.case is not None]

    def skipped(self) -> dict[str, int]:
        """Skip reason -> count."""
        out: dict[str, int] = {}
        for s in self.samples:
            if s.skip:
                out[s.skip] = out.get(s.skip, 0) + 1
        return out


@functools.lru_cache(maxsize=1)
def op_db() -> dict[str, list[Any]]:
    """torch's OpInfo database by name (imported once: it takes ~10 s)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_methods_invocations import op_db as db
    out: dict[str, list[Any]] = {}
    for info in db:
        out.setdefault(info.name, []).append(info)
    return out


def opinfo_names(spec: OpSpec) -> list[str]:
    """The OpInfo names of an entry (``"name"`` or ``"name:variant"``), resolved against the database."""
    if spec.opinfo is not None:
        return list(spec.opinfo)
    db = op_db()
    return next(([n] for n in (spec.name, f"nn.functional.{spec.name}", f"linalg.{spec.name}") if n in db), [])


def opinfos(spec: OpSpec) -> list[Any]:
    """The OpInfo objects of an entry (KeyError names an unknown OpInfo or variant)."""
    db = op_db()
    out = []
    for ref in opinfo_names(spec):
        name, _, variant = ref.partition(":")
        infos = [i for i in db[name] if not variant or i.variant_test_name == variant]
        if not infos:
            raise KeyError(f"{spec.name}: no OpInfo {ref!r}")
        out += infos
    return out


def call_target(spec: OpSpec, info: Any) -> str:
    """How the entry calls an OpInfo: ``T.<name>(`` when the entry exports (or its templates call) torch's
    function of that name and the OpInfo calls that function, else ``{0}.<name>(`` (a method) or
    ``{0}.clone().<name>_(`` (the in-place method, on a non-leaf copy) from ``exports``."""
    import torch

    last = info.name.split(".")[-1]
    function = torch
    for part in info.name.split("."):
        function = getattr(function, part, None)
    if info.op is function:  # the OpInfo calls torch.<name> itself (not a lambda reordering the arguments)
        for name in (info.name, f"nn.functional.{last}", f"linalg.{last}", last):
            if name in spec.exports or any(t.startswith(f"T.{name}(") for t in spec.calls.values()):
                return f"T.{name}("
    if f"Tensor.{last}" in spec.exports:
        return f"{{0}}.{last}("
    if f"Tensor.{last}_" in spec.exports:
        return f"{{0}}.clone().{last}_("
    raise KeyError(f"{spec.name}: no export calls OpInfo {info.name!r} (exports {spec.exports})")


class _Renderer:
    """Python source for a sample's arguments; tensors become leaves ``{k}``."""

    def __init__(self, dtype: str) -> None:
        self.leaves: list[Leaf] = []
        self._ids: dict[int, int] = {}
        self.dtype = dtype

    def tensor(self, t: Any) -> str:
        key = id(t)
        if key not in self._ids:
            if t.is_complex():
                raise Unsupported("complex")
            if str(t.device) != "cpu":
                raise Unsupported("device")
            values = t.detach().cpu().resolve_neg().resolve_conj().numpy().copy()
            dt = str(values.dtype)
            if dt not in MINIGRAD_DTYPES:
                raise Unsupported("dtype")
            self._ids[key] = len(self.leaves)
            self.leaves.append(Leaf(f"x{len(self.leaves)}", values, bool(t.requires_grad) and values.dtype.kind == "f"))
        return f"{{{self._ids[key]}}}"

    def value(self, v: Any) -> str:
        import torch

        if isinstance(v, torch.Tensor):
            return self.tensor(v)
        if v is None or isinstance(v, (bool, int)):
            return repr(v)
        if isinstance(v, float):
            return catalog.render_attr(v)
        if isinstance(v, complex):
            raise Unsupported("complex")
        if isinstance(v, str):
            return repr(v).replace("{", "{{").replace("}", "}}")
        if isinstance(v, torch.dtype):
            name = str(v).split(".")[-1]
            if name not in MINIGRAD_DTYPES:
                raise Unsupported("dtype")
            return f"T.{name}"
        if isinstance(v, torch.Size):
            return self.value(tuple(v))
        if isinstance(v, tuple):
            inner = ", ".join(self.value(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        if isinstance(v, list):
            return "[" + ", ".join(self.value(x) for x in v) + "]"
        if isinstance(v, slice):
            return f"slice({self.value(v.start)}, {self.value(v.stop)}, {self.value(v.step)})"
        if v is Ellipsis:
            return "Ellipsis"
        if isinstance(v, torch.device):
            raise Unsupported("device")
        if isinstance(v, (torch.memory_format, torch.layout)):
            raise Unsupported("memory_format")
        if isinstance(v, torch.Generator):
            raise Unsupported("generator")
        raise TypeError(f"cannot render sample argument {v!r} ({type(v).__name__})")


def sample_call(spec: OpSpec, info: Any, sample: Any, dtype: str) -> tuple[str, list[Leaf]]:
    """The call template and leaves of one SampleInput (raises :class:`Unsupported`)."""
    if "out" in sample.kwargs:
        raise Unsupported("out")
    if "device" in sample.kwargs:
        raise Unsupported("device")
    r = _Renderer(dtype)
    target = call_target(spec, info)
    if target.endswith("_(") and sample.broadcasts_input:
        raise Unsupported("inplace_broadcast")
    first = r.value(sample.input)
    args = [r.value(a) for a in sample.args] + [f"{k}={r.value(v)}" for k, v in sample.kwargs.items()]
    if target.startswith("T."):
        return target + ", ".join([first, *args]) + ")", r.leaves
    if first != "{0}":
        raise TypeError(f"{spec.name}: method form needs a tensor input, got {first}")
    return target + ", ".join(args) + ")", r.leaves


def _seed(*parts: Any) -> int:
    return zlib.crc32(repr(parts).encode())


def to_case(spec: OpSpec, info: Any, index: int, sample: Any, dtype: str) -> Case:
    """An IR case for one sample: one node per tensor result, seeded standard-normal cotangents.
    Raises :class:`Unsupported`, or any exception torch raises on the rendered call."""
    from .backends import reference

    call, leaves = sample_call(spec, info, sample, dtype)
    label = f"{info.name}:{info.variant_test_name}" if info.variant_test_name else info.name
    meta = {"kind": "opinfo", "vjp": "backward", "opinfo": label, "sample": index,
            "edge_values": edge_tags([lf.values for lf in leaves], [])}
    probe = Case(leaves, [Node(0, spec.name, [lf.name for lf in leaves], {OWN_CALL: call}, OWN_CALL)], ["n0"], [],
                 meta)
    torch_backend = reference()
    env = {lf.name: torch_backend.leaf(lf.values, False) for lf in leaves}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = torch_backend.apply(spec, OWN_CALL, [env[lf.name] for lf in leaves], {OWN_CALL: call})
    import torch

    if isinstance(out, (tuple, list)):
        if not all(isinstance(o, torch.Tensor) for o in out):
            raise TypeError(f"{spec.name}: non-tensor result {type(out).__name__}")
        nodes = [Node(k, spec.name, [lf.name for lf in leaves], {OWN_CALL: f"({call})[{k}]"}, OWN_CALL)
                 for k in range(len(out))]
        probe = Case(leaves, nodes, [n.ref for n in nodes], [], meta)
    elif not isinstance(out, torch.Tensor):
        raise TypeError(f"{spec.name}: non-tensor result {type(out).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = forward_only(probe, torch_backend)
    seed = _seed(spec.name, label, index, dtype)
    rng = np.random.default_rng(seed)
    probe.cotangents = [rng.standard_normal(o.shape).astype(o.dtype) if o.dtype.kind == "f" else None for o in outs]
    probe.meta["fd_seed"] = seed
    return probe


def sample_dtypes(spec: OpSpec) -> list[str]:
    """The dtypes torch's samples are generated in: float64 and float32 for float entries, else the entry's."""
    return list(spec.dtypes)


@functools.cache
def plan(name: str, dtype: str) -> Plan:
    """Every OpInfo sample of catalogue entry ``name`` at ``dtype``, converted (cached per process)."""
    import torch

    spec = catalog.get(name)
    out = Plan(name, dtype)
    tdtype = getattr(torch, dtype)
    for info in opinfos(spec):
        if tdtype not in info.supported_dtypes("cpu"):
            continue
        torch.manual_seed(_seed(info.name, info.variant_test_name) % 2**31)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            samples = list(info.sample_inputs("cpu", tdtype, requires_grad=tdtype.is_floating_point))
        for i, s in enumerate(samples):
            try:
                case = to_case(spec, info, i, s, dtype)
            except Unsupported as e:
                out.samples.append(Sample(info.name, i, dtype, None, str(e.args[0]), _describe(s)))
                continue
            out.samples.append(Sample(info.name, i, dtype, case))
    return out


def _describe(sample: Any) -> str:
    text = repr(sample)
    return text if len(text) < 300 else text[:297] + "..."


def entries_with_opinfo() -> list[OpSpec]:
    """Catalogue op entries that have at least one OpInfo."""
    return [s for s in catalog.op_entries() if opinfo_names(s)]


def summary() -> dict[str, Any]:
    """Counts per entry and dtype, and skip reasons (``python -m conformance.opinfo`` prints it)."""
    rows = {}
    for spec in entries_with_opinfo():
        for dt in sample_dtypes(spec):
            p = plan(spec.name, dt)
            rows[f"{spec.name}/{dt}"] = {"cases": len(p.cases()), "skipped": p.skipped()}
    return rows


if __name__ == "__main__":  # pragma: no cover - a listing for people
    import json

    s = summary()
    total = {dt: sum(v["cases"] for k, v in s.items() if k.endswith("/" + dt)) for dt in ("float64", "float32")}
    skipped: dict[str, int] = {}
    for v in s.values():
        for k, n in v["skipped"].items():
            skipped[k] = skipped.get(k, 0) + n
    print(json.dumps({"entries": len({k.split('/')[0] for k in s}), "cases": total, "skipped": skipped,
                      "rows": s}, indent=1))
