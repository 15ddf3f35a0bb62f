"""Compare two results files: what broke, what got fixed, which margins moved.

Records are matched by ``id`` (stable across runs: kind, subject, oracle and a hash of the case).
A margin counts as moved when the worst err/tol ratio changed by at least ``MARGIN_FACTOR`` and
the larger of the two is at least ``MARGIN_FLOOR`` (changes among near-exact matches are noise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from conformance.results import record_ratio, worst_key

MARGIN_FACTOR = 2.0
MARGIN_FLOOR = 1e-2
ENV_KEYS = ("python", "numpy", "torch", "minigrad", "hypothesis", "platform", "cpu")
#: what a run checked: two runs that differ here check different things, so their differences mean little
RUN_KEYS = (("backend", "backend"), ("profile", "profile"), ("ops", "op filter (--ops)"), ("shard", "shard"))


def _bad(r: Mapping[str, Any] | None) -> bool:
    return r is not None and r.get("verdict") in ("fail", "error", "crashed")


def _finite(x: float) -> float:
    return 1e300 if math.isinf(x) or math.isnan(x) else x


def compare_results(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The differences between two results documents (plain data, newest-worst first)."""
    o = {r["id"]: r for r in old.get("records") or []}
    n = {r["id"]: r for r in new.get("records") or []}
    new_failures, fixed, still, changed, worse, better = [], [], [], [], [], []
    for rid, rn in n.items():
        ro = o.get(rid)
        if _bad(rn) and not _bad(ro):
            new_failures.append({"id": rid, "old": ro, "new": rn})
        elif _bad(rn) and _bad(ro):
            still.append({"id": rid, "old": ro, "new": rn})
            if ro["verdict"] != rn["verdict"]:
                changed.append({"id": rid, "old": ro, "new": rn})
        elif ro is not None and _bad(ro):
            fixed.append({"id": rid, "old": ro, "new": rn})
        elif ro is not None and ro.get("verdict") != rn.get("verdict"):
            changed.append({"id": rid, "old": ro, "new": rn})
        if ro is not None:
            a, b = _finite(record_ratio(ro)), _finite(record_ratio(rn))
            if max(a, b) >= MARGIN_FLOOR and (a == 0 or b == 0 or max(a, b) / min(a, b) >= MARGIN_FACTOR):
                entry = {"id": rid, "old": ro, "new": rn, "old_ratio": a, "new_ratio": b,
                         "factor": (b / a) if a > 0 else math.inf}
                (worse if b > a else better).append(entry)
    removed = sorted(set(o) - set(n))
    added = sorted(set(n) - set(o))
    # old failures whose case was not drawn again: maybe fixed, maybe just not exercised
    gone = sorted(({"id": rid, "old": o[rid], "new": None} for rid in removed if _bad(o[rid])),
                  key=lambda e: worst_key(e["old"]))
    new_failures.sort(key=lambda e: worst_key(e["new"]))
    still.sort(key=lambda e: worst_key(e["new"]))
    fixed.sort(key=lambda e: worst_key(e["old"]))
    worse.sort(key=lambda e: (-e["new_ratio"] / max(e["old_ratio"], 1e-300), e["id"]))
    better.sort(key=lambda e: (e["new_ratio"] / max(e["old_ratio"], 1e-300), e["id"]))
    # each record in one section only: the first of new failure, fixed, verdict changed, still failing, margins
    shown = {e["id"] for group in (new_failures, fixed, changed) for e in group}
    still = [e for e in still if e["id"] not in shown]
    shown |= {e["id"] for e in still}
    worse = [e for e in worse if e["id"] not in shown]
    better = [e for e in better if e["id"] not in shown]
    env_o, env_n = old.get("environment") or {}, new.get("environment") or {}
    env_changes = {k: (env_o.get(k), env_n.get(k)) for k in ENV_KEYS if env_o.get(k) != env_n.get(k)}
    return {
        "old_run": old.get("run") or {}, "new_run": new.get("run") or {},
        "old_counts": old.get("counts") or {}, "new_counts": new.get("counts") or {},
        "new_failures": new_failures, "fixed": fixed, "still_failing": still, "verdict_changed": changed,
        "worse": worse, "better": better, "failures_not_seen": gone, "added": added, "removed": removed, "env_changes": env_changes,
        "regressed": bool(new_failures), "warnings": run_warnings(old.get("run") or {}, new.get("run") or {}),
    }


