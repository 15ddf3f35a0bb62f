"""Check a library with torch's API (minigrad by default) against torch.

run executes the suite with pytest (-n workers through pytest-xdist) and writes
reports/<run-id>/ (results.json, junit.xml, index.html). repro CASE.json replays one
stored case and prints the comparison. COMMAND --help describes each command.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from .profiles import EXAMPLES, PROFILES

#: The exit status of every command (``--help`` epilog and README).
EXIT_AGREES, EXIT_DISCREPANCIES, EXIT_INPUT_ERROR, EXIT_HARNESS_ERROR = 0, 1, 2, 3
EXIT_CODES_HELP = """exit status:
  0  agrees: no discrepancy with torch
  1  discrepancies found (failed, errored or crashed checks; see the report)
  2  usage or input error: a bad option, --backend, case file or results file,
     or a selection that contains no test; nothing was checked
  3  harness error or crash: the run did not finish (interrupted, a test module
     that does not import, a pytest internal error, a bug in the harness)"""


#: seconds one test may run (``run --case-timeout``): ten times the slowest test of a full ci run
CASE_TIMEOUT = 600


class InputError(ValueError):
    """Bad input from the user (a file, an id, an option value): reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def worker_count(text: str) -> str:
    """argparse type for ``-n``: a number >= 1 or ``auto`` (checked here, so pytest-xdist never sees junk)."""
    if text == "auto":
        return text
    try:
        return str(positive_int(text))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a number of workers >= 1 or 'auto', got {text!r}") from None


