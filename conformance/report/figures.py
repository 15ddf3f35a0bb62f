"""Matplotlib figures as deterministic inline SVG (Agg backend, fixed hash salt, text kept as text,
no date metadata). Each SVG gets its ids prefixed so several can live in one HTML page."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from markupsafe import Markup

RC = {
    "svg.hashsalt": "conformance-report",
    "svg.fonttype": "none",
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "figure.dpi": 100,
}
FLOOR = -8.0  # log10(err/tol) of exact (ratio 0) and tiny ratios lands in the floor bin
CEIL = 4.0  # ratios above 1e4, inf and nan land in the ceiling bin
BACKEND_COLOURS = {"minigrad": "#1f77b4", "torch": "#e4572e"}

_ID_RE = re.compile(r'id="([^"]+)"')


def _fig_svg(fig: Any, uid: str) -> Markup:
    """Render ``fig`` to SVG text usable inline (no XML prolog, unique ids, scalable)."""
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    ids = set(_ID_RE.findall(svg))
    for old in sorted(ids, key=len, reverse=True):
        new = f"{uid}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"#{old})", f"#{new})").replace(
            f'"#{old}"', f'"#{new}"')
    svg = svg.replace("<svg ", '<svg class="fig" ', 1)
    return Markup(svg)


def _figure(w: float, h: float, ncols: int = 1) -> tuple[Any, Any]:
    with matplotlib.rc_context(RC):
        return plt.subplots(1, ncols, figsize=(w, h), squeeze=False)


def log_ratio(r: Any) -> float:
    """log10(err/tol) clamped to [FLOOR, CEIL]; 0 -> FLOOR, inf/nan/unparseable -> CEIL."""
    try:
        v = float(r)
    except (TypeError, ValueError):
        return CEIL
    if math.isnan(v) or math.isinf(v):
        return CEIL
    if v <= 0:
        return FLOOR
    return min(CEIL, max(FLOOR, math.log10(v)))


def check_ratios(records: Iterable[Mapping[str, Any]]) -> list[float]:
    """The err/tol ratio of every check (a record's ``worst`` when it kept no check list)."""
    out: list[float] = []
    for r in records:
        checks = r.get("checks") or ([r["worst"]] if r.get("worst") else [])
        for c in checks:
            if isinstance(c, Mapping) and "ratio" in c:
                out.append(log_ratio(c["ratio"]))
    return out


def histogram_bins(values: Sequence[float], step: float = 0.5) -> tuple[list[float], list[int]]:
    """Bin edges from FLOOR to CEIL and the count per bin (FLOOR and CEIL values get their own bins)."""
    edges = [FLOOR + i * step for i in range(round((CEIL - FLOOR) / step) + 1)]
    counts = [0] * (len(edges) - 1)
    for v in values:
        i = min(len(counts) - 1, max(0, int((v - FLOOR) / step)))
        counts[i] += 1
    return edges, counts


def margin_histogram(records: Iterable[Mapping[str, Any]], uid: str = "hist") -> Markup:
    """Histogram of log10(err/tol) over all checks; the red side of 0 is out of tolerance."""
    values = check_ratios(records)
    edges, counts = histogram_bins(values)
    fig, axes = _figure(6.4, 2.5)
    ax = axes[0][0]
    with matplotlib.rc_context(RC):
        lefts = edges[:-1]
        colours = ["#c62828" if e >= 0 else ("#9e9e9e" if e == FLOOR else "#3c8c5a") for e in lefts]
        ax.bar(lefts, counts, width=0.5, align="edge", color=colours, edgecolor="white", linewidth=0.5)
        ax.axvline(0, color="#c62828", linestyle="--", linewidth=1)
        if any(counts):
            ax.set_yscale("symlog", linthresh=1)
            ax.set_ylim(0, max(counts) * 2)
        ticks = list(range(int(FLOOR), int(CEIL) + 1, 2))
        ax.set_xticks(ticks, [f"≤{t}\n(exact)" if t == FLOOR else (f"≥{t}\n(inf/nan)" if t == CEIL else str(t))
                              for t in ticks])
        ax.set_xlim(FLOOR, CEIL + 0.5)
        ax.set_xlabel("log10(err / tol)   — right of the dashed line fails")
        ax.set_ylabel("checks")
        ax.set_title(f"Margin of {len(values)} checks")
    return _fig_svg(fig, uid)


def _floats(seq: Any) -> list[float]:
    out = []
    for v in seq or []:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def loss_figure(trajectory: Mapping[str, Any], uid: str) -> Markup | None:
    """Loss per step of both backends overlaid, and |Δloss| per step on a log axis."""
    loss = trajectory.get("loss") or {}
    if not isinstance(loss, Mapping) or not loss:
        return None
    series = {str(k): _floats(v) for k, v in sorted(loss.items())}
    n = max(len(v) for v in series.values())
    steps = _floats(trajectory.get("steps")) or list(range(n))
    fig, axes = _figure(7.6, 2.4, ncols=2)
    a1, a2 = axes[0]
    with matplotlib.rc_context(RC):
        for i, (name, ys) in enumerate(series.items()):
            a1.plot(steps[: len(ys)], ys, label=name, color=BACKEND_COLOURS.get(name, f"C{i}"),
                    linestyle="-" if i == 0 else "--", marker="o" if n <= 30 else None, markersize=3, linewidth=1.4)
        a1.set_xlabel("step")
        a1.set_ylabel("loss")
        a1.set_title("Loss")
        a1.legend(frameon=False)
        names = list(series)
        if len(names) >= 2:
            a, b = series[names[0]], series[names[1]]
            m = min(len(a), len(b))
            d = [abs(a[i] - b[i]) for i in range(m)]
            floor = 1e-18
            a2.semilogy(steps[:m], [max(x, floor) if not math.isnan(x) else floor for x in d], color="#6a3d9a",
                        marker="o" if m <= 30 else None, markersize=3, linewidth=1.4)
            zeros = any(x == 0 for x in d)
            a2.set_title(f"|Δloss| ({names[0]} − {names[1]})" + ("\nequal steps drawn at 1e-18" if zeros else ""))
        else:
            a2.set_visible(False)
        a2.set_xlabel("step")
    return _fig_svg(fig, uid)


def param_error_heatmap(trajectory: Mapping[str, Any], uid: str) -> Markup | None:
    """Per-parameter, per-step max abs error as a log10 heatmap (vector cells, no raster)."""
    perr = trajectory.get("param_err") or {}
    if not isinstance(perr, Mapping) or not perr:
        return None
    names = sorted(perr)
    rows = [_floats(perr[k]) for k in names]
    n = max((len(r) for r in rows), default=0)
    if n == 0:
        return None
    grid = [[math.log10(v) if v and v > 0 and not math.isnan(v) else -18.0 for v in r] + [math.nan] * (n - len(r))
            for r in rows]
    fig, axes = _figure(7.6, 0.6 + 0.28 * len(names))
    ax = axes[0][0]
    with matplotlib.rc_context(RC):
        import numpy as np

        mesh = ax.pcolormesh(np.ma.masked_invalid(np.array(grid)), cmap="magma_r", vmin=-18, vmax=0,
                             edgecolors="white", linewidth=0.3)
        ax.set_yticks([i + 0.5 for i in range(len(names))], names)
        ax.set_xlabel("step")
        ax.set_title("Parameter max |error| per step (log10)")
        fig.colorbar(mesh, ax=ax, fraction=0.04, pad=0.01)
    return _fig_svg(fig, uid)


def accuracy_figure(trajectory: Mapping[str, Any], uid: str) -> Markup | None:
    """Accuracy per epoch of both backends (recipes)."""
    acc = trajectory.get("accuracy")
    if not isinstance(acc, Mapping) or not acc:
        return None
    fig, axes = _figure(3.8, 2.4)
    ax = axes[0][0]
    with matplotlib.rc_context(RC):
        for i, (name, ys) in enumerate(sorted(acc.items())):
            vals = _floats(ys)
            ax.plot(range(1, len(vals) + 1), vals, label=str(name), color=BACKEND_COLOURS.get(str(name), f"C{i}"),
                    linestyle="-" if i == 0 else "--", marker="o", markersize=3)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.set_title("Accuracy")
        ax.legend(frameon=False)
    return _fig_svg(fig, uid)