def run_warnings(old_run: Mapping[str, Any], new_run: Mapping[str, Any]) -> list[str]:
    """One line per way the two runs differ in what they checked (backend, profile, op filter, shard)."""
    out = []
    for key, label in RUN_KEYS:
        a, b = old_run.get(key), new_run.get(key)
        if a != b:
            out.append(f"the runs differ in {label}: old {a if a is not None else 'none'}, new "
                       f"{b if b is not None else 'none'}; records only in one run, and differences, may come from "
                       "that rather than from a change in the library")
    return out


def _row(e: Mapping[str, Any]) -> list[str]:
    r = e.get("new") or e.get("old") or {}
    ov = (e.get("old") or {}).get("verdict", "-")
    nv = (e.get("new") or {}).get("verdict", "-")
    ro = record_ratio(e["old"]) if e.get("old") else None
    rn = record_ratio(e["new"]) if e.get("new") else None
    return [str(r.get("subject")), str(r.get("oracle") or "-"), str(r.get("dtype") or "-"), f"{ov} → {nv}",
            "-" if ro is None else f"{ro:.3g}", "-" if rn is None else f"{rn:.3g}", str(e["id"])]


def compare_text(diff: Mapping[str, Any], width: int = 120, color: bool = False, limit: int = 20) -> str:
    """The comparison as terminal text (rich tables)."""
    import io

    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system="standard" if color else None, force_terminal=color,
                      highlight=False)
    oc, nc = diff["old_counts"], diff["new_counts"]
    counts = Table(title="counts", show_edge=False)
    counts.add_column("")
    verdicts = list(dict.fromkeys([*oc, *nc]))
    for v in verdicts:
        counts.add_column(v.replace("_", " "), justify="right")
    counts.add_row("old", *(str(oc.get(v, 0)) for v in verdicts))
    counts.add_row("new", *(str(nc.get(v, 0)) for v in verdicts))
    console.print(counts)
    for line in diff.get("warnings") or []:
        console.print(f"[yellow]warning: {line}[/yellow]")
    for k, (a, b) in diff["env_changes"].items():
        console.print(f"environment: {k} {a} → {b}")
    sections = (("new failures", "new_failures", "red"), ("fixed", "fixed", "green"),
                ("verdict changed", "verdict_changed", "yellow"), ("worse margins", "worse", "red"),
                ("better margins", "better", "green"),
                ("old failures not seen in the new run (case not drawn again)", "failures_not_seen", "yellow"))
    for title, key, style in sections:
        items = diff[key]
        if not items:
            continue
        t = Table(title=f"[{style}]{title} ({len(items)})[/{style}]", show_edge=False)
        for col in ("subject", "oracle", "dtype", "verdict", "old err/tol", "new err/tol", "id"):
            t.add_column(col, overflow="fold")
        for e in items[:limit]:
            t.add_row(*_row(e))
        console.print(t)
        if len(items) > limit:
            console.print(f"... and {len(items) - limit} more")
    console.print(f"{len(diff['added'])} records only in new, {len(diff['removed'])} only in old, "
                  f"{len(diff['still_failing'])} still failing.")
    if not diff["new_failures"]:
        console.print("[green]No new failures.[/green]")
    return buf.getvalue()


def card_link(entry: Mapping[str, Any], old_report: str | None, new_report: str | None) -> str | None:
    """The href of the card of an entry's record: in the new run's report, else (a record the new run no longer
    has as a discrepancy) in the old run's; None when neither report has a card for it."""
    from conformance.report.render import anchor

    for side, report in (("new", new_report), ("old", old_report)):
        rec = entry.get(side)
        if report and rec and rec.get("verdict") in ("fail", "error", "crashed", "known_difference"):
            return f"{report}#card-{anchor(entry['id'])}"
    return None


def render_compare_html(diff: Mapping[str, Any], old_name: str, new_name: str, old_report: str | None = None,
                        new_report: str | None = None) -> str:
    """The comparison as a self-contained HTML page; ``old_report``/``new_report`` are the runs' index.html
    (relative to the page), so record ids link to their cards."""
    from conformance.report.render import make_env

    sections = [("New failures", "new_failures", "fail"), ("Fixed", "fixed", "pass"),
                ("Verdict changed", "verdict_changed", "known_difference"), ("Worse margins", "worse", "fail"),
                ("Better margins", "better", "pass"), ("Still failing", "still_failing", "error"),
                ("Old failures not seen in the new run (case not drawn again)", "failures_not_seen", "known_difference")]
    rows = {key: [(_row(e), card_link(e, old_report, new_report)) for e in diff[key]] for _, key, _ in sections}
    return make_env().get_template("compare.html.j2").render(
        diff=diff, sections=sections, rows=rows, old_name=old_name, new_name=new_name)
