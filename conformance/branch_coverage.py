"""Branch coverage of the backend's library reached by the conformance suite (coverage.py).

How much of the library under test a green run actually compared with torch. The ``run`` command
measures it by default (``--no-coverage`` skips it): every process that runs tests (the pytest process
itself, or each xdist worker) starts a :class:`coverage.Coverage` before the suite imports the library and
saves a data file in the run folder when the session ends; the controller combines them into
``.coverage`` next to ``results.json`` and condenses coverage.py's JSON report into the results'
``coverage`` section (:func:`summarise`), which the HTML report shows per file.

The figure is coverage.py's total with ``branch=True``: (executed statements + taken branch arcs) /
(statements + branch arcs), the number ``coverage report --branch`` prints. What deliberately stays
uncovered is listed, each with a reason, in ``coverage_gaps.json`` (per package: the target and the
gaps, a gap being a file or one function of a file); the report marks uncovered code inside a listed
gap as accepted, and flags a listed gap that is now fully covered as stale. Accepted gaps still count as
uncovered in the figure: the list explains a shortfall, it never hides one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

GAPS_FILE = Path(__file__).with_name("coverage_gaps.json")
DATA_PREFIX = ".coverage"  # coverage.py data files in the run folder: .coverage (combined), .coverage.<suffix>


def package_for_backend(backend: str) -> str | None:
    """The library a backend spec stands for: ``minigrad`` -> minigrad, ``pkg.mod:Class`` -> pkg.

    torch is the reference (compiled code; its Python coverage says nothing about conformance): None.
    Pass ``--coverage-package`` when an adapter lives outside the library it adapts."""
    if backend == "torch":
        return None
    if ":" in backend:
        return backend.partition(":")[0].split(".")[0] or None
    return backend.split(".")[0] or None


def load_policy(package: str, path: Path = GAPS_FILE) -> dict[str, Any]:
    """``{"target": float | None, "gaps": [...]}`` for ``package`` from the gaps file (empty if unlisted)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        doc = {}
    entry = doc.get(package) or {}
    return {"target": entry.get("target"), "gaps": list(entry.get("gaps") or [])}


# ---- measuring (one Coverage per test-running process) -----------------------------------------------
def start(package: str, run_dir: Path, suffix: str) -> Any:
    """Start measuring ``package`` (branch coverage) into ``run_dir/.coverage.<suffix>``; return the Coverage.

    Call it before the suite imports the package: lines run at import time (``def`` and ``class``
    statements) are otherwise missed, which :func:`summarise` reports as a warning."""
    import coverage

    cov = coverage.Coverage(data_file=str(run_dir / DATA_PREFIX), data_suffix=suffix, branch=True,
                            source_pkgs=[package], config_file=False)
    cov.start()
    return cov


def stop(cov: Any) -> None:
    """Stop measuring and save this process's data file."""
    cov.stop()
    cov.save()


def combine(run_dir: Path, package: str) -> dict[str, Any] | None:
    """Combine the run's data files into ``run_dir/.coverage`` (``coverage html --data-file=...`` renders
    coverage.py's own report from it) and return coverage.py's JSON report; None when no data was saved."""
    import tempfile

    import coverage

    if not any(run_dir.glob(DATA_PREFIX + ".*")):
        return None
    cov = coverage.Coverage(data_file=str(run_dir / DATA_PREFIX), branch=True, source_pkgs=[package],
                            config_file=False)
    cov.combine([str(run_dir)], keep=False)
    cov.save()
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        cov.json_report(outfile=str(out), ignore_errors=True)
        return json.loads(out.read_text(encoding="utf-8"))


