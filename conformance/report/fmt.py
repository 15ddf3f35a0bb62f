"""Format arrays the way ``torch`` prints tensors, with hooks to highlight single elements.

The report shows both backends' values as a torch user would see them at a REPL:
``tensor([ 1.0000, -2.5000])``, 4 decimals, scientific notation when the magnitudes call for
it, ``...`` summarisation above 1000 elements, ``dtype=torch.float64`` suffix for non-default
dtypes. The output is a list of ``(text, css_class)`` segments so a template can wrap chosen
elements in ``<mark>`` while escaping everything; ``"".join(t for t, _ in segments)`` is the
plain string and equals ``str(torch.tensor(arr))`` (tested against torch 2.13).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80

Segment = tuple[str, "str | None"]

# dtypes torch prints without a suffix (default float dtype, int64, bool)
_DEFAULT_DTYPES = ("float32", "int64", "bool")


def _summarized(arr: np.ndarray) -> np.ndarray:
    """torch's ``get_summarized_data``: the edge items the formatter sizes itself on."""
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        if arr.shape[0] > 2 * EDGEITEMS:
            return np.concatenate([arr[:EDGEITEMS], arr[-EDGEITEMS:]])
        return arr
    if arr.shape[0] > 2 * EDGEITEMS:
        rows = [arr[i] for i in range(EDGEITEMS)] + [arr[i] for i in range(arr.shape[0] - EDGEITEMS, arr.shape[0])]
    else:
        rows = [arr[i] for i in range(arr.shape[0])]
    return np.stack([_summarized(r) for r in rows])


class _Formatter:
    """A port of ``torch._tensor_str._Formatter`` for NumPy arrays."""

    def __init__(self, arr: np.ndarray) -> None:
        self.floating = arr.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = arr.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            return
        absv = np.abs(vals.astype(np.float64))
        vmin, vmax = float(absv.min()), float(absv.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        self.sci_mode = vmax / vmin > 1000.0 or vmax > 1.0e8 or (not self.int_mode and vmin < 1.0e-4)
        for v in vals.tolist():
            if self.sci_mode:
                w = len(f"{v:.{PRECISION}e}")
            elif self.int_mode:
                w = len(f"{v:.0f}") + 1
            else:
                w = len(f"{v:.{PRECISION}f}")
            self.max_width = max(self.max_width, w)

    def format(self, value: Any) -> str:
        """One element, right-aligned to the common width."""
        if self.floating:
            value = float(value)
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{PRECISION}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{PRECISION}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _classify(index: tuple[int, ...], marks: dict[tuple[int, ...], str]) -> str | None:
    return marks.get(index)


def _vector(arr: np.ndarray, prefix: tuple[int, ...], indent: int, summarize: bool, fmt: _Formatter,
            marks: dict[tuple[int, ...], str]) -> list[Segment]:
    element_length = fmt.max_width + 2
    per_line = max(1, math.floor((LINEWIDTH - indent) / element_length))
    n = arr.shape[0]
    items: list[tuple[str, tuple[int, ...] | None]]
    if summarize and n > 2 * EDGEITEMS:
        idx = list(range(EDGEITEMS)) + [None] + list(range(n - EDGEITEMS, n))
    else:
        idx = list(range(n))
    items = []
    values = arr.tolist()
    for i in idx:
        if i is None:
            items.append((" ...", None))
        else:
            items.append((fmt.format(values[i]), prefix + (i,)))
    out: list[Segment] = [("[", None)]
    for k, (text, where) in enumerate(items):
        if k:
            if k % per_line == 0:
                out.append((",\n" + " " * (indent + 1), None))
            else:
                out.append((", ", None))
        out.append((text, _classify(where, marks) if where is not None else None))
    out.append(("]", None))
    return out


def _tensor(arr: np.ndarray, prefix: tuple[int, ...], indent: int, summarize: bool, fmt: _Formatter,
            marks: dict[tuple[int, ...], str]) -> list[Segment]:
    if arr.ndim == 0:
        return [(fmt.format(arr.item()), _classify(prefix, marks))]
    if arr.ndim == 1:
        return _vector(arr, prefix, indent, summarize, fmt, marks)
    n = arr.shape[0]
    rows: list[int | None]
    if summarize and n > 2 * EDGEITEMS:
        rows = list(range(EDGEITEMS)) + [None] + list(range(n - EDGEITEMS, n))
    else:
        rows = list(range(n))
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    out: list[Segment] = [("[", None)]
    for k, i in enumerate(rows):
        if k:
            out.append((sep, None))
        if i is None:
            out.append(("...", None))
        else:
            out.extend(_tensor(arr[i], prefix + (i,), indent + 1, summarize, fmt, marks))
    out.append(("]", None))
    return out


def _merge(segments: Iterable[Segment]) -> list[Segment]:
    """Join neighbouring segments of the same class (fewer spans in the HTML)."""
    out: list[Segment] = []
    for text, cls in segments:
        if out and out[-1][1] == cls:
            out[-1] = (out[-1][0] + text, cls)
        else:
            out.append((text, cls))
    return out


def tensor_segments(arr: Any, marks: dict[tuple[int, ...], str] | None = None) -> list[Segment]:
    """``arr`` printed like ``torch.tensor(arr)``, as segments; ``marks`` maps an index to a css class."""
    a = np.asarray(arr)
    if a.dtype.kind == "f" and a.dtype.itemsize < 4:
        a = a.astype(np.float32)
    marks = marks or {}
    dtype = a.dtype.name
    suffixes: list[str] = []
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append("size=" + str(tuple(int(s) for s in a.shape)))
        if dtype != "float32":
            suffixes.append(f"dtype=torch.{dtype}")
        body: list[Segment] = [("[]", None)]
    else:
        if dtype not in _DEFAULT_DTYPES:
            suffixes.append(f"dtype=torch.{dtype}")
        summarize = a.size > THRESHOLD
        fmt = _Formatter(_summarized(a) if summarize else a)
        body = _tensor(a, (), len("tensor("), summarize, fmt, marks)
    segs: list[Segment] = [("tensor(", None), *body]
    text = "".join(t for t, _ in body)
    last_line_len = len(text) - text.rfind("\n") + 1
    indent = len("tensor(")
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > LINEWIDTH:
            segs.append((",\n" + " " * indent + suffix, None))
            last_line_len = indent + len(suffix)
        else:
            segs.append((", " + suffix, None))
            last_line_len += len(suffix) + 2
    segs.append((")", None))
    return _merge(segs)


def tensor_str(arr: Any) -> str:
    """``arr`` printed exactly as ``str(torch.tensor(arr))`` would print it."""
    return "".join(t for t, _ in tensor_segments(arr))


def from_json_array(obj: Any) -> np.ndarray | None:
    """An array stored by :func:`conformance.results.array_to_json` (or plain nested lists) back as ndarray."""
    if obj is None:
        return None
    if isinstance(obj, dict) and "data" in obj:
        dtype = obj.get("dtype") or "float64"
        data = _defloat(obj["data"])
        try:
            a = np.asarray(data, dtype=dtype)
        except (TypeError, ValueError):
            a = np.asarray(data, dtype=np.float64)
        shape = obj.get("shape")
        if shape is not None and a.size == int(np.prod(shape)):
            a = a.reshape(shape)
        return a
    return np.asarray(_defloat(obj), dtype=np.float64)


def _defloat(x: Any) -> Any:
    if isinstance(x, list):
        return [_defloat(v) for v in x]
    if isinstance(x, str) and x in ("nan", "inf", "-inf"):
        return float(x)
    return x
