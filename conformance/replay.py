"""Replay one stored case and give a verdict: shared by ``python -m conformance repro`` and the standalone
``repro/<id>.py`` scripts of a run folder (so both use the run's checks, tolerances and oracles).

A case is one of the kinds the suite stores on its records: an IR case (``nodes``: a single op or a graph), a
network or training case, an error-parity case (``kind: error``) or a stateful program (``kind: stateful``).
:func:`replay` runs it in a backend against the oracles and returns records; :func:`verdict` prints them (only
the card's oracle and dtype when given) and returns the exit status: 0 within tolerance, 1 outside.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

#: exit status of a script or ``repro`` that replayed the case: within tolerance, or not
AGREES, DIFFERS = 0, 1


class CannotReplay(ValueError):
    """The case is not one this module can replay (or torch rejects it): nothing was compared."""


def case_kind(data: Mapping[str, Any]) -> str | None:
    """``ir``, ``train``, ``error`` or ``stateful`` for a replayable case, else None."""
    if "nodes" in data:
        return "ir"
    kind = data.get("kind")
    if kind in ("network", "training") and "dtype" in data:
        return "train"
    if kind == "error" and {"code", "leaves", "subject", "category"} <= set(data):
        return "error"
    if kind == "stateful" and {"machine", "program"} <= set(data):
        return "stateful"
    return None


def replay(data: Mapping[str, Any], backend: Any) -> list[dict[str, Any]]:
    """Records for one case in ``backend`` against every oracle that applies to it."""
    from .checks import HarnessRejected, check_case, check_op_case, check_train_case

    kind = case_kind(data)
    if kind == "error":
        return [_replay_error(data, backend)]
    if kind == "stateful":
        return [_replay_stateful(data, backend)]
    if kind == "train":
        return check_train_case(dict(data), backend)
    if kind != "ir":
        raise CannotReplay("not a case: an IR case has 'nodes', a network or training case a 'kind' and a "
                           "'dtype', an error case 'kind': 'error', a stateful case 'kind': 'stateful'")
    from . import catalog
    from .ir import Case

    try:  # a hand-edited or foreign case: say so rather than fail deep inside a check
        case = Case.from_json(dict(data))
        spec = catalog.get(case.nodes[0].op) if case.meta.get("kind", "graph") == "op" else None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CannotReplay(f"not a valid IR case ({type(exc).__name__}: {exc})") from None
    try:
        if spec is not None:
            return check_op_case(spec, case, backend)
        return check_case(case, backend, kind="graph", subject=f"dag-{len(case.nodes)}-nodes", tol_class="graph",
                          factor=1.0 + case.depth() / 2)
    except HarnessRejected as exc:
        raise CannotReplay(f"torch rejects this case, so there is nothing to compare ({exc})") from None


def _replay_error(data: Mapping[str, Any], backend: Any) -> dict[str, Any]:
    """The error-parity check of the suite (conformance/suite/test_errors.py) on one stored case."""
    from .backends import reference
    from .compare import make_record
    from .errors import ErrorCase, compare_exceptions, run_error_case

    case = ErrorCase.from_json(dict(data))
    check = compare_exceptions(run_error_case(case, reference()), run_error_case(case, backend), backend.name)
    dtypes = [str(v.dtype) for v, _ in case.leaves.values() if v.dtype.kind == "f"]
    return make_record(kind="error", subject=case.subject, ops=case.ops or [case.subject], oracle="error",
                       dtype=dtypes[0] if dtypes else "none", backend=backend.name, checks=[check],
                       case=case.to_json(), digest=case.digest(), edge_values=[case.category])


def _replay_stateful(data: Mapping[str, Any], backend: Any) -> dict[str, Any]:
    """Run hypothesis's shrunk program of a stateful record step by step in the backend and in torch."""
    import numpy as np

    from .compare import make_record
    from .stateful import MACHINES, StatefulMismatch, Stats, machine_for

    name = str(data["machine"])
    if name not in MACHINES:
        raise CannotReplay(f"unknown state machine {name!r} (known: {', '.join(sorted(MACHINES))})")
    stats = Stats()
    cls = machine_for(MACHINES[name], backend, stats)
    # the program's names: the machine class, and how hypothesis prints numpy values
    scope: dict[str, Any] = {cls.__name__: cls, "np": np, "numpy": np, "array": np.array, "nan": np.nan,
                             "inf": np.inf, **{t: getattr(np, t) for t in ("float16", "float32", "float64", "int8",
                                                                          "int16", "int32", "int64", "bool_")}}
    message = None
    try:
        exec(compile(str(data["program"]), f"<{name} program>", "exec"), scope)  # noqa: S102 - a stored case
    except StatefulMismatch as exc:
        message = f"{name} machine: {exc}"
    except (NameError, SyntaxError) as exc:
        raise CannotReplay(f"the stored {name} program does not run ({type(exc).__name__}: {exc})") from None
    worst = [stats.worst] if stats.worst else []
    return make_record(kind="stateful", subject=name, ops=sorted(stats.apis), oracle="torch32", dtype="float32",
                       backend=getattr(backend, "name", "backend"), checks=worst, case=dict(data), digest="replay",
                       message=message or f"{stats.steps} steps, {stats.checks} checks",
                       verdict="fail" if message else "pass")