# ---- condensing coverage.py's JSON report ----------------------------------------------------------------
def line_ranges(lines: Iterable[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``"1-3, 7, 9-10"``."""
    out: list[str] = []
    run: list[int] = []
    for n in sorted(set(lines)):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(out)


def partial_branches(missing_arcs: Iterable[Sequence[int]], missing_lines: Iterable[int]) -> str:
    """The branches not taken from lines that ran, in coverage.py's notation: ``"12->14, 20->exit"``
    (arcs from lines that never ran are already in the missing lines)."""
    missed = set(missing_lines)
    arcs = sorted((a, b) for a, b in (tuple(x) for x in missing_arcs) if a not in missed)
    return ", ".join(f"{a}->{'exit' if b < 0 else b}" for a, b in arcs)


def _pct(covered: int, total: int) -> float:
    return round(100.0 * covered / total, 2) if total else 100.0


def _gap_matches(gap: Mapping[str, Any], path: str, function: str | None) -> bool:
    if gap.get("file") != path:
        return False
    return "function" not in gap or gap["function"] == function


def summarise(report: Mapping[str, Any], package: str, policy: Mapping[str, Any] | None = None,
              fail_under: float | None = None, warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The results' ``coverage`` section from coverage.py's JSON report.

    ``files`` maps a path (relative, as coverage.py names it) to its statements, branches, percentages,
    missing lines and partial branches as compact ranges, and the uncovered functions (each with the
    reason when a listed gap accepts it). ``gaps`` is the policy's list with each gap's state
    (``open``: code in it is uncovered; ``stale``: fully covered now, or naming nothing measured)."""
    policy = dict(policy or {})
    gaps = [dict(g) for g in policy.get("gaps") or []]
    totals = report.get("totals") or {}
    files: dict[str, Any] = {}
    seen_gap: dict[int, int] = {}  # gap index -> uncovered statements + arcs found in it
    measured: set[tuple[str, str | None]] = set()
    for path, f in sorted((report.get("files") or {}).items()):
        path = path.replace("\\", "/")
        s = f.get("summary") or {}
        uncovered_functions = []
        for fname, region in (f.get("functions") or {}).items():
            measured.add((path, fname))
            rs = region.get("summary") or {}
            n_missing = int(rs.get("missing_lines", 0)) + int(rs.get("missing_branches", 0))
            if not n_missing:
                continue
            name = fname or "(module level)"
            gap_i = next((i for i, g in enumerate(gaps) if _gap_matches(g, path, fname or None)), None)
            if gap_i is not None:
                seen_gap[gap_i] = seen_gap.get(gap_i, 0) + n_missing
            uncovered_functions.append({
                "name": name, "missing_lines": line_ranges(region.get("missing_lines") or []),
                "partial_branches": partial_branches(region.get("missing_branches") or [],
                                                     region.get("missing_lines") or []),
                "percent": round(float(rs.get("percent_covered", 100.0)), 2),
                "accepted": gaps[gap_i]["reason"] if gap_i is not None else None,
            })
        measured.add((path, None))
        files[path] = {
            "statements": int(s.get("num_statements", 0)), "missing_statements": int(s.get("missing_lines", 0)),
            "branches": int(s.get("num_branches", 0)), "missing_branch_arcs": int(s.get("missing_branches", 0)),
            "percent": round(float(s.get("percent_covered", 100.0)), 2),
            "percent_branches": round(float(s.get("percent_branches_covered", 100.0)), 2),
            "missing_lines": line_ranges(f.get("missing_lines") or []),
            "partial_branches": partial_branches(f.get("missing_branches") or [], f.get("missing_lines") or []),
            "uncovered_functions": sorted(uncovered_functions, key=lambda u: u["percent"]),
        }
    for i, g in enumerate(gaps):
        if (g.get("file"), g.get("function")) not in measured:
            g["state"] = "stale"
            g["note"] = "names no measured file or function"
        else:
            g["state"] = "open" if seen_gap.get(i) else "stale"
            if g["state"] == "stale":
                g["note"] = "fully covered now: remove it from the gaps file"
    total = round(float(totals.get("percent_covered", 100.0)), 2)
    target = policy.get("target")
    return {
        "package": package, "tool": f"coverage.py {(report.get('meta') or {}).get('version', '?')} (branch)",
        "percent": total,
        "percent_statements": round(float(totals.get("percent_statements_covered", 100.0)), 2),
        "percent_branches": round(float(totals.get("percent_branches_covered", 100.0)), 2),
        "statements": int(totals.get("num_statements", 0)), "missing_statements": int(totals.get("missing_lines", 0)),
        "branches": int(totals.get("num_branches", 0)), "missing_branch_arcs": int(totals.get("missing_branches", 0)),
        "target": target, "fail_under": fail_under,
        "passed": None if fail_under is None else total >= fail_under,
        "files": files, "gaps": gaps, "warnings": list(warnings),
    }


def gate_message(section: Mapping[str, Any]) -> str:
    """One line for the terminal: the figure, the target, and the gate's verdict."""
    pct, pkg = section["percent"], section["package"]
    target = f", target {section['target']:g}%" if section.get("target") is not None else ""
    text = (f"branch coverage of {pkg} reached by the suite: {pct:.2f}% "
            f"(statements {section['percent_statements']:.2f}%, branches {section['percent_branches']:.2f}%{target})")
    if section.get("fail_under") is None:
        return text
    if section["passed"]:
        return text + f"; gate --fail-under {section['fail_under']:g} passed"
    return (f"FAILED: {text} is below --fail-under {section['fail_under']:g} "
            f"(uncovered code per file: coverage section of the report)")


def already_imported(package: str) -> bool:
    """Whether ``package`` was imported before measuring started (its import-time lines are then missed)."""
    return package in sys.modules
