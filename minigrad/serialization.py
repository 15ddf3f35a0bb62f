"""``save`` / ``load``: checkpoints as ``.npz`` files (NumPy arrays plus a JSON layout; never pickle).

A checkpoint may be a state dict or any nesting of dicts (string or int keys), lists, tuples, Tensors,
ndarrays, numbers, strings, booleans and None, e.g. ``{"model": model.state_dict(), "optim":
optimizer.state_dict(), "epoch": 3}``. Tensors are stored as arrays ``t0, t1, ...`` and the structure
as JSON in ``__layout__``; ``load`` returns the same structure with Tensors (dict order preserved).
Loading never executes code from the file (``np.load(..., allow_pickle=False)``).
"""

from __future__ import annotations

import json
import os
import pickle
from collections import OrderedDict
from typing import IO, Any

import numpy as np

from .tensor import Tensor

_FORMAT = "minigrad-npz-1"


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, Tensor):
        key = f"t{len(arrays)}"
        arrays[key] = np.asarray(obj._data, order="C")
        return {"$": "tensor", "key": key, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        key = f"t{len(arrays)}"
        arrays[key] = np.asarray(obj, order="C")
        return {"$": "ndarray", "key": key}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if np.isfinite(f) else {"$": "float", "repr": repr(f)}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"minigrad.save: dict keys must be str or int, got {type(k).__name__}")
            items.append([k, _encode(v, arrays)])
        return {"$": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {"$": type(obj).__name__ if type(obj) in (list, tuple) else "list",
                "items": [_encode(v, arrays) for v in obj]}
    raise TypeError(f"minigrad.save cannot store objects of type {type(obj).__name__} (no pickle)")


#: what torch.load(weights_only=True) says about a NumPy array (torch's own message is longer: it explains
#: how to allow-list the NumPy globals)
WEIGHTS_ONLY_NDARRAY = (
    "Weights only load failed: the checkpoint holds a NumPy array, which weights_only=True (the default, as in "
    "torch) does not load. Load it with weights_only=False if you trust its source."
)


def _decode(obj: Any, arrays: Any, weights_only: bool) -> Any:
    if not isinstance(obj, dict):
        return obj
    kind = obj["$"]
    if kind == "tensor":
        t = Tensor._make(np.array(arrays[obj["key"]]))
        if obj.get("requires_grad"):
            t.requires_grad_(True)
        return t
    if kind == "ndarray":
        if weights_only:
            raise pickle.UnpicklingError(WEIGHTS_ONLY_NDARRAY)
        return np.array(arrays[obj["key"]])
    if kind == "float":
        return float(obj["repr"])
    if kind in ("dict", "odict"):
        pairs = [(k, _decode(v, arrays, weights_only)) for k, v in obj["items"]]
        return OrderedDict(pairs) if kind == "odict" else dict(pairs)
    if kind == "list":
        return [_decode(v, arrays, weights_only) for v in obj["items"]]
    if kind == "tuple":
        return tuple(_decode(v, arrays, weights_only) for v in obj["items"])
    raise RuntimeError(f"minigrad.load: not a valid checkpoint (unknown entry kind {kind!r})")


def save(obj: Any, f: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write ``obj`` (e.g. a state dict) to ``f`` (a path, written exactly as given, or a binary file)."""
    arrays: dict[str, np.ndarray] = {}
    layout = {"format": _FORMAT, "root": _encode(obj, arrays)}
    arrays["__layout__"] = np.array(json.dumps(layout))
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:  # a path without ".npz" is kept as is (np.savez would append it)
            np.savez(fh, **arrays)
    else:
        np.savez(f, **arrays)


def load(f: str | os.PathLike[str] | IO[bytes], map_location: Any = None, weights_only: bool = True, **kwargs: Any) -> Any:
    """Read what :func:`save` wrote. ``weights_only=True`` (torch's default) refuses NumPy arrays, as torch's
    restricted unpickler does; ``map_location`` is accepted for torch compatibility (everything is on the CPU)."""
    if not isinstance(f, (str, os.PathLike)) and not hasattr(f, "seek"):  # torch's check, word for word
        raise AttributeError(
            f"'{type(f).__name__}' object has no attribute 'seek'. You can only minigrad.load from a file that is "
            "seekable. Please pre-load the data into a buffer like io.BytesIO and try to load from it instead."
        )
    with np.load(f, allow_pickle=False) as npz:
        if "__layout__" not in npz.files:
            raise RuntimeError("minigrad.load: not a minigrad checkpoint (no __layout__ entry)")
        layout = json.loads(str(npz["__layout__"]))
        if layout.get("format") != _FORMAT:
            raise RuntimeError(f"minigrad.load: unsupported checkpoint format {layout.get('format')!r}")
        return _decode(layout["root"], npz, weights_only)
