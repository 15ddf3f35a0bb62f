"""Coverage of the catalogue: every public op a backend library exports must have a catalogue entry."""

from __future__ import annotations

import ast
import inspect
import string
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from . import catalog

#: (attribute path in the library, prefix used in catalogue ``exports``)
NAMESPACES = (("", ""), ("nn.functional", "nn.functional."), ("nn", "nn."), ("nn.init", "nn.init."),
              ("optim", "optim."), ("optim.lr_scheduler", "optim.lr_scheduler."), ("nn.utils", "nn.utils."),
              ("linalg", "linalg."))


def _resolve(lib: ModuleType, path: str) -> object | None:
    obj: object = lib
    for part in filter(None, path.split(".")):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def exported_names(lib: ModuleType) -> list[str]:
    """Public callables of the library, its namespaces and ``Tensor`` methods, as catalogue export names."""
    names: set[str] = set()
    for path, prefix in NAMESPACES:
        ns = _resolve(lib, path)
        if ns is None:
            continue
        public = getattr(ns, "__all__", None) or [n for n in dir(ns) if not n.startswith("_")]
        for n in public:
            obj = getattr(ns, n, None)
            if obj is None or inspect.ismodule(obj) or getattr(obj, "__module__", "") == "typing":
                continue
            if callable(obj) or inspect.isclass(obj):
                names.add(prefix + n)
    tensor = getattr(lib, "Tensor", None)
    if tensor is not None:
        for n, _ in inspect.getmembers(tensor):
            if n.startswith("_") and not (n.startswith("__") and n.endswith("__")):
                continue
            if n.startswith("__") and n not in _DUNDER_OPS:
                continue
            names.add(f"Tensor.{n}")
    return sorted(names)


_DUNDER_OPS = {f"__{n}__" for n in (
    "add radd sub rsub mul rmul truediv rtruediv pow rpow matmul rmatmul neg abs eq ne lt le gt ge getitem "
    "floordiv rfloordiv mod rmod and or xor invert pos iadd isub imul itruediv".split())}


def uncovered(lib: ModuleType) -> list[str]:
    """Exported names with neither a catalogue entry nor a place in ``catalog.NOT_OPS``."""
    index = catalog.export_index()
    out = []
    for name in exported_names(lib):
        bare = name.split(".")[-1]
        if name in index or name in catalog.NOT_OPS or name in catalog.NOT_IN_TORCH or (name.count(".") == 0 and bare in catalog.NOT_OPS):
            continue
        if name.startswith(("nn.", "optim.")) and name.split(".")[-1] in catalog.NOT_OPS:
            continue
        out.append(name)
    return out


# ---- parameters: every parameter of an exported callable is varied by some entry ---------------------------
_OPERATOR_DUNDERS = {
    "Add": "add", "Sub": "sub", "Mult": "mul", "Div": "truediv", "Pow": "pow", "MatMult": "matmul", "Mod": "mod",
    "FloorDiv": "floordiv", "BitAnd": "and", "BitOr": "or", "BitXor": "xor", "USub": "neg", "UAdd": "pos",
    "Invert": "invert", "Eq": "eq", "NotEq": "ne", "Lt": "lt", "LtE": "le", "Gt": "gt", "GtE": "ge",
}


@dataclass
class CallSite:
    """One call of an exported name in a rendered template: its arguments by position and by keyword."""

    export: str
    positional: list[ast.expr]
    keywords: dict[str, ast.expr]
    method: bool  # the receiver is the first parameter (a Tensor method or operator)


