"""pytest plugin: collect conformance records, aggregate them across xdist workers, write the run.

Enable with ``-p conformance.plugin`` (or the ``pytest11`` entry point). Tests ask for the
``conformance_recorder`` fixture and call ``recorder.add(record)`` with records shaped as in
``conformance/schema.py``. The same code path runs with and without pytest-xdist:

* in the process that runs a test, a ``pytest_runtest_makereport`` wrapper drains the records the
  test added, keeps the right ones (see below) and attaches them to the report as one JSON string
  in ``report.user_properties`` (xdist ships user_properties from worker to controller);
* in the controller (the only process when xdist is off), ``pytest_runtest_logreport`` collects
  them; ``pytest_sessionfinish`` writes ``DIR/results.json`` and renders ``DIR/index.html``, also
  when the run was interrupted (``run.interrupted``); ``pytest_terminal_summary`` prints a summary.

Which records are kept. Hypothesis calls a test body many times and shrinks a failure. For a test
that passed, every record is kept. For a failing test, the records added during the final replay of
the shrunk example (``hypothesis.control.current_build_context().is_final``; outside hypothesis
every record counts as final) are kept, plus the records of the examples that passed completely.
The ``@reproduce_failure(...)`` line hypothesis prints (``print_blob=True``) is copied into the
kept non-pass records. A failing test whose final replay recorded no discrepancy (an exception in a
backend, a fixture error, a health check) yields a synthesised ``error`` record carrying the
exception text and whatever ``recorder.set_context(...)`` said about the case. A test that killed
its xdist worker yields a ``crashed`` record.

Nothing is written unless ``--conformance-report DIR`` is given, so plain pytest runs stay clean
(the recorder still validates records and keeps them in ``recorder.records``).

Branch coverage (``--conformance-coverage PKG``, with a report folder): every process that runs tests
(this one, or each xdist worker; an xdist controller runs none) starts coverage.py in
``pytest_load_initial_conftests``, before the suite imports PKG, and saves its data at session end; the
controller combines the data into the results' ``coverage`` section (``conformance/branch_coverage.py``)
and, with ``--conformance-fail-under PCT``, fails the session when the figure is below PCT.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import branch_coverage
from conformance.results import (
    array_to_json,
    build_results,
    collect_environment,
    count_verdicts,
    normalize_record,
    record_ratio,
    safe_filename,
    stable_id,
    to_plain,
    worst_key,
    write_results,
)

USER_PROPERTY = "conformance_records"
REPRODUCE_RE = re.compile(r"@reproduce_failure\((?:'[^']*'|\"[^\"]*\"),\s*b(?:'[^']*'|\"[^\"]*\")\)")
CRASH_RE = re.compile(r"worker '?([\w-]+)'? crashed while running")
MESSAGE_LIMIT = 6000
INFLIGHT = ".inflight"  # run-folder subfolder: the case each xdist worker is running (see Recorder.set_context)
_example_counter = itertools.count(1)


def _current_example() -> tuple[int | None, bool]:
    """(key of the running hypothesis example or None, whether it is the final replay)."""
    try:
        from hypothesis.control import current_build_context
        from hypothesis.errors import InvalidArgument
    except ImportError:  # hypothesis absent: every record is final
        return None, True
    try:
        ctx = current_build_context()
    except InvalidArgument:  # not inside a @given example
        return None, True
    key = getattr(ctx, "_conformance_example", None)
    if key is None:
        key = next(_example_counter)
        try:
            ctx._conformance_example = key  # type: ignore[attr-defined]
        except AttributeError:  # pragma: no cover - BuildContext without __dict__
            key = id(ctx)
    return key, bool(ctx.is_final)


@dataclass
class _Entry:
    example: int | None
    final: bool
    record: dict[str, Any]


class Recorder:
    """What tests use to hand records to the plugin (the ``conformance_recorder`` fixture).

    One recorder per process; the plugin points it at the running test. Methods:

    * ``add(record) -> dict``: validate/normalise one record (schema.py) and queue it;
    * ``set_context(**fields)``: describe the case being checked (id, kind, subject, ops, oracle,
      dtype, case, ...) so an exception in a backend still yields an informative ``error`` record;
    * ``write_arrays(record_id, arrays) -> "arrays/<id>.json" | None``;
    * ``write_case(record_id, case, script, command=None) -> repro dict | None``;
    * ``is_final``: True on hypothesis's final replay of a failing example (or outside hypothesis);
    * ``run_dir``: the run folder, or None when no report is being written.
    """

    def __init__(self, run_dir: Path | None, command_dir: str | None = None, backend: str | None = None) -> None:
        self.run_dir = run_dir
        self._command_dir = command_dir
        self._backend = backend  # a non-default backend must be named in the replay command
        self.nodeid: str | None = None
        self.records: list[dict[str, Any]] = []  # without a run folder: everything added (introspection)
        self._pending: list[_Entry] = []
        self._contexts: list[_Entry] = []
        self._mark = time.perf_counter()
        self._inflight: int | None = None  # file descriptor of .inflight/<worker>.json (see set_context)

    # -- used by tests -------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Whether records are being written to a run folder."""
        return self.run_dir is not None

    @property
    def is_final(self) -> bool:
        """True outside hypothesis and on the final (shrunk) replay of a failing example."""
        return _current_example()[1]

    def add(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Queue one record for the running test; returns the normalised copy (set every field,
        artefact paths included, before calling ``add``)."""
        now = time.perf_counter()
        rec = normalize_record(record, nodeid=self.nodeid, duration_s=now - self._mark)
        self._mark = now
        example, final = _current_example()
        self._pending.append(_Entry(example, final, rec))
        if self.run_dir is None:  # a collecting run ships records to the controller instead
            self.records.append(rec)
        return rec

    def set_context(self, **fields: Any) -> None:
        """Describe the case the test is about to check (used for synthesised ``error`` and ``crashed`` records).

        In an xdist worker writing a run, the latest context is also kept in ``.inflight/<worker>.json``, so a
        worker that dies or hangs on a case leaves the controller a crashed record holding that case."""
        example, final = _current_example()
        self._contexts.append(_Entry(example, final, dict(fields)))  # made plain JSON only when used
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if self.run_dir is not None and worker:
            # once per example: one open file rewritten in place (an open/rename per example cost ~1 ms)
            if self._inflight is None:
                (self.run_dir / INFLIGHT).mkdir(parents=True, exist_ok=True)
                self._inflight = os.open(self.run_dir / INFLIGHT / f"{worker}.json", os.O_WRONLY | os.O_CREAT, 0o644)
            data = json.dumps({"nodeid": self.nodeid, "context": fields}, separators=(",", ":"),
                              default=to_plain).encode()
            os.pwrite(self._inflight, data, 0)
            os.ftruncate(self._inflight, len(data))

    def write_arrays(self, record_id: str, arrays: Mapping[str, Any]) -> str | None:
        """Store large arrays of one record in ``arrays/<id>.json``; return that relative path.

        ``arrays`` maps a name to an array, or a quantity to ``{"expected": arr, "actual": arr}``
        (the report pairs them up), e.g. ``{"out[0]": {"expected": e, "actual": a}}`` or
        ``{"expected": e, "actual": a}``. Returns None (and writes nothing) without a run folder."""
        if self.run_dir is None:
            return None
        doc = {str(k): ({str(kk): array_to_json(vv) for kk, vv in v.items()} if isinstance(v, Mapping)
                        else array_to_json(v)) for k, v in arrays.items()}
        rel = f"arrays/{safe_filename(record_id)}.json"
        _write_text(self.run_dir / rel, json.dumps(doc, sort_keys=True, separators=(",", ":")))
        return rel

    def write_case(self, record_id: str, case: Mapping[str, Any] | str, script: str,
                   command: str | None = None, record: Mapping[str, Any] | None = None) -> dict[str, str] | None:
        """Store a case in ``cases/<id>.json`` and its standalone reproducer in ``repro/<id>.py``; return the
        record's ``repro`` field (None without a run folder).

        With ``record`` (the card: its oracle, dtype and subject), the reproducer replays the case in this
        run's backend against the card's oracle and exits non-zero outside tolerance
        (``conformance.replay.script_text``); ``script`` (a plain program) is kept in it for ``--program``.
        Without it, ``script`` is the reproducer as given."""
        if self.run_dir is None:
            return None
        name = safe_filename(record_id)
        case_rel, script_rel = f"cases/{name}.json", f"repro/{name}.py"
        text = case if isinstance(case, str) else json.dumps(to_plain(case), sort_keys=True, indent=1)
        if record is not None:
            from conformance.replay import script_text

            script = script_text(record_id, case, script, backend=self._backend, oracle=record.get("oracle"),
                                 dtype=record.get("dtype"), subject=record.get("subject"))
        _write_text(self.run_dir / case_rel, text)
        _write_text(self.run_dir / script_rel, script)
        shown = f"{self._command_dir}/{case_rel}" if self._command_dir else case_rel
        default = f"python -m conformance repro {shlex.quote(shown)}"
        if self._backend not in (None, "minigrad"):
            default += f" --backend {shlex.quote(self._backend)}"
        return {"command": command or default,
                "case_file": case_rel, "script_file": script_rel}

    # -- used by the plugin ----------------------------------------------------------------------
    def _begin(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self._pending.clear()
        self._contexts.clear()
        self._mark = time.perf_counter()

    def _drain(self) -> tuple[list[_Entry], list[_Entry]]:
        pending, contexts = list(self._pending), list(self._contexts)
        self._pending.clear()
        self._contexts.clear()
        return pending, contexts


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def select_records(entries: Iterable[_Entry], failed: bool) -> list[dict[str, Any]]:
    """The records to keep from one test phase (see the module docstring)."""
    entries = list(entries)
    if not failed:
        chosen = [e.record for e in entries]
    else:
        failing_examples = {e.example for e in entries if e.record["verdict"] != "pass"}
        final = [e.record for e in entries if e.final]
        passed = [e.record for e in entries if not e.final and e.example not in failing_examples]
        chosen = passed + final  # final last: it wins a duplicate id below
    by_id: dict[str, dict[str, Any]] = {}
    for rec in chosen:
        by_id.pop(rec["id"], None)
        by_id[rec["id"]] = rec
    return list(by_id.values())


def plain_program(case: Mapping[str, Any]) -> str:
    """A plain program showing a stored case in torch and minigrad side by side (``repro/<id>.py --program``)."""
    from conformance.ir import Case, emit_repro, emit_train_repro

    try:
        if "nodes" in case:
            return emit_repro(Case.from_json(dict(case)))
        if case.get("kind") in ("network", "training"):
            return emit_train_repro(dict(case))
    except Exception as exc:  # noqa: BLE001 - the verdict part of the script does not need it
        return f"# no plain program for this case ({type(exc).__name__}: {exc})"
    return "# no plain program for this kind of case: run the script without --program for the replay"


def _longrepr_text(report: pytest.TestReport) -> str:
    try:
        return report.longreprtext or ""
    except Exception:  # noqa: BLE001 - a broken longrepr must not break collection
        return str(report.longrepr or "")


def _crash_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    msg = getattr(crash, "message", None)
    if msg:
        return str(msg)
    lines = _longrepr_text(report).strip().splitlines()
    return lines[-1] if lines else "test failed"


def _error_message(report: pytest.TestReport) -> str:
    head = _crash_message(report)
    text = _longrepr_text(report)
    if len(text) > MESSAGE_LIMIT:
        text = "...\n" + text[-MESSAGE_LIMIT:]
    return head if not text or text.strip() == head.strip() else f"{head}\n\n{text}"


def _subject_from_nodeid(nodeid: str) -> str:
    name = nodeid.split("::")[-1]
    m = re.search(r"\[(.*)\]$", name)
    return m.group(1) if m else name


def synthesized_record(nodeid: str, verdict: str, message: str, context: Mapping[str, Any] | None,
                       duration_s: float | None = None) -> dict[str, Any]:
    """An ``error``/``crashed`` record for a test that recorded no discrepancy itself."""
    ctx = dict(context or {})
    subject = ctx.get("subject") or _subject_from_nodeid(nodeid)
    rec = {
        "kind": "test", "subject": subject, "ops": [], "oracle": None, "dtype": None, "backend": None,
        **{k: v for k, v in ctx.items() if k not in ("verdict", "worst", "checks")},
        "verdict": verdict, "message": message, "nodeid": nodeid, "worst": None, "checks": [],
    }
    rec["id"] = ctx.get("id") or stable_id(verdict, nodeid)
    return normalize_record(rec, duration_s=duration_s)


@dataclass
class _State:
    run_dir: Path | None
    recorder: Recorder
    controller: bool
    started: float = field(default_factory=time.time)
    records: list[dict[str, Any]] = field(default_factory=list)
    crashed: set[str] = field(default_factory=set)
    workers: set[str] = field(default_factory=set)
    interrupted: bool = False
    catalogue: list[str] | None = None
    summary: dict[str, Any] | None = None
    render_error: str | None = None
    coverage_line: str | None = None
    case_timeout: float | None = None
    started_tests: dict[str, float] = field(default_factory=dict)


COVERAGE_KEY = pytest.StashKey[tuple[Any, list[str]]]()  # (coverage.Coverage, warnings) in a measuring process


STATE_KEY = pytest.StashKey[_State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's command-line options."""
    group = parser.getgroup("conformance", "conformance results and report")
    group.addoption("--conformance-report", dest="conformance_report", metavar="DIR", default=None,
                    help="run folder: write DIR/results.json, DIR/index.html and artefacts (off when absent)")
    group.addoption("--conformance-profile", dest="conformance_profile", metavar="NAME", default=None,
                    help="hypothesis profile name to record in the results")
    group.addoption("--conformance-seed", dest="conformance_seed", metavar="N", type=int, default=None,
                    help="seed to record in the results")
    group.addoption("--conformance-backend", dest="conformance_backend", metavar="SPEC", default=None,
                    help="backend under test (recorded in the results)")
    group.addoption("--conformance-command", dest="conformance_command", metavar="CMD", default=None,
                    help="command line shown in the report as the way to rerun")
    group.addoption("--conformance-coverage", dest="conformance_coverage", metavar="PKG", default=None,
                    help="measure branch coverage of package PKG (needs --conformance-report)")
    group.addoption("--conformance-case-timeout", dest="conformance_case_timeout", metavar="S", type=float,
                    default=None, help="the pytest --timeout of the run: a crashed test that ran this long timed out")
    group.addoption("--conformance-shard", dest="conformance_shard", metavar="K/N", type=parse_shard, default=None,
                    help="run only shard K of N: every N-th test item from the K-th, in collection order")
    group.addoption("--conformance-gzip", dest="conformance_gzip", action="store_true", default=False,
                    help="write DIR/results.json.gz (gzip-compressed) instead of DIR/results.json")
    group.addoption("--conformance-fail-under", dest="conformance_fail_under", metavar="PCT", type=float,
                    default=None, help="fail the session when PKG's branch coverage is below PCT percent")


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N as ``(K, N)``; ``ValueError`` (pytest and argparse say it in one line) else."""
    try:
        k, n = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise ValueError(f"expected K/N, e.g. 2/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"expected K/N with 1 <= K <= N, got {text!r}")
    return k, n


def shard_items(items: list[Any], k: int, n: int) -> tuple[list[Any], list[Any]]:
    """(kept, deselected): the items at positions K-1, K-1+N, K-1+2N, ... of the collection order, which is the
    same on every machine and in every xdist worker (round robin spreads each test file's items over shards)."""
    kept = [item for i, item in enumerate(items) if i % n == k - 1]
    return kept, [item for i, item in enumerate(items) if i % n != k - 1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--conformance-shard K/N``: keep this shard's items."""
    shard = config.getoption("conformance_shard", None)
    if shard is None:
        return
    kept, dropped = shard_items(items, *shard)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Start measuring coverage before the initial conftests (and the suite) import the package."""
    ns = early_config.known_args_namespace
    package, report = getattr(ns, "conformance_coverage", None), getattr(ns, "conformance_report", None)
    if not package or not report:
        return
    run_dir = Path(report).resolve()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:  # the controller (or the only process): start from a clean slate
        run_dir.mkdir(parents=True, exist_ok=True)
        for old in run_dir.glob(branch_coverage.DATA_PREFIX + "*"):
            old.unlink()
        if str(getattr(ns, "numprocesses", None) or 0) != "0":
            return  # an xdist controller runs no test; its workers measure
    warnings = []
    if branch_coverage.already_imported(package):
        warnings.append(f"{package} was imported before measuring started in process {worker or 'main'}: "
                        "its import-time lines count as missed")
    early_config.stash[COVERAGE_KEY] = (branch_coverage.start(package, run_dir, worker or "main"), warnings)


def pytest_configure(config: pytest.Config) -> None:
    """Create the per-process state and recorder."""
    report_dir = config.getoption("conformance_report", None)
    run_dir = Path(report_dir).resolve() if report_dir else None
    controller = not hasattr(config, "workerinput")
    if run_dir is not None and controller:
        run_dir.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(run_dir, report_dir, config.getoption("conformance_backend", None))
    state = _State(run_dir, recorder, controller, case_timeout=config.getoption("conformance_case_timeout", None))
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(_Collector(state), "conformance-collector")


def register_catalogue(config: pytest.Config, names: Iterable[str]) -> None:
    """Tell the plugin which ops the catalogue has, so coverage lists ops with zero cases.

    Call it from a conftest (``pytest_configure``). Without it the plugin tries
    ``conformance.catalog`` itself (see ``discover_catalogue``)."""
    config.stash[STATE_KEY].catalogue = [str(n) for n in names]


def discover_catalogue() -> list[str]:
    """Op names from ``conformance.catalog``: ``op_names()``, or ``CATALOG``/``CATALOGUE``/``OPS``
    (a mapping of names, or a sequence of names/objects with ``.name``). [] if unavailable."""
    try:
        from conformance import catalog  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - the catalogue is optional for the report
        return []
    fn = getattr(catalog, "op_names", None)
    try:
        if callable(fn):
            return [str(n) for n in fn()]
        for attr in ("CATALOG", "CATALOGUE", "OPS"):
            obj = getattr(catalog, attr, None)
            if obj is None:
                continue
            if isinstance(obj, Mapping):
                return [str(k) for k in obj]
            return [str(getattr(o, "name", o)) for o in obj]
    except Exception:  # noqa: BLE001
        return []
    return []


@pytest.fixture(scope="session")
def conformance_recorder(request: pytest.FixtureRequest) -> Recorder:
    """The process's :class:`Recorder` (session scoped, so ``@given`` tests can use it)."""
    return request.config.stash[STATE_KEY].recorder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Point the recorder at the test about to run."""
    item.config.stash[STATE_KEY].recorder._begin(item.nodeid)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the records this test phase produced to its report (as a JSON user property)."""
    report: pytest.TestReport = yield
    state = item.config.stash.get(STATE_KEY, None)
    if state is None:
        return report
    entries, contexts = state.recorder._drain()
    if not state.recorder.active:
        return report
    failed = bool(report.failed)
    kept = select_records(entries, failed)
    if failed:
        text = _longrepr_text(report)
        m = REPRODUCE_RE.search(text)
        for rec in kept:
            if rec["verdict"] != "pass" and m and not rec.get("reproduce_failure"):
                rec["reproduce_failure"] = m.group(0)
        if not any(r["verdict"] != "pass" for r in kept):
            final_ctx = [c.record for c in contexts if c.final] or [c.record for c in contexts[-1:]]
            ctx = to_plain(dict(final_ctx[-1])) if final_ctx else {}
            rec = synthesized_record(item.nodeid, "error", _error_message(report), ctx, report.duration)
            if m:
                rec["reproduce_failure"] = m.group(0)
            if isinstance(rec.get("case"), dict):
                rec["repro"] = state.recorder.write_case(rec["id"], rec["case"], plain_program(rec["case"]),
                                                         record=rec)
            kept.append(rec)
    if kept:
        report.user_properties.append((USER_PROPERTY, json.dumps(kept, sort_keys=True)))
    return report


class _Collector:
    """Per-session hooks that receive no ``config`` (registered as a plugin object in configure)."""

    def __init__(self, state: _State) -> None:
        self.state = state

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        """xdist: a worker died while running ``crashitem``; remember it for the crashed record."""
        self.state.crashed.add(crashitem)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        """xdist: count the workers that came up."""
        self.state.workers.add(_worker_id(node))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Controller: collect the records attached to each report (and take them off it, so junitxml
        does not copy them); worker crashes become records."""
        state = self.state
        if not state.controller or state.run_dir is None:
            return
        node = getattr(report, "node", None)
        if node is not None:
            state.workers.add(_worker_id(node))
        kept_props = []
        for prop in report.user_properties:
            name, value = prop
            if name == USER_PROPERTY:
                state.records.extend(json.loads(value) if isinstance(value, str) else value)
            else:
                kept_props.append(prop)
        report.user_properties[:] = kept_props
        if report.failed and report.when not in ("setup", "call", "teardown"):
            text = _longrepr_text(report)
            if report.nodeid in state.crashed or CRASH_RE.search(text):
                state.records.append(self._crashed_record(report.nodeid, text.strip() or "worker crashed"))

    def _crashed_record(self, nodeid: str, message: str) -> dict[str, Any]:
        """The ``crashed`` record of a test whose worker died: with the case it was running (from the worker's
        in-flight file) and its replay files, and saying so when the test had reached ``--case-timeout``."""
        state = self.state
        assert state.run_dir is not None
        started = state.started_tests.pop(nodeid, None)
        elapsed = None if started is None else time.time() - started
        if state.case_timeout and elapsed is not None and elapsed >= state.case_timeout:
            message = (f"timed out: the test ran {elapsed:.0f} s, over --case-timeout {state.case_timeout:g} s; "
                       f"pytest-timeout stopped its worker\n\n{message}")
        context = None
        for path in sorted((state.run_dir / INFLIGHT).glob("*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if doc.get("nodeid") == nodeid:
                context = doc.get("context")
                path.unlink(missing_ok=True)
        rec = synthesized_record(nodeid, "crashed", message, context, elapsed)
        if isinstance(rec.get("case"), dict):
            rec["repro"] = state.recorder.write_case(rec["id"], rec["case"], plain_program(rec["case"]), record=rec)
        return rec

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        """Controller: when each test started (a crashed test that ran past ``--case-timeout`` timed out)."""
        self.state.started_tests[nodeid] = time.time()

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Mark the run as interrupted; ``pytest_sessionfinish`` still writes the results."""
        self.state.interrupted = True

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Start the run clock."""
        self.state.started = time.time()


def _worker_id(node: Any) -> str:
    return str(getattr(getattr(node, "gateway", None), "id", node))


def _rerun_command(config: pytest.Config) -> str:
    given = config.getoption("conformance_command", None)
    if given:
        return str(given)
    args = [str(a) for a in config.invocation_params.args]
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, "-m", "pytest", *args])


def _workers(config: pytest.Config, state: _State) -> int:
    """xdist's worker count (-n), else the workers seen, else 1 (in-process)."""
    n = getattr(config.option, "numprocesses", None)
    try:
        n = int(n or 0)
    except (TypeError, ValueError):
        n = 0
    return n if n > 0 else max(len(state.workers), 1)


def _clean_artefacts(run_dir: Path, records: list[dict[str, Any]]) -> None:
    """Delete artefacts in arrays/, cases/, repro/ that no kept record references (shrink steps,
    earlier runs in the same folder)."""
    keep: set[str] = set()
    for r in records:
        if r.get("arrays_file"):
            keep.add(str(r["arrays_file"]))
        repro = r.get("repro") or {}
        for k in ("case_file", "script_file"):
            if repro.get(k):
                keep.add(str(repro[k]))
    for sub, suffix in (("arrays", ".json"), ("cases", ".json"), ("repro", ".py")):
        folder = run_dir / sub
        if not folder.is_dir():
            continue
        for f in folder.iterdir():
            if f.is_file() and f.name.endswith(suffix) and f"{sub}/{f.name}" not in keep:
                f.unlink()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Controller: write results.json and render index.html (also after Ctrl-C)."""
    config = session.config
    measuring = config.stash.get(COVERAGE_KEY, None)
    if measuring is not None:
        branch_coverage.stop(measuring[0])
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.controller or state.run_dir is None:
        return
    coverage = _coverage_section(config, state, measuring[1] if measuring else [])
    if coverage is not None:
        state.coverage_line = branch_coverage.gate_message(coverage)
        if coverage["passed"] is False and int(session.exitstatus) == int(pytest.ExitCode.OK):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            exitstatus = session.exitstatus
    interrupted = state.interrupted or int(exitstatus) == int(pytest.ExitCode.INTERRUPTED)
    catalogue = state.catalogue if state.catalogue is not None else discover_catalogue()
    run = {
        "id": datetime.fromtimestamp(state.started, UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}",
        "command": _rerun_command(config),
        "started": datetime.fromtimestamp(state.started, UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - state.started, 3),
        "profile": config.getoption("conformance_profile", None),
        "seed": config.getoption("conformance_seed", None),
        "workers": _workers(config, state),
        "backend": config.getoption("conformance_backend", None),
        "ops": os.environ.get("CONFORMANCE_OPS") or None,  # the --ops filter the suite applied
        "shard": "{}/{}".format(*config.getoption("conformance_shard")) if config.getoption(
            "conformance_shard", None) else None,
        "interrupted": interrupted,
        "exit_status": int(exitstatus),
        "report_dir": str(state.run_dir),
    }
    results = build_results(state.records, run=run, environment=collect_environment(), catalogue=catalogue,
                            coverage=coverage)
    name = "results.json.gz" if config.getoption("conformance_gzip", False) else "results.json"
    results_path = write_results(state.run_dir / name, results)
    _clean_artefacts(state.run_dir, results["records"])
    for stale in (state.run_dir / INFLIGHT).glob("*.json"):
        stale.unlink(missing_ok=True)
    try:
        (state.run_dir / INFLIGHT).rmdir()
    except OSError:  # absent (no worker wrote one), or a file appeared meanwhile: harmless either way
        pass
    html_path = state.run_dir / "index.html"
    try:
        from conformance.report import render_report

        render_report(results, html_path, base_dir=state.run_dir)
    except Exception as exc:  # noqa: BLE001 - results.json is written; say why the HTML is not
        state.render_error = f"{type(exc).__name__}: {exc}"
        html_path = None  # type: ignore[assignment]
    state.summary = {"results": results, "results_path": results_path, "html_path": html_path}


def _coverage_section(config: pytest.Config, state: _State, warnings: list[str]) -> dict[str, Any] | None:
    """Combine the processes' coverage data into the results' ``coverage`` section (None if not measured)."""
    package = config.getoption("conformance_coverage", None)
    if not package or state.run_dir is None:
        return None
    report = branch_coverage.combine(state.run_dir, package)
    if report is None:
        warnings = warnings + ["no process saved coverage data (did any test run?)"]
        report = {"totals": {"percent_covered": 0.0, "percent_statements_covered": 0.0,
                             "percent_branches_covered": 0.0}, "files": {}}
    return branch_coverage.summarise(report, package, branch_coverage.load_policy(package),
                                     config.getoption("conformance_fail_under", None), warnings)


def summary_text(results: Mapping[str, Any], html_path: Path | None, results_path: Path | None,
                 width: int = 100, color: bool = False) -> str:
    """The short end-of-run summary (rich table: counts per verdict, worst 5; then the report path)."""
    import io

    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system="standard" if color else None,
                      force_terminal=color, highlight=False, soft_wrap=False)
    records = results.get("records", [])
    counts = count_verdicts(records)
    n = len(records)
    where = str(html_path) if html_path else str(results_path)
    run = results.get("run", {})
    tail = " (run interrupted)" if run.get("interrupted") else ""
    if n and counts["pass"] == n:
        console.print(f"[green]All {n} records conform[/green]{tail}. Report: {where}")
        return buf.getvalue()
    if not n:
        console.print(f"[yellow]No conformance records were produced[/yellow]{tail}. Report: {where}")
        return buf.getvalue()
    table = Table(title="conformance", show_edge=False, pad_edge=False)
    for v in counts:
        table.add_column(v.replace("_", " "), justify="right")
    styles = {"pass": "green", "fail": "red", "known_difference": "yellow", "error": "magenta", "crashed": "magenta"}
    table.add_row(*(f"[{styles[v]}]{c}[/{styles[v]}]" if c else "0" for v, c in counts.items()))
    console.print(table)
    worst = sorted((r for r in records if r["verdict"] != "pass"), key=worst_key)[:5]
    if worst:
        wt = Table(title="worst", show_edge=False, pad_edge=False)
        for col in ("verdict", "subject", "oracle", "dtype", "err/tol", "id"):
            wt.add_column(col, overflow="fold")
        for r in worst:
            ratio = record_ratio(r)
            wt.add_row(r["verdict"], str(r.get("subject")), str(r.get("oracle") or "-"), str(r.get("dtype") or "-"),
                       "-" if ratio == float("inf") and not r.get("worst") else f"{ratio:.3g}", r["id"])
        console.print(wt)
    console.print(f"Conformance report{tail}: {where}")
    return buf.getvalue()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the summary table and the path of the HTML report."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or state.summary is None:
        return
    s = state.summary
    tw = terminalreporter._tw
    text = summary_text(s["results"], s["html_path"], s["results_path"],
                        width=max(100, min(160, getattr(tw, "fullwidth", 100))), color=bool(getattr(tw, "hasmarkup", False)))
    terminalreporter.write_sep("=", "conformance")
    terminalreporter.write(text)
    if state.coverage_line:
        failed = state.coverage_line.startswith("FAILED")
        terminalreporter.write_line(f"conformance: {state.coverage_line}", red=failed, bold=failed)
    if state.render_error:
        terminalreporter.write_line(f"conformance: HTML report not rendered: {state.render_error}")
