"""Turn a results document into one self-contained HTML file (Jinja2, autoescape on).

Pass records are aggregated (counts, histogram, per-op table, closest passes), never listed one
by one, so the page stays small for runs with thousands of checks. Every discrepancy gets a card:
its graph, inputs, both backends' values in torch's print format with the failing elements marked,
the pytest node id, the ``@reproduce_failure`` line, the replay command and the standalone script.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import ChainableUndefined, Environment, FileSystemLoader
from markupsafe import Markup, escape

from conformance.compare import bad_mask, check_tolerance
from conformance.report import figures
from conformance.report.fmt import from_json_array, tensor_segments
from conformance.report.graph import graph_svg
from conformance.results import (
    DISCREPANCY_VERDICTS,
    SEVERITY,
    count_verdicts,
    record_ratio,
    summarize_ops,
    worst_key,
)
from conformance.schema import VERDICTS

TEMPLATES = Path(__file__).parent / "templates"
MAX_CARDS = 200  # fail/error/crashed cards (the rest are listed in the table only)
MAX_SCRIPT_CHARS = 20_000
MAX_MESSAGE_CHARS = 8_000
MAX_TRAINING_FIGURES = 6
NEAR_MISSES = 10

VERDICT_LABELS = {"pass": "pass", "fail": "fail", "known_difference": "known difference",
                  "error": "error", "crashed": "crashed"}


def fmt_num(x: Any, digits: int = 3) -> str:
    """A number for tables: '-' for None, 'inf'/'nan' as is, else ``digits`` significant digits."""
    if x is None:
        return "-"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}"


def ratio_class(x: Any) -> str:
    """CSS class for an err/tol ratio: ok, near (>= 0.1), bad (> 1)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "bad"
    if math.isnan(v) or v > 1:
        return "bad"
    return "near" if v >= 0.1 else "ok"


def make_env() -> Environment:
    """The Jinja2 environment (autoescape always on, strict about undefined names)."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=ChainableUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = fmt_num
    env.filters["ratio_class"] = ratio_class
    env.filters["verdict_label"] = lambda v: VERDICT_LABELS.get(v, v)
    env.filters["tojson_pretty"] = lambda obj: json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False)
    env.globals["VERDICTS"] = VERDICTS
    return env


def _marks(expected: np.ndarray, actual: np.ndarray, check: Mapping[str, Any] | None,
           worst_index: list[int] | None) -> tuple[dict[tuple[int, ...], str], int]:
    """Element index -> css class for the elements that fail the check under compare.py's rule (its
    ``bad_mask`` with the check's own tolerance), and the worst one. A quantity without a check (a Jacobian,
    shown only to explain) has nothing marked."""
    marks: dict[tuple[int, ...], str] = {}
    if not check or expected.shape != actual.shape or expected.dtype.kind not in "fiub" or actual.dtype.kind not in "fiub":
        return marks, 0
    atol, rtol = check_tolerance(dict(check))
    try:
        bad = bad_mask(actual, expected, atol, rtol)
    except ValueError:  # a per-element tolerance of another shape: do not guess
        return marks, 0
    n_bad = int(bad.sum())
    for idx in np.argwhere(bad):  # argwhere, unlike nonzero, also takes 0-d arrays
        marks[tuple(int(i) for i in idx)] = "bad"
    if worst_index is not None and n_bad:
        key = tuple(int(i) for i in worst_index)
        if key in marks:
            marks[key] = "worst"
    return marks, n_bad


def segments_markup(segments: list[tuple[str, str | None]]) -> Markup:
    """Segments from :func:`tensor_segments` as HTML (escaped text, ``<mark>`` for marked ones)."""
    out = []
    for text, cls in segments:
        out.append(f'<mark class="{cls}">{escape(text)}</mark>' if cls else str(escape(text)))
    return Markup("".join(out))


def _inside(base_dir: Path | None, rel: Any) -> Path | None:
    """``base_dir / rel`` if it stays inside the run folder (a results file cannot pull in other files)."""
    if not rel or not isinstance(rel, str) or base_dir is None:
        return None
    base = base_dir.resolve()
    p = (base / rel).resolve()
    return p if p.is_relative_to(base) else None


def _load_json(base_dir: Path | None, rel: str | None) -> Any:
    p = _inside(base_dir, rel)
    if p is None:
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_text(base_dir: Path | None, rel: str | None, limit: int) -> str | None:
    p = _inside(base_dir, rel)
    if p is None:
        return None
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text if len(text) <= limit else text[:limit] + f"\n# ... ({len(text) - limit} more characters in the file)"


def _check_for(record: Mapping[str, Any], quantity: str) -> Mapping[str, Any] | None:
    for c in record.get("checks") or []:
        if isinstance(c, Mapping) and c.get("quantity") == quantity:
            return c
    worst = record.get("worst")
    if isinstance(worst, Mapping) and worst.get("quantity") == quantity:
        return worst
    return None


def array_pairs(record: Mapping[str, Any], arrays: Any) -> list[dict[str, Any]]:
    """The record's stored arrays grouped as (quantity, expected, actual), rendered torch-style."""
    if not isinstance(arrays, Mapping):
        return []
    groups: dict[str, dict[str, Any]] = {}
    worst_q = (record.get("worst") or {}).get("quantity") or "value"
    for name, value in arrays.items():
        if isinstance(value, Mapping) and "data" not in value:
            groups[str(name)] = {str(k): v for k, v in value.items()}
        elif name in ("expected", "actual"):
            groups.setdefault(worst_q, {})[str(name)] = value
        else:
            groups.setdefault(str(name), {})["value"] = value
    out = []
    for quantity in sorted(groups, key=lambda q: (q != worst_q, q)):
        g = groups[quantity]
        check = _check_for(record, quantity) or {}
        atol = float(check.get("atol") or 0.0)
        rtol = float(check.get("rtol") or 0.0)
        exp, act = from_json_array(g.get("expected")), from_json_array(g.get("actual"))
        marks: dict[tuple[int, ...], str] = {}
        n_bad = 0
        if exp is not None and act is not None:
            marks, n_bad = _marks(exp, act, check, check.get("index"))
        rows = []
        for label, arr in (("expected (oracle)", exp), ("actual (backend)", act)):
            if arr is not None:
                rows.append({"label": label, "html": segments_markup(tensor_segments(arr, marks))})
        for key, val in sorted(g.items()):
            if key not in ("expected", "actual"):
                arr = from_json_array(val)
                if arr is not None:
                    rows.append({"label": key, "html": segments_markup(tensor_segments(arr))})
        out.append({"quantity": quantity, "rows": rows, "n_bad": n_bad, "atol": atol, "rtol": rtol,
                    "size": int(exp.size) if exp is not None else None})
    return out