def _placeholders(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def render_symbolic(spec: catalog.OpSpec, template: str) -> list[str]:
    """The template as Python source with inputs as names ``_i0``... and attributes as ``_a_<name>``; a
    ``{name_raw}`` attribute (code pasted into the call) yields one source per choice."""
    n_inputs = max(len(spec.domain), 3) if spec.arity == -1 else max(spec.arity, len(spec.domain))
    template = template.replace("{*}", ", ".join(f"{{{i}}}" for i in range(n_inputs)))
    keep = "" if spec.attrs.get("dims") == "int-nokeep" else ", keepdim=_a_keepdim"
    fixed = {"dimargs": ", dim=_a_dim" + keep, "dimargs_m": "dim=_a_dim" + keep}
    variants: list[dict[str, str]] = [{}]
    for f in _placeholders(template):
        if f.endswith("_raw"):  # a string attribute pasted as code: one rendering per choice
            variants = [{**v, f: str(c)} for v in variants for c in spec.attrs[f[:-4]]["choice"]]
    out = []
    for v in variants:
        fields = {f: v.get(f) or fixed.get(f) or f"_a_{f}" for f in _placeholders(template) if not f.isdigit()}
        out.append(template.format(*(f"_i{i}" for i in range(n_inputs)), **fields))
    return out


def _dotted(node: ast.expr) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def call_sites(source: str) -> list[CallSite]:
    """The exported names a rendered template calls. ``T.x(...)`` is ``x`` (``T.linalg.x``: ``linalg.x``,
    ``T.nn.X``: the module ``nn.X``), ``F.x`` is ``nn.functional.x``, ``<tensor>.m(...)`` the method
    ``Tensor.m``, and an operator its dunder (reflected when a Python scalar is on the left)."""
    out: list[CallSite] = []
    for node in ast.walk(ast.parse(source, mode="eval")):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = _dotted(node.func)
            kws = {k.arg: k.value for k in node.keywords if k.arg}
            receiver = node.func.value
            if name.startswith(("T.", "F.")):
                export = name[2:] if name.startswith("T.") else "nn.functional." + name[2:]
                out.append(CallSite(export, list(node.args), kws, False))
            elif not (isinstance(receiver, ast.Call) and _dotted(receiver.func).startswith("T.nn.")):
                out.append(CallSite("Tensor." + node.func.attr, list(node.args), kws, True))  # not Module.train()
        elif isinstance(node, (ast.BinOp, ast.Compare)):
            op = node.ops[0] if isinstance(node, ast.Compare) else node.op
            right = node.comparators[0] if isinstance(node, ast.Compare) else node.right
            reflected = isinstance(node.left, ast.Name) and node.left.id.startswith("_a_")
            out.append(CallSite(f"Tensor.__{'r' if reflected else ''}{_OPERATOR_DUNDERS[type(op).__name__]}__",
                                [node.left if reflected else right], {}, True))
        elif isinstance(node, ast.UnaryOp) and type(node.op).__name__ in _OPERATOR_DUNDERS:
            out.append(CallSite(f"Tensor.__{_OPERATOR_DUNDERS[type(node.op).__name__]}__", [], {}, True))
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id.startswith("_i"):
            out.append(CallSite("Tensor.__getitem__", [node.slice], {}, True))
    return out


def resolve_export(lib: ModuleType, export: str) -> Any:
    """The object an export name stands for in ``lib`` (``Tensor.m`` is the class attribute)."""
    if export.startswith("Tensor."):
        return getattr(getattr(lib, "Tensor", None), export[7:], None)
    return _resolve(lib, export)


def public_parameters(obj: Any, method: bool) -> list[inspect.Parameter]:
    """The parameters a caller chooses: a class's constructor parameters, a method's after the receiver."""
    try:
        params = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return []
    if method and params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        params = params[1:]
    return [p for p in params if p.kind != p.VAR_KEYWORD]


def _value(spec: catalog.OpSpec, arg: ast.expr) -> str:
    """What an argument contributes: ``"*"`` when it holds an input or an attribute drawn from several
    values, else the constant it always is (a literal, or an attribute with a single choice)."""
    for n in ast.walk(arg):
        if isinstance(n, ast.Name) and n.id.startswith("_i"):
            return "*"
        if isinstance(n, ast.Name) and n.id.startswith("_a_"):
            strat = spec.attrs.get(n.id[3:])
            choices = strat.get("choice") if isinstance(strat, dict) else None
            if choices is None or len({repr(c) for c in choices}) > 1:
                return "*"
            return repr(choices[0])
    return ast.unparse(arg)


def varied_parameters(lib: ModuleType) -> dict[int, set[str]]:
    """``id(callable) -> names of its parameters some catalogue entry varies``: a parameter varies when it
    receives an input or a drawn attribute, or at least two different constants over all call templates
    (leaving it out counts as passing its default). Op entries vary what their call templates pass;
    components (layers, optimisers, schedulers, clipping) are called by the network and training
    strategies with their entry's attributes as keywords."""
    values: dict[int, dict[str, set[str]]] = {}
    for spec in catalog.CATALOG.values():
        if spec.family == "component":
            for export in spec.exports:
                got = values.setdefault(id(resolve_export(lib, export)), {})
                for k, v in spec.attrs.items():
                    several = isinstance(v, dict) and ("float" in v or len(v.get("choice", [])) > 1)
                    got.setdefault(k, set()).add("*" if several else "constant")
            continue
        for template in spec.calls.values():
            for source in render_symbolic(spec, template):
                for site in call_sites(source):
                    obj = resolve_export(lib, site.export)
                    if obj is None:
                        continue
                    params = public_parameters(obj, site.method)
                    got = values.setdefault(id(obj), {})
                    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
                    star = [p.name for p in params if p.kind == p.VAR_POSITIONAL]
                    passed = dict(site.keywords)
                    for i, arg in enumerate(site.positional):
                        name = positional[i].name if i < len(positional) else (star[0] if star else None)
                        if name:
                            passed.setdefault(name, arg)
                    for p in params:
                        if p.name in passed:
                            got.setdefault(p.name, set()).add(_value(spec, passed[p.name]))
                        elif p.default is not p.empty:
                            got.setdefault(p.name, set()).add(repr(p.default))
    return {key: {name for name, vals in got.items() if "*" in vals or len(vals) > 1} for key, got in values.items()}


def parameters_not_varied(lib: ModuleType) -> dict[str, list[str]]:
    """``{export: [parameter, ...]}``: parameters of catalogued exports of ``lib`` that no entry varies and
    that ``catalog.NOT_VARIED`` does not excuse (``"export.param"`` or ``"*.param"`` keys). Aliases bound
    to the same callable share what their entry varies."""
    varied = varied_parameters(lib)
    out: dict[str, list[str]] = {}
    for export, entry in sorted(catalog.export_index().items()):
        obj = resolve_export(lib, export)
        if obj is None or not callable(obj):
            continue
        spec = catalog.get(entry)
        method = export.startswith("Tensor.")
        missing = [p.name for p in public_parameters(obj, method)
                   if p.name not in varied.get(id(obj), set())
                   and f"{export}.{p.name}" not in catalog.NOT_VARIED and f"*.{p.name}" not in catalog.NOT_VARIED
                   and not (spec.family == "component" and f"{spec.group}.{p.name}" in catalog.NOT_VARIED)]
        if missing:
            out[export] = missing
    return out
