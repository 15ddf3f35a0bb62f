"""The HTML report: render a results file, or compare two.

``main(argv)`` implements ``python -m conformance report``::

    python -m conformance report RESULTS.json [-o OUT.html]
    python -m conformance report SHARD1.json SHARD2.json ... -o OUT.html     (merge shards into one run)
    python -m conformance report --compare OLD.json NEW.json [-o OUT.html] [--fail-on-regression]

Rendering reads the artefacts (arrays/, cases/, repro/) next to RESULTS.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "render_html", "render_report"]


def render_report(results: Any, out_path: str | os.PathLike[str],
                  base_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write the HTML report for a results document (see :func:`conformance.report.render.render_report`)."""
    from conformance.report.render import render_report as _render

    return _render(results, out_path, base_dir)


def render_html(results: Any, base_dir: str | os.PathLike[str] | None = None,
                out_path: str | os.PathLike[str] | None = None) -> str:
    """The HTML report for a results document as a string."""
    from conformance.report.render import render_html as _render

    return _render(results, Path(base_dir) if base_dir else None, Path(out_path) if out_path else None)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m conformance report",
        description="Render a conformance results.json as HTML (no re-run), or compare two runs.")
    p.add_argument("results", nargs="*", metavar="RESULTS.json",
                   help="the results file to render (.json or .json.gz); several: the shards of one run "
                        "(run --shard K/N), merged into OUT.html and a results.json next to it; with --compare: "
                        "OLD.json NEW.json")
    p.add_argument("--compare", action="store_true", help="compare OLD.json NEW.json (records matched by id)")
    p.add_argument("-o", "--output", metavar="OUT.html",
                   help="HTML file to write (render: default index.html next to RESULTS.json; "
                        "compare: no HTML unless given)")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="with --compare: exit 1 when the new run has failures the old one did not")
    return p


def main(argv: list[str]) -> int:
    """Entry point of ``python -m conformance report``; returns the process exit code.

    0 success; 1 with ``--fail-on-regression`` when new failures appeared; 2 on bad arguments or
    an unreadable/unsupported results file."""
    from conformance.results import ResultsError, load_results

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on -h and errors; report it as a return code
        return int(exc.code or 0)
    if (args.compare and len(args.results) != 2) or not args.results:
        parser.print_usage(sys.stderr)
        print(f"error: expected {'OLD.json NEW.json' if args.compare else 'RESULTS.json (or shards and -o)'}, "
              f"got {len(args.results)} path(s)", file=sys.stderr)
        return 2
    if len(args.results) > 1 and not args.compare and not args.output:
        print("error: merging shards needs -o OUT.html (the merged results.json and artefacts go next to it)",
              file=sys.stderr)
        return 2
    try:
        docs = [load_results(p) for p in args.results]
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(args.results) > 1 and not args.compare:
        return _merge(docs, args.results, Path(args.output))
    if not args.compare:
        src = Path(args.results[0])
        out = Path(args.output) if args.output else src.parent / "index.html"
        path = render_report(docs[0], out, base_dir=src.parent)
        print(f"Conformance report: {path.resolve()}")
        return 0
    from conformance.report.compare import (
        compare_results,
        compare_text,
        render_compare_html,
    )

    diff = compare_results(docs[0], docs[1])
    color = sys.stdout.isatty()
    sys.stdout.write(compare_text(diff, color=color))
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        reports = [os.path.relpath(Path(r).parent / "index.html", out.parent) for r in args.results]
        out.write_text(render_compare_html(diff, args.results[0], args.results[1], *reports), encoding="utf-8")
        print(f"Comparison report: {out.resolve()}")
    return 1 if args.fail_on_regression and diff["regressed"] else 0


def _merge(docs: list[Any], sources: list[str], out: Path) -> int:
    """Merge shards into ``out`` (HTML) and ``results.json`` next to it."""
    from conformance.report.merge import merge_results, merge_warnings
    from conformance.results import write_results

    for line in merge_warnings([d["run"] for d in docs]):
        print(f"warning: {line}", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    merged = merge_results(docs, sources, out.parent)
    results_path = write_results(out.parent / "results.json", merged)
    path = render_report(merged, out, base_dir=out.parent)
    counts = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in merged["counts"].items() if n)
    print(f"Merged {len(docs)} results ({len(merged['records'])} records: {counts or 'none'}) into {results_path}")
    print(f"Conformance report: {path.resolve()}")
    return 0