def leaf_views(case: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The case's input leaves as torch-style text."""
    if not isinstance(case, Mapping):
        return []
    out = []
    for i, lf in enumerate(case.get("leaves") or []):
        if not isinstance(lf, Mapping):
            continue
        html = Markup("<em>values not stored</em>")
        if "values" in lf:
            try:
                arr = from_json_array({"data": lf["values"], "dtype": lf.get("dtype") or "float64",
                                       "shape": lf.get("shape")})
                html = segments_markup(tensor_segments(arr))
            except (TypeError, ValueError):
                html = Markup(escape(str(lf["values"])[:2000]))
        out.append({"name": str(lf.get("name", f"x{i}")), "requires_grad": bool(lf.get("requires_grad")),
                    "shape": lf.get("shape"), "dtype": lf.get("dtype"), "html": html})
    return out


def _rel_link(base_dir: Path | None, out_dir: Path, rel: str | None) -> str | None:
    """A relative href to an artefact (never a scheme such as ``javascript:``)."""
    p = _inside(base_dir, rel)
    if p is None:
        return None
    link = Path(os.path.relpath(p, out_dir.resolve())).as_posix()
    return link if link.startswith("../") else "./" + link


def card_view(record: Mapping[str, Any], base_dir: Path | None, out_dir: Path, count: int = 1) -> dict[str, Any]:
    """Everything one discrepancy card shows."""
    case = record.get("case") if isinstance(record.get("case"), Mapping) else None
    repro = record.get("repro") if isinstance(record.get("repro"), Mapping) else {}
    message = record.get("message")
    if isinstance(message, str) and len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + f"\n... ({len(message) - MAX_MESSAGE_CHARS} more characters)"
    checks = sorted((c for c in record.get("checks") or [] if isinstance(c, Mapping)),
                    key=lambda c: -_fval(c.get("ratio")))
    return {
        "r": record,
        "anchor": "card-" + anchor(record["id"]),
        "count": count,
        "message": message,
        "checks": checks[:30],
        "more_checks": max(0, len(checks) - 30),
        "graph": graph_svg(case, record.get("first_bad_node"), uid=anchor(record["id"])),
        "leaves": leaf_views(case),
        "arrays": array_pairs(record, _load_json(base_dir, record.get("arrays_file"))),
        "repro": repro,
        "script": _read_text(base_dir, repro.get("script_file"), MAX_SCRIPT_CHARS),
        "script_link": _rel_link(base_dir, out_dir, repro.get("script_file")),
        "case_link": _rel_link(base_dir, out_dir, repro.get("case_file")),
        "arrays_link": _rel_link(base_dir, out_dir, record.get("arrays_file")),
        "case_json": json.dumps(case, sort_keys=True)[:4000] if case and not repro.get("case_file") else None,
        "training_anchor": "train-" + anchor(record["id"]) if isinstance(record.get("trajectory"), Mapping) else None,
    }


def _fval(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.inf
    return -1.0 if math.isnan(v) else v


def anchor(record_id: str) -> str:
    """An HTML id for a record (ids are tame already; keep only safe characters)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(record_id))


def training_views(records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Figures for training/recipe records: discrepancies and recipes first, then the closest passes."""
    with_traj = [r for r in records if isinstance(r.get("trajectory"), Mapping)]
    with_traj.sort(key=lambda r: (r.get("kind") != "recipe" and r["verdict"] == "pass", worst_key(r)))
    out = []
    for i, r in enumerate(with_traj[:MAX_TRAINING_FIGURES]):
        t = r["trajectory"]
        uid = f"tr{i}"
        out.append({"r": r, "anchor": "train-" + anchor(r["id"]),
                    "loss": figures.loss_figure(t, uid + "l"),
                    "params": figures.param_error_heatmap(t, uid + "p"),
                    "accuracy": figures.accuracy_figure(t, uid + "a")})
    return out


def coverage_view(section: Any) -> dict[str, Any] | None:
    """The coverage section of the report: the figure against the target, files least covered first (each
    with its uncovered lines and functions), and the accepted gaps (``conformance/branch_coverage.py``)."""
    if not isinstance(section, Mapping):
        return None
    files = []
    for path, f in (section.get("files") or {}).items():
        if not isinstance(f, Mapping):
            continue
        uncovered = [u for u in f.get("uncovered_functions") or [] if isinstance(u, Mapping)]
        files.append({"path": path, "f": f, "uncovered": uncovered,
                      "open": sum(1 for u in uncovered if not u.get("accepted"))})
    files.sort(key=lambda x: (_fval(x["f"].get("percent")), x["path"]))
    target = section.get("target")
    percent = _fval(section.get("percent"))
    return {"s": section, "files": files, "gaps": [g for g in section.get("gaps") or [] if isinstance(g, Mapping)],
            "below_target": target is not None and percent < float(target),
            "complete": sum(1 for x in files if _fval(x["f"].get("percent")) >= 100.0)}


def build_context(results: Mapping[str, Any], base_dir: Path | None, out_path: Path) -> dict[str, Any]:
    """The template context for ``report.html.j2``."""
    records = list(results.get("records") or [])
    counts = count_verdicts(records)
    total = len(records)
    ops = results.get("ops") or summarize_ops(records, results.get("catalogue") or [])
    discrepancies = sorted((r for r in records if r.get("verdict") in DISCREPANCY_VERDICTS), key=worst_key)
    # cards: every fail/error/crashed (capped); known differences grouped by (id, subject, oracle)
    cards: list[dict[str, Any]] = []
    kd_groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    hard = [r for r in discrepancies if r["verdict"] != "known_difference"]
    for r in discrepancies:
        if r["verdict"] == "known_difference":
            kd = r.get("known_difference") or {}
            kd_groups[(str(kd.get("id")), str(r.get("subject")), str(r.get("oracle")))].append(r)
    out_dir = out_path.parent
    for r in hard[:MAX_CARDS]:
        cards.append(card_view(r, base_dir, out_dir))
    card_of = {c["r"]["id"]: c["anchor"] for c in cards}
    for key in sorted(kd_groups, key=lambda k: worst_key(kd_groups[k][0])):
        group = kd_groups[key]
        card = card_view(group[0], base_dir, out_dir, count=len(group))
        # the other records of the group resolve to this card too (links from --compare pages)
        card["aliases"] = ["card-" + anchor(r["id"]) for r in group[1:]]
        cards.append(card)
        for r in group:
            card_of[r["id"]] = card["anchor"]
    table = [{"r": r, "ratio": record_ratio(r), "card": card_of.get(r["id"])} for r in discrepancies]
    near = sorted((r for r in records if r.get("verdict") == "pass" and record_ratio(r) > 0),
                  key=lambda r: -record_ratio(r))[:NEAR_MISSES]
    op_rows = []
    for name, o in ops.items():
        bad = int(o.get("fail", 0)) + int(o.get("error", 0)) + int(o.get("crashed", 0))
        op_rows.append({"name": name, "o": o, "bad": bad,
                        "edges": sorted((o.get("edge_values") or {}).items())})
    op_rows.sort(key=lambda x: (-x["bad"], -int(x["o"].get("known_difference", 0)),
                                -_fval(x["o"].get("worst_ratio")), x["name"]))
    catalogue = list(results.get("catalogue") or [])
    # a run filtered with --ops checked only the matching ops: the others are not "ops without cases"
    pattern = (results.get("run") or {}).get("ops")
    if pattern:
        wanted = [p.strip() for p in str(pattern).split(",") if p.strip()]
        ops = {n: o for n, o in ops.items() if o.get("records") or any(fnmatch.fnmatch(n, p) for p in wanted)}
        op_rows = [row for row in op_rows if row["name"] in ops]
    # one shard checked 1/N of the tests: the other shards' ops are not "ops without cases" (merge them)
    zero_ops = [] if (results.get("run") or {}).get("shard") else sorted(n for n, o in ops.items()
                                                                           if not o.get("records"))
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        kinds[str(r.get("kind"))][r.get("verdict", "pass")] += 1
    edge_totals: Counter[str] = Counter()
    for r in records:
        edge_totals.update(str(e) for e in r.get("edge_values") or [])
    run = dict(results.get("run") or {})
    env = dict(results.get("environment") or {})
    clean = total > 0 and counts["pass"] == total
    # a record is one case under one oracle (the unit of a verdict); a check is one quantity compared in it,
    # the unit of the margin histogram: the banner names both so the two figures cannot be confused
    n_checks = len(figures.check_ratios(records))
    backends = Counter(str(r.get("backend")) for r in records if r.get("backend"))
    backend = run.get("backend") or (backends.most_common(1)[0][0] if backends else "-")
    if clean:
        seed = run.get("seed") if run.get("seed") is not None else "-"
        headline = (f"All {total} records conform ({n_checks} checks; backend {backend}, "
                    f"profile {run.get('profile') or '-'}, seed {seed})")
    elif total == 0:
        headline = "No conformance records were produced"
    elif counts["pass"] + counts["known_difference"] == total:  # documented differences only: nothing to act on
        kd = counts["known_difference"]
        headline = (f"All {total} records conform, {kd} of them by a documented known difference "
                    f"({n_checks} checks; backend {backend}, profile {run.get('profile') or '-'})")
    else:
        parts = [f"{counts[v]} {VERDICT_LABELS[v]}{'s' if v == 'known_difference' and counts[v] > 1 else ''}"
                 for v in ("fail", "error", "crashed", "known_difference") if counts[v]]
        headline = f"{total - counts['pass']} of {total} records need attention: " + ", ".join(parts)
    status = ("crashed" if counts["crashed"] else "error" if counts["error"] else "fail" if counts["fail"]
              else "known_difference" if counts["known_difference"] else "pass")
    training = training_views(records)
    trained = {t["anchor"] for t in training}
    for c in cards:
        if c["training_anchor"] not in trained:
            c["training_anchor"] = None
    return {
        "run": run, "env": env, "backend": backend, "counts": counts, "total": total, "clean": clean, "headline": headline,
        "status": status, "table": table, "cards": cards, "n_hard": len(hard), "max_cards": MAX_CARDS,
        "near": near, "op_rows": op_rows, "zero_ops": zero_ops, "catalogue": catalogue,
        "covered": sum(1 for n in catalogue if (ops.get(n) or {}).get("records")),
        "kinds": {k: dict(v) for k, v in sorted(kinds.items())}, "edge_totals": sorted(edge_totals.items()),
        "histogram": figures.margin_histogram(records), "training": training,
        "severity": SEVERITY, "schema_version": results.get("schema_version"),
        "coverage": coverage_view(results.get("coverage")),
    }


def render_html(results: Mapping[str, Any], base_dir: Path | None = None,
                out_path: Path | None = None) -> str:
    """The report for ``results`` as an HTML string (artefacts read from ``base_dir``)."""
    out = Path(out_path) if out_path is not None else Path((base_dir or Path.cwd()) / "index.html")
    ctx = build_context(results, Path(base_dir) if base_dir is not None else None, out)
    return make_env().get_template("report.html.j2").render(**ctx)


def render_report(results: Mapping[str, Any], out_path: str | os.PathLike[str],
                  base_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write the self-contained HTML report for ``results`` to ``out_path``; return the path.

    ``base_dir`` is the run folder the record paths (arrays/, cases/, repro/) are relative to;
    by default the folder of ``out_path``."""
    out = Path(out_path)
    base = Path(base_dir) if base_dir is not None else out.parent
    html = render_html(results, base, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out
