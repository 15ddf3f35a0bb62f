"""Draw an IR case's DAG as inline SVG (a simple layered layout, left to right).

Leaves sit in the first column; every node goes one column right of its deepest input. Within a
column nodes are ordered by the mean row of their inputs (one barycentre pass), which keeps most
edges short for the small graphs hypothesis shrinks to. Colours say where the error first appears:
``first_bad_node`` red, everything downstream of it orange, the rest green; leaves are blue. Without
a ``first_bad_node`` (errors, or a record that did not localise its error) nodes are grey.
Every piece of text from the case is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

BOX_H = 34
ROW_GAP = 18
COL_GAP = 56
CHAR_W = 7.2
PAD = 12

COLOURS = {
    "leaf": ("#e8f0fe", "#4a6fa5"),
    "ok": ("#e6f4ea", "#3c8c5a"),
    "bad": ("#fde2e1", "#c62828"),
    "downstream": ("#fff1dc", "#d9822b"),
    "plain": ("#f1f3f5", "#6b7785"),  # no first_bad_node: where the error starts is not known
}


def _shape_text(shape: Any) -> str:
    if not isinstance(shape, list):
        return "?"
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _attrs_text(attrs: Any, limit: int = 28) -> str:
    if not isinstance(attrs, Mapping) or not attrs:
        return ""
    text = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items(), key=lambda kv: str(kv[0])))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def graph_model(case: Mapping[str, Any], first_bad_node: int | None = None) -> dict[str, Any]:
    """Positions and colours of the case's leaves and nodes (no SVG yet; tested on its own)."""
    leaves = [lf for lf in case.get("leaves") or [] if isinstance(lf, Mapping)]
    nodes = [n for n in case.get("nodes") or [] if isinstance(n, Mapping)]
    outputs = {str(o) for o in case.get("outputs") or []}
    items: dict[str, dict[str, Any]] = {}
    for i, lf in enumerate(leaves):
        name = str(lf.get("name", f"x{i}"))
        sub = _shape_text(lf.get("shape")) + (" ∂" if lf.get("requires_grad") else "")
        items[name] = {"key": name, "label": name, "sub": sub, "inputs": [], "layer": 0, "kind": "leaf",
                       "title": f"leaf {name} {_shape_text(lf.get('shape'))} {lf.get('dtype', '')}".strip()}
    bad_key = None if first_bad_node is None else f"n{first_bad_node}"
    for i, n in enumerate(nodes):
        key = f"n{n.get('id', i)}"
        inputs = [str(x) for x in n.get("inputs") or []]
        for x in inputs:  # an input that names nothing known is drawn as an extra leaf
            if x not in items:
                items[x] = {"key": x, "label": x, "sub": "", "inputs": [], "layer": 0, "kind": "leaf", "title": x}
        layer = 1 + max((items[x]["layer"] for x in inputs), default=0)
        op = str(n.get("op", "?"))
        items[key] = {"key": key, "label": op, "sub": f"{key} {_attrs_text(n.get('attrs'))}".strip(),
                      "inputs": inputs, "layer": layer, "kind": "ok",
                      "title": f"{key} = {op}({', '.join(inputs)}) {_attrs_text(n.get('attrs'), 200)}".strip()}
    # colour: the first bad node and everything that depends on it; neutral when not localised
    if bad_key not in items:
        for it in items.values():
            if it["kind"] == "ok":
                it["kind"] = "plain"
    else:
        items[bad_key]["kind"] = "bad"
        changed = True
        while changed:
            changed = False
            for it in items.values():
                if it["kind"] == "ok" and any(items[x]["kind"] in ("bad", "downstream") for x in it["inputs"]):
                    it["kind"] = "downstream"
                    changed = True
    for key in outputs:
        if key in items:
            items[key]["output"] = True
    # columns, ordered by barycentre of inputs
    n_layers = 1 + max((it["layer"] for it in items.values()), default=0)
    columns: list[list[dict[str, Any]]] = [[] for _ in range(n_layers)]
    for it in items.values():
        columns[it["layer"]].append(it)
    row_of: dict[str, float] = {}
    for col in columns:
        def bary(it: dict[str, Any]) -> float:
            rows = [row_of[x] for x in it["inputs"] if x in row_of]
            return sum(rows) / len(rows) if rows else -1.0
        col.sort(key=lambda it: bary(it))
        for r, it in enumerate(col):
            row_of[it["key"]] = float(r)
    # geometry
    x = PAD
    height = 0.0
    for col in columns:
        width = max((max(len(it["label"]), len(it["sub"])) * CHAR_W + 20 for it in col), default=60)
        width = max(width, 64)
        for r, it in enumerate(col):
            it["x"], it["y"], it["w"], it["h"] = x, PAD + r * (BOX_H + ROW_GAP), width, BOX_H
            height = max(height, it["y"] + BOX_H + PAD)
        x += width + COL_GAP
    return {"items": list(items.values()), "width": x - COL_GAP + PAD, "height": max(height, BOX_H + 2 * PAD),
            "bad": bad_key if bad_key in items else None}


def graph_svg(case: Mapping[str, Any] | None, first_bad_node: int | None = None, uid: str = "g") -> Markup:
    """The case's DAG as an inline ``<svg>`` (empty markup when the case has no nodes)."""
    if not isinstance(case, Mapping) or not (case.get("nodes") or case.get("leaves")):
        return Markup("")
    model = graph_model(case, first_bad_node)
    items = {it["key"]: it for it in model["items"]}
    uid = "".join(c for c in uid if c.isalnum() or c in "-_") or "g"
    marker = f"arrow-{uid}"
    parts = [
        (f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" role="img" width="{model["width"]:.0f}" '
        f'height="{model["height"]:.0f}" viewBox="0 0 {model["width"]:.0f} {model["height"]:.0f}">'),
        (f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#777"/></marker></defs>'),
    ]
    for it in model["items"]:
        for src in it["inputs"]:
            s = items[src]
            x1, y1 = s["x"] + s["w"], s["y"] + s["h"] / 2
            x2, y2 = it["x"], it["y"] + it["h"] / 2
            mx = (x1 + x2) / 2
            parts.append(f'<path d="M {x1:.1f} {y1:.1f} C {mx:.1f} {y1:.1f}, {mx:.1f} {y2:.1f}, {x2 - 1:.1f} {y2:.1f}" '
                         f'fill="none" stroke="#999" stroke-width="1.3" marker-end="url(#{marker})"/>')
    for it in model["items"]:
        fill, stroke = COLOURS[it["kind"]]
        width = 3 if it.get("output") else 1.4
        parts.append(f'<g class="dag-{it["kind"]}"><title>{escape(it["title"])}'
                     f'{" (output)" if it.get("output") else ""}</title>')
        parts.append(f'<rect x="{it["x"]:.1f}" y="{it["y"]:.1f}" width="{it["w"]:.1f}" height="{it["h"]}" rx="6" '
                     f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>')
        cx = it["x"] + it["w"] / 2
        parts.append(f'<text x="{cx:.1f}" y="{it["y"] + 14:.1f}" text-anchor="middle" font-size="12" '
                     f'font-weight="600" fill="#222">{escape(it["label"])}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{it["y"] + 27:.1f}" text-anchor="middle" font-size="10" '
                     f'fill="#555">{escape(it["sub"])}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
