"""Backend adapters: ``minigrad`` (default under test), ``torch`` (the reference), or ``module:Class``."""

from __future__ import annotations

import importlib
import os
from typing import Any

from .base import Backend, ModuleBackend

__all__ = ["Backend", "BackendError", "ModuleBackend", "load_backend", "missing_members", "default_backend_name",
           "reference"]

_CACHE: dict[str, Any] = {}

#: What an object must have to serve as a backend: the public members of the :class:`Backend` protocol.
PROTOCOL_MEMBERS: tuple[str, ...] = tuple(dict.fromkeys(
    [*Backend.__annotations__, *(n for n, v in vars(Backend).items() if callable(v) and not n.startswith("_"))]))


class BackendError(ValueError):
    """A ``--backend`` that cannot be used; the message is one line naming the spec and what is wrong."""


def default_backend_name() -> str:
    """``$CONFORMANCE_BACKEND`` or ``minigrad``."""
    return os.environ.get("CONFORMANCE_BACKEND", "minigrad")


def missing_members(obj: Any) -> list[str]:
    """The :class:`Backend` protocol members ``obj`` lacks (methods must be callable)."""
    return [m for m in PROTOCOL_MEMBERS
            if not hasattr(obj, m) or (m in vars(Backend) and not callable(getattr(obj, m)))]


def _import(spec: str, module: str) -> Any:
    try:
        return importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure of the named module is the user's input
        raise BackendError(f"backend {spec!r}: cannot import module {module!r} ({type(exc).__name__}: {exc}; "
                           f"`python -c 'import {module}'` shows the traceback)") from None


def _instantiate(spec: str) -> Any:
    if spec == "minigrad":
        _import(spec, "minigrad")
        from .minigrad import MinigradBackend
        return MinigradBackend()
    if spec == "torch":
        _import(spec, "torch")
        from .torch import TorchBackend
        return TorchBackend()
    module, _, name = spec.partition(":")
    if not module or not name:
        raise BackendError(f"backend {spec!r}: unknown (use minigrad, torch or package.module:Class)")
    factory = getattr(_import(spec, module), name, None)
    if factory is None:
        raise BackendError(f"backend {spec!r}: module {module!r} has no attribute {name!r}")
    if not callable(factory):
        raise BackendError(f"backend {spec!r}: {module}.{name} is not a class (an {type(factory).__name__})")
    try:
        return factory()
    except Exception as exc:  # noqa: BLE001 - the adapter's constructor is the user's code
        raise BackendError(f"backend {spec!r}: {name}() raised {type(exc).__name__}: {exc}") from None


def load_backend(spec: str | None = None) -> Backend:
    """``minigrad``, ``torch``, or ``package.module:Class`` (instantiated without arguments); cached.

    Raises :class:`BackendError` (one line) when the module or class is missing, the constructor fails,
    or the object lacks members of the :class:`Backend` protocol."""
    spec = spec or default_backend_name()
    if spec not in _CACHE:
        obj = _instantiate(spec)
        missing = missing_members(obj)
        if missing:
            raise BackendError(f"backend {spec!r}: {type(obj).__name__} lacks {', '.join(missing)} "
                               "(the members of the protocol conformance.backends.Backend)")
        _CACHE[spec] = obj
    return _CACHE[spec]


def reference() -> Backend:
    """The torch reference backend (the oracles use it)."""
    return load_backend("torch")
