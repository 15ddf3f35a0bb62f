"""``python -m conformance {run, repro, report, bench, selftest, catalog}``.

``run`` executes the suite with pytest (``-n`` workers through pytest-xdist), writes
``reports/<run-id>/`` (results.json, junit.xml, index.html via the plugin) and exits non-zero when a
discrepancy is found. ``repro CASE.json`` replays one stored case and prints the comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from .profiles import PROFILES


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run the conformance suite")
    r.add_argument("--profile", choices=PROFILES, default="ci")
    r.add_argument("--max-examples", type=int, default=None, help="examples per op test (others scale)")
    r.add_argument("--seed", type=int, default=None, help="hypothesis seed (ignored by derandomised ci)")
    r.add_argument("-n", "--workers", default="1", help="pytest-xdist workers (a number or auto)")
    r.add_argument("--backend", default="minigrad", help="minigrad, torch, or package.module:Class")
    r.add_argument("--ops", default=None, help="only op tests matching these globs (comma-separated)")
    r.add_argument("--report", default=None, help="run folder (default reports/<run-id>)")
    r.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")

    rp = sub.add_parser("repro", help="replay one stored case and print the comparison")
    rp.add_argument("case", help="IR case JSON, training case JSON, or a record holding a case")
    rp.add_argument("--backend", default="minigrad")

    rep = sub.add_parser("report", help="render a report from results JSON (conformance.report)")
    rep.add_argument("args", nargs=argparse.REMAINDER)

    b = sub.add_parser("bench", help="speed of the backend vs torch on a few workloads")
    b.add_argument("--backend", default="minigrad")
    b.add_argument("--repeat", type=int, default=5)
    b.add_argument("--json", default=None, help="also write the results as JSON here")

    s = sub.add_parser("selftest", help="check that planted bugs are caught (quick), or run mutation testing")
    s.add_argument("--backend", default=None, help="base backend to plant bugs into (default minigrad)")
    s.add_argument("--mutants", action="store_true",
                   help="mutation testing: mutate the backend package's source, run the tests that reach each change")
    s.add_argument("--sample", type=int, default=None, help="--mutants: this many mutants (default all)")
    s.add_argument("--seed", type=int, default=0, help="--mutants: seed of the sample")
    s.add_argument("-n", "--workers", type=int, default=1, help="--mutants: mutants run in parallel")
    s.add_argument("--files", default=None, help="--mutants: comma-separated globs relative to the package "
                   "(default: ops, autograd, nn, optim, utils, creation, serialization, tensor, _dtype)")
    s.add_argument("--package", default="minigrad", help="--mutants: the package to mutate")
    s.add_argument("--profile", choices=PROFILES, default="ci", help="--mutants: hypothesis profile of the tests")
    s.add_argument("--max-examples", type=int, default=None, help="--mutants: op budget (others scale), as in run")
    s.add_argument("--report", default=None, help="--mutants: run folder (default reports/mutants-<timestamp>)")

    c = sub.add_parser("catalog", help="print the op catalogue (markdown table or JSON)")
    c.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "report":  # forward everything untouched
        from . import report
        return int(report.main(argv[1:]) or 0)
    args = _parser().parse_args(argv)
    return {"run": cmd_run, "repro": cmd_repro, "bench": cmd_bench, "selftest": cmd_selftest,
            "catalog": cmd_catalog}[args.command](args)


def selected_ops(pattern: str) -> list[str]:
    """Single-op catalogue entries matching the comma-separated globs of ``--ops``."""
    import fnmatch

    from .strategies.ops import all_op_specs

    return [s.name for s in all_op_specs() if any(fnmatch.fnmatch(s.name, p) for p in pattern.split(","))]


def run_id(profile: str) -> str:
    """``YYYYmmdd-HHMMSS-<profile>``."""
    return f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{profile}"


def pytest_argv(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """The pytest command line for ``run``."""
    command = "python -m conformance " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] \
        else "python -m conformance run"
    # "--opt=value" tokens: pytest would otherwise take a path value for a test path when finding rootdir
    pa = ["-p", "conformance.plugin", "--pyargs", "conformance.suite" + (".test_ops" if args.ops else ""),
          f"--conformance-report={run_dir}", f"--junitxml={run_dir / 'junit.xml'}",
          f"--conformance-profile={args.profile}", f"--conformance-backend={args.backend}",
          f"--conformance-command={command}", "-q", "-p", "no:cacheprovider", "-o", "console_output_style=classic"]
    if args.seed is not None:
        pa += ["--conformance-seed", str(args.seed), f"--hypothesis-seed={args.seed}"]
    if str(args.workers) not in ("0", "1"):
        pa += ["-n", str(args.workers)]
    return pa + list(args.pytest_args)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the suite with pytest and the conformance plugin."""
    import pytest

    if args.ops and not selected_ops(args.ops):
        print(f"conformance: --ops {args.ops!r} matches no single-op catalogue entry (components such as "
              "optimisers, schedulers and layers are checked by the network and training tests: run "
              "without --ops); `python -m conformance catalog` lists the entries", file=sys.stderr)
        return 2
    run_dir = Path(args.report) if args.report else Path("reports") / run_id(args.profile)
    run_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update({"CONFORMANCE_PROFILE": args.profile, "CONFORMANCE_BACKEND": args.backend,
                       "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    for key, val in (("CONFORMANCE_OPS", args.ops), ("CONFORMANCE_MAX_EXAMPLES", args.max_examples)):
        if val is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(val)
    t0 = time.perf_counter()
    code = int(pytest.main(pytest_argv(args, run_dir)))
    print(f"conformance: {run_dir} ({time.perf_counter() - t0:.1f}s, exit {code})")
    return code


def _load_case(path: str) -> Any:
    data = json.loads(Path(path).read_text())
    if "case" in data and "verdict" in data:  # a record
        data = data["case"]
    return data


def cmd_repro(args: argparse.Namespace) -> int:
    """Replay a case against torch (and finite differences) and print every check."""
    from .backends import load_backend
    from .checks import check_case, check_train_case, failures
    from .compare import describe_failure
    from .ir import Case

    data = _load_case(args.case)
    backend = load_backend(args.backend)
    if "nodes" in data:
        case = Case.from_json(data)
        kind = case.meta.get("kind", "graph")
        if kind == "op":
            from . import catalog
            from .checks import check_op_case
            records = check_op_case(catalog.get(case.nodes[0].op), case, backend)
        else:
            records = check_case(case, backend, kind="graph", subject=f"dag-{len(case.nodes)}-nodes",
                                 tol_class="graph", factor=1.0 + case.depth() / 2)
    else:
        records = check_train_case(data, backend)
    for rec in records:
        w = rec["worst"] or {}
        print(f"{rec['oracle']:8} {rec['dtype']:8} {rec['verdict']:17} worst {w.get('quantity')} "
              f"err/tol={w.get('ratio')}")
        for chk in rec["checks"]:
            if not chk["ok"]:
                print(f"    {chk['quantity']}: err/tol={chk['ratio']} at {chk['index']} expected "
                      f"{chk['expected']} actual {chk['actual']}")
    bad = failures(records)
    for rec in bad:
        print("DISCREPANCY:", describe_failure(rec))
    return 1 if bad else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import main as bench_main
    return bench_main(args.backend, args.repeat, args.json)


def cmd_selftest(args: argparse.Namespace) -> int:
    if args.mutants:
        from . import mutants
        files = tuple(args.files.split(",")) if args.files else mutants.DEFAULT_FILES
        config = mutants.Config(package=args.package, files=files, sample=args.sample, seed=args.seed,
                                workers=args.workers, profile=args.profile, max_examples=args.max_examples)
        return mutants.main(config, args.report)
    from .planted import selftest
    return selftest(args.backend)


def cmd_catalog(args: argparse.Namespace) -> int:
    """Print the catalogue (markdown table for the README, or JSON)."""
    from . import catalog
    if args.json:
        print(json.dumps([s.to_json() for s in catalog.CATALOG.values()], indent=1))
        return 0
    print(catalog.markdown_table())
    return 0
