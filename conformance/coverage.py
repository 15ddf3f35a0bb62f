"""Coverage of the catalogue: every public op a backend library exports must have a catalogue entry."""

from __future__ import annotations

import inspect
from types import ModuleType

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