def verdict(records: Sequence[Mapping[str, Any]], oracle: str | None = None, dtype: str | None = None,
            out: Any = None) -> int:
    """Print every check of ``records`` (only those of ``oracle`` and ``dtype`` when given) and a verdict
    line; :data:`AGREES` or :data:`DIFFERS`. Raises :class:`CannotReplay` when no record is of that oracle."""
    import sys

    from .checks import failures
    from .compare import describe_failure

    out = out or sys.stdout
    chosen = [r for r in records if (oracle is None or r["oracle"] == oracle) and (dtype is None or r["dtype"] == dtype)]
    if not chosen:
        have = ", ".join(sorted({f"{r['oracle']}/{r['dtype']}" for r in records})) or "none"
        raise CannotReplay(f"the replay gave no record for oracle {oracle} at {dtype} (it gave {have})")
    for rec in chosen:
        w = rec["worst"] or {}
        print(f"{rec['oracle']:8} {rec['dtype']:8} {rec['verdict']:17} worst {w.get('quantity')} "
              f"err/tol={w.get('ratio')}", file=out)
        for chk in rec["checks"]:
            if not chk["ok"]:
                print(f"    {chk['quantity']}: err/tol={chk['ratio']} at {chk['index']} expected "
                      f"{chk['expected']} actual {chk['actual']}", file=out)
        if rec["verdict"] == "fail" and rec.get("kind") == "stateful" and rec.get("message"):
            print("    " + str(rec["message"]).splitlines()[0], file=out)
    bad = failures(list(chosen))
    for rec in bad:
        print("DISCREPANCY:", describe_failure(rec), file=out)
    what = f"{len(chosen)} record(s)" + (f" of oracle {oracle}" if oracle else "")
    print(f"VERDICT: {'DIFFERS' if bad else 'agrees'}: {len(bad)} of {what} outside tolerance", file=out)
    return DIFFERS if bad else AGREES


# ---- the standalone script of a card ------------------------------------------------------------------------
SCRIPT = '''"""Reproducer of card {rid} ({subject}: oracle {oracle}, {dtype}), generated by conformance.

    python {name}            replay the case below in the run's backend ({backend}) against the
                             card's oracle ({oracle}), with the run's checks and tolerances; prints every
                             check and a verdict. Exit status 0 within tolerance, 1 outside, 2 when the
                             case cannot be replayed (or the backend does not load).
    python {name} --backend SPEC     the same with another backend (minigrad, torch, package.module:Class)
    python {name} --program          print a plain program showing the same computation in torch and in
                             minigrad side by side (for reading; the verdict above is the reference)
"""
import json
import sys

from conformance.replay import script_main

RECORD_ID = {rid!r}
BACKEND = {backend!r}
ORACLE = {oracle!r}
DTYPE = {dtype!r}
CASE = json.loads({case!r})
PROGRAM = {program!r}

if __name__ == "__main__":
    sys.exit(script_main(CASE, BACKEND, ORACLE, DTYPE, PROGRAM, sys.argv[1:]))
'''


def script_text(record_id: str, case: Mapping[str, Any] | str, program: str, *, backend: str | None,
                oracle: str | None, dtype: str | None, subject: str | None = None) -> str:
    """Source of ``repro/<id>.py``: the case, the run's backend and the card's oracle, replayed by
    :func:`script_main`; ``program`` (a plain torch/minigrad program) is kept for ``--program``."""
    from .results import safe_filename, to_plain

    text = case if isinstance(case, str) else json.dumps(to_plain(case), sort_keys=True, separators=(",", ":"))
    return SCRIPT.format(rid=record_id, subject=subject or "case", oracle=oracle, dtype=dtype,
                         name=f"repro/{safe_filename(record_id)}.py", backend=backend or "minigrad", case=text,
                         program=program)


def script_main(case: Mapping[str, Any], backend_spec: str, oracle: str | None, dtype: str | None, program: str,
                argv: Sequence[str]) -> int:
    """What a ``repro/<id>.py`` script does (see :data:`SCRIPT`); returns its exit status."""
    import argparse
    import sys

    from .backends import BackendError, load_backend

    p = argparse.ArgumentParser(description="replay one conformance card and print a verdict")
    p.add_argument("--backend", default=backend_spec, help="backend to replay in (default: the run's, %(default)s)")
    p.add_argument("--program", action="store_true", help="print the plain side-by-side program and exit")
    args = p.parse_args(list(argv))
    if args.program:
        print(program)
        return AGREES
    try:
        backend = load_backend(args.backend)
        return verdict(replay(case, backend), oracle, dtype)
    except (BackendError, CannotReplay) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
