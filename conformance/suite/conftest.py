"""Suite fixtures: the backend under test, and a record sink that works with or without the plugin.

The backend is ``--conformance-backend`` (plugin option), else ``$CONFORMANCE_BACKEND``, else minigrad.
The hypothesis profile is ``$CONFORMANCE_PROFILE`` (``quick`` by default; the CLI sets it).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from conformance import profiles
from conformance.backends import load_backend
from conformance.checks import assert_no_failures
from conformance.ir import Case, emit_repro

profiles.pin_threads()
profiles.load()


class NullRecorder:
    """Stands in for the plugin's recorder when the plugin is not loaded: keeps records in memory."""

    run_dir = None
    is_final = True

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        self.records.append(record)
        return record

    def write_case(self, *args: Any, **kwargs: Any) -> None:
        return None

    def write_arrays(self, *args: Any, **kwargs: Any) -> None:
        return None

    def set_context(self, **fields: Any) -> None:
        return None


class Sink:
    """Adds records (with their artefacts on the final replay), then asserts there is no discrepancy."""

    def __init__(self, recorder: Any, nodeid: str) -> None:
        self.recorder = recorder
        self.nodeid = nodeid

    def begin(self, case: Any, *, kind: str, subject: str, ops: list[str] | None = None) -> None:
        """Say which case is about to run: a backend that raises, hangs or kills its worker on it still leaves
        a card holding the case (``recorder.set_context``)."""
        if getattr(self.recorder, "run_dir", None) is not None:
            data = case.to_json() if hasattr(case, "to_json") else case
            self.recorder.set_context(kind=kind, subject=subject, ops=ops or [subject], case=data)

    def submit(self, records: list[dict[str, Any]], script: Any = None) -> None:
        """Record, then raise AssertionError naming op, oracle, quantity and worst err/tol on a failure.

        ``script(case_json) -> str`` makes the standalone reproducer (default: the graph IR emitter)."""
        final = bool(getattr(self.recorder, "is_final", True))
        for rec in records:
            arrays = rec.pop("_arrays", None)
            rec["nodeid"] = rec.get("nodeid") or self.nodeid
            # every card gets its artefacts: a failure on the final (shrunk) replay, and a known difference
            # wherever it is recorded (a passing test keeps the records of all its examples)
            card = final or rec["verdict"] == "known_difference"
            if rec["verdict"] != "pass" and card and getattr(self.recorder, "run_dir", None) is not None:
                if rec.get("case") is not None:
                    text = script(rec["case"]) if script else emit_repro(Case.from_json(rec["case"]), rec["id"])
                    rec["repro"] = self.recorder.write_case(rec["id"], rec["case"], text, record=rec)
                if arrays:  # explain() deferred by checks.check_case
                    rec["arrays_file"] = self.recorder.write_arrays(rec["id"], arrays())
            self.recorder.add(rec)
        assert_no_failures(records)


@pytest.fixture
def sink(request: pytest.FixtureRequest) -> Sink:
    """A :class:`Sink` over the plugin's ``conformance_recorder`` (or a :class:`NullRecorder`)."""
    try:
        recorder = request.getfixturevalue("conformance_recorder")
    except pytest.FixtureLookupError:
        recorder = NullRecorder()
    return Sink(recorder, request.node.nodeid)


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> Any:
    """The backend under test."""
    spec = None
    try:
        spec = request.config.getoption("conformance_backend")
    except ValueError:
        pass
    return load_backend(spec or os.environ.get("CONFORMANCE_BACKEND") or "minigrad")