def shard_spec(text: str) -> str:
    """argparse type for ``--shard``: ``K/N`` with 1 <= K <= N."""
    from .plugin import parse_shard

    try:
        return "{}/{}".format(*parse_shard(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _profile_help() -> str:
    budgets = ", ".join(f"{p} ({EXAMPLES[p]['op']})" for p in PROFILES)
    return (f"example budget, as examples per op test: {budgets}; ci is derandomised and prints reproduce "
            "blobs (default: %(default)s)")


def _parser() -> argparse.ArgumentParser:
    # the module docstring is the top-level --help text (plain text; RawDescription keeps its lines)
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(prog="python -m conformance", description=__doc__, epilog=EXIT_CODES_HELP, formatter_class=fmt)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run the conformance suite", epilog=EXIT_CODES_HELP, formatter_class=fmt)
    r.add_argument("--profile", choices=PROFILES, default="ci", help=_profile_help())
    r.add_argument("--max-examples", type=positive_int, default=None,
                   help="examples per op test, >= 1 (others scale)")
    r.add_argument("--seed", type=int, default=None, help="hypothesis seed (ignored by derandomised ci)")
    r.add_argument("-n", "--workers", type=worker_count, default="1",
                   help="pytest-xdist workers: a number >= 1 or auto (default: %(default)s); tests always run in "
                        "worker processes, so a worker that crashes or hangs is recorded and replaced")
    r.add_argument("--case-timeout", type=positive_int, default=CASE_TIMEOUT, metavar="SECONDS",
                   help="stop a test (one property: all its examples) that runs longer than this and record it "
                        "as crashed (pytest-timeout; default: %(default)s)")
    r.add_argument("--backend", default="minigrad",
                   help="minigrad, torch, or package.module:Class (default: %(default)s)")
    r.add_argument("--ops", default=None, help="only op and OpInfo tests matching these globs (comma-separated)")
    r.add_argument("--report", default=None, help="run folder (default reports/<run-id>)")
    r.add_argument("--shard", type=shard_spec, default=None, metavar="K/N",
                   help="run shard K of N (1 <= K <= N): a deterministic 1/N of the tests, the same on every "
                        "machine; merge the shards' results with `report A.json B.json ... -o OUT.html`")
    r.add_argument("--gzip", action="store_true",
                   help="write results.json.gz instead of results.json (every command reads either)")
    r.add_argument("--no-coverage", action="store_true", help="do not measure the backend's branch coverage")
    r.add_argument("--coverage-package", default=None,
                   help="package whose branch coverage is measured (default: the backend's library)")
    r.add_argument("--fail-under", type=float, default=None, metavar="PCT",
                   help="exit non-zero when branch coverage is below PCT percent (default: the package's "
                        "target in conformance/coverage_gaps.json for a full ci run, else no gate)")
    r.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")

    rp = sub.add_parser("repro", help="replay one stored case and print the comparison", epilog=EXIT_CODES_HELP,
                        formatter_class=fmt)
    rp.add_argument("case", help="a case file (cases/<id>.json: IR or training case), a record holding a case, "
                                 "or a results.json with --id")
    rp.add_argument("--id", dest="record_id", default=None,
                    help="the record to replay when CASE is a results.json (the id on its report card)")
    rp.add_argument("--backend", default="minigrad",
                    help="minigrad, torch, or package.module:Class (default: %(default)s)")
    rp.add_argument("--oracle", default=None, help="only the records of this oracle (torch64, torch32, fd64, "
                    "error; default: every oracle that applies)")

    rep = sub.add_parser("report", help="render a report from results JSON (conformance.report)")
    rep.add_argument("args", nargs=argparse.REMAINDER)

    b = sub.add_parser("bench", help="speed of the backend vs torch on a few workloads")
    b.add_argument("--backend", default="minigrad")
    b.add_argument("--repeat", type=positive_int, default=5)
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
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed in one line)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT_ERROR
    command = {"run": cmd_run, "repro": cmd_repro, "bench": cmd_bench, "selftest": cmd_selftest,
               "catalog": cmd_catalog}[args.command]
    return guarded(command, args)


def guarded(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command: bad input (a ``--backend`` that does not load, an unusable file) is one line on stderr and
    exit status 2; an unexpected exception is a harness bug: its traceback, then exit status 3 (never 1, which
    means "discrepancies")."""
    from .backends import BackendError, load_backend
    from .results import ResultsError

    prefix = f"conformance {args.command}: error:"
    try:
        if getattr(args, "backend", None):  # loaded and checked before pytest or any case starts
            load_backend(args.backend)
        return command(args)
    except (InputError, BackendError, ResultsError) as exc:
        print(f"{prefix} {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print(f"{prefix} interrupted", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    except Exception as exc:  # noqa: BLE001 - a crash must not look like a discrepancy (exit 1)
        traceback.print_exc()
        print(f"{prefix} harness error (a bug in conformance): {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR


def selected_ops(pattern: str) -> list[str]:
    """Single-op catalogue entries matching the comma-separated globs of ``--ops``."""
    import fnmatch

    from .strategies.ops import all_op_specs

    return [s.name for s in all_op_specs() if any(fnmatch.fnmatch(s.name, p) for p in pattern.split(","))]


def run_id(profile: str) -> str:
    """``YYYYmmdd-HHMMSS-<profile>``."""
    return f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{profile}"


def coverage_options(args: argparse.Namespace) -> tuple[str | None, float | None]:
    """(package to measure, --fail-under) for ``run``: on by default; the gate defaults to the package's
    target only for the whole suite under the ci profile (a quick run, an ``--ops`` subset or a shard cannot reach
    it, and a gate that always fails teaches people to ignore it)."""
    from .branch_coverage import load_policy, package_for_backend

    if args.no_coverage:
        return None, None
    package = args.coverage_package or package_for_backend(args.backend)
    if package is None:
        return None, None
    fail_under = args.fail_under
    if fail_under is None and args.profile == "ci" and not args.ops and not getattr(args, "shard", None):
        fail_under = load_policy(package)["target"]
    return package, (fail_under if fail_under else None)


def pytest_argv(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """The pytest command line for ``run``."""
    command = "python -m conformance " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] \
        else "python -m conformance run"
    # "--opt=value" tokens: pytest would otherwise take a path value for a test path when finding rootdir
    suite = ["conformance.suite.test_ops", "conformance.suite.test_opinfo"] if args.ops else ["conformance.suite"]
    pa = ["-p", "conformance.plugin", "--pyargs", *suite,
          f"--conformance-report={run_dir}", f"--junitxml={run_dir / 'junit.xml'}",
          f"--conformance-profile={args.profile}", f"--conformance-backend={args.backend}",
          f"--conformance-command={command}", "-q", "-p", "no:cacheprovider", "-o", "console_output_style=classic"]
    if args.shard:
        pa.append(f"--conformance-shard={args.shard}")
    if args.gzip:
        pa.append("--conformance-gzip")
    if args.seed is not None:
        pa += ["--conformance-seed", str(args.seed), f"--hypothesis-seed={args.seed}"]
    package, fail_under = coverage_options(args)
    if package:
        pa.append(f"--conformance-coverage={package}")
    if fail_under:
        pa.append(f"--conformance-fail-under={fail_under:g}")
    # always in xdist workers, even one: xdist records and replaces a worker that dies (os._exit, SIGSEGV, or
    # pytest-timeout's thread method ending a hung test), where an in-process run would die with it
    pa += ["-n", str(args.workers), f"--timeout={args.case_timeout}", "--timeout-method=thread",
           f"--conformance-case-timeout={args.case_timeout}"]
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
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--report {str(run_dir)!r}: cannot create the run folder ({exc.strerror or exc})") from None
    os.environ.update({"CONFORMANCE_PROFILE": args.profile, "CONFORMANCE_BACKEND": args.backend,
                       "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    for key, val in (("CONFORMANCE_OPS", args.ops), ("CONFORMANCE_MAX_EXAMPLES", args.max_examples)):
        if val is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(val)
    t0 = time.perf_counter()
    pytest_status = int(pytest.main(pytest_argv(args, run_dir)))
    code = run_exit_status(pytest_status, narrowed=bool(args.pytest_args))
    print(f"conformance: {run_dir} ({time.perf_counter() - t0:.1f}s, exit {code})")
    if code == EXIT_INPUT_ERROR:
        print(f"conformance run: error: pytest rejected the extra arguments {args.pytest_args} or they selected "
              "no test", file=sys.stderr)
    elif code == EXIT_HARNESS_ERROR:
        print(f"conformance run: error: the run did not finish (pytest exit status {pytest_status}: "
              f"{pytest.ExitCode(pytest_status).name.lower().replace('_', ' ')}); results are partial",
              file=sys.stderr)
    return code


def run_exit_status(pytest_status: int, narrowed: bool) -> int:
    """Our exit status for pytest's (see ``EXIT_CODES_HELP``).

    pytest 1 (tests failed) is a discrepancy: the plugin turns every failing check, backend exception and crash
    into a failing test. 4 (pytest rejected its command line) can only come from the extra pytest arguments,
    since ours are checked by argparse: usage error. 5 (no tests collected) is a usage error when those
    arguments narrowed the selection (e.g. ``-- -k nothing``), else the suite itself collected nothing: a
    harness error, never a green run. 2 (interrupted: Ctrl-C, or a test module that fails to import) and 3
    (pytest internal error) mean the run did not finish, so there is no verdict: harness error."""
    import pytest

    codes = pytest.ExitCode
    if pytest_status == codes.OK:
        return EXIT_AGREES
    if pytest_status == codes.TESTS_FAILED:
        return EXIT_DISCREPANCIES
    if pytest_status == codes.USAGE_ERROR or (pytest_status == codes.NO_TESTS_COLLECTED and narrowed):
        return EXIT_INPUT_ERROR
    return EXIT_HARNESS_ERROR


def load_replay_case(path: str, record_id: str | None = None) -> dict[str, Any]:
    """The case ``repro`` replays: a case file (IR or training case), a record holding a case, or the record
    ``record_id`` of a results.json. Anything else raises :class:`InputError` saying what is wrong."""
    from .results import read_json_text, validate_results

    try:
        text = read_json_text(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it as a JSON text file ({getattr(exc, 'strerror', None) or exc})") \
            from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON, truncated or damaged? ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object (a case, a record or a results file), "
                         f"got a JSON {type(data).__name__}")
    if "schema_version" in data:  # a results file: select the record
        records = validate_results(data, path)["records"]
        with_case = [r["id"] for r in records if r.get("case")]
        if record_id is None:
            examples = ", ".join(with_case[:3]) + (", ..." if len(with_case) > 3 else "")
            raise InputError(f"{path} is a results file with {len(records)} records: choose the one to replay with "
                             f"--id ID ({len(with_case)} hold a case{': ' + examples if with_case else ''})")
        found = [r for r in records if r["id"] == record_id]
        if not found:
            raise InputError(f"{path}: no record with id {record_id!r} ({len(with_case)} records hold a case"
                             f"{': ' + ', '.join(with_case[:3]) if with_case else ''})")
        data = found[0]
    elif record_id is not None:
        raise InputError(f"--id selects a record of a results file, and {path} is not one (no 'schema_version')")
    if "verdict" in data:  # a record
        if not isinstance(data.get("case"), dict):
            raise InputError(f"record {data.get('id')!r} (verdict {data.get('verdict')!r}) holds no case to replay "
                             "(records of passing checks, and errors raised outside a case, keep none)")
        data = data["case"]
    from .replay import case_kind

    if case_kind(data) is None:
        raise InputError(f"{path}: not a case (an IR case has 'nodes', a training case a 'kind' of network or "
                         "training and a 'dtype', an error or stateful case a 'kind' of error or stateful), a "
                         "record (with 'verdict') or a results file (with 'schema_version')")
    return data


def cmd_repro(args: argparse.Namespace) -> int:
    """Replay a case against torch (and finite differences) and print every check and a verdict."""
    from .backends import load_backend
    from .replay import CannotReplay, replay, verdict

    data = load_replay_case(args.case, args.record_id)
    backend = load_backend(args.backend)
    try:
        return verdict(replay(data, backend), args.oracle)
    except CannotReplay as exc:
        raise InputError(f"{args.case}: {exc}") from None


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
