"""pytest plugin used by ``selftest --mutants`` (``-p conformance.mutants_plugin``).

- Hypothesis does not shrink or explain: a mutant needs one failing example, not the smallest one.
- With ``$CONFORMANCE_MUTANTS_COVERAGE=DIR``, coverage.py measures the backend package with one dynamic
  context per test (its nodeid), and each process writes its data file and the test outcomes and durations
  into DIR (one of each per xdist worker). The package is imported at start-up, so lines that run while
  importing it carry the empty context rather than the first test's.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_COV_DIR = os.environ.get("CONFORMANCE_MUTANTS_COVERAGE")
_PACKAGE = os.environ.get("CONFORMANCE_MUTANTS_PACKAGE", "minigrad")
_state: dict[str, Any] = {"cov": None, "outcomes": {}, "durations": {}}


def pytest_configure(config: pytest.Config) -> None:
    if _COV_DIR and _state["cov"] is None:
        import coverage

        cov = coverage.Coverage(data_file=str(Path(_COV_DIR) / ".coverage"), data_suffix=True,
                                source_pkgs=[_PACKAGE], branch=False, config_file=False)
        cov.start()
        _state["cov"] = cov
        # import now, outside any test: what runs at import time belongs to no test in particular
        __import__(_PACKAGE)


def pytest_collection_finish(session: pytest.Session) -> None:
    """After the suite's conftest loaded its profile: the same profile without shrinking or explaining."""
    from hypothesis import Phase, settings

    settings.register_profile("mutants", parent=settings.default,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    settings.load_profile("mutants")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    cov = _state["cov"]
    if cov is not None:
        cov.switch_context(item.nodeid)
    yield
    if cov is not None:
        cov.switch_context("")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _COV_DIR:
        return
    _state["durations"][report.nodeid] = _state["durations"].get(report.nodeid, 0.0) + report.duration
    if report.failed or report.when == "call" or report.skipped:
        prev = _state["outcomes"].get(report.nodeid)
        if prev != "failed":
            _state["outcomes"][report.nodeid] = report.outcome


def pytest_unconfigure(config: pytest.Config) -> None:
    cov = _state["cov"]
    if cov is None:
        return
    cov.stop()
    cov.save()
    _state["cov"] = None
    if _state["outcomes"]:
        out = Path(_COV_DIR) / f"tests-{uuid.uuid4().hex}.json"
        out.write_text(json.dumps({"outcomes": _state["outcomes"], "durations": _state["durations"]}))
