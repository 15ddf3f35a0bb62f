"""Branch coverage of the backend (conformance/branch_coverage.py + the plugin + the CLI defaults).

End to end on a synthetic package whose figure is worked out by hand: measured in-process and with
xdist workers alike, import-time lines counted (measuring starts before the suite imports the package),
the gate fails the session with a clear line; then the condensing, the gaps and the report section.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance import branch_coverage
from conformance.cli import coverage_options
from conformance.report.render import render_html
from conformance.results import build_results, load_results

ROOT = Path(__file__).resolve().parents[2]

PACKAGE = textwrap.dedent('''\
    def sign(x):
        if x > 0:
            return 1
        if x < 0:
            return -1
        return 0


    def unused():
        return 42
''')

SUITE = textwrap.dedent('''
    import synthpkg


    def test_positive(conformance_recorder):
        conformance_recorder.add({"id": "op-sign-0", "verdict": "pass", "kind": "op", "subject": "sign"})
        assert synthpkg.sign(5) == 1


    def test_positive_again():
        assert synthpkg.sign(2) == 1
''')

# 8 statements (2 defs, 6 in bodies), 4 branch arcs; sign(+) runs the 2 defs, `if x > 0`, `return 1`
# and takes 1 arc: (4 + 1) / (8 + 4)
EXPECTED_PERCENT = round(100 * 5 / 12, 2)


def _start(folder: Path, *args: str) -> subprocess.Popen[str]:
    (folder / "synthpkg").mkdir(parents=True, exist_ok=True)
    (folder / "synthpkg" / "__init__.py").write_text(PACKAGE)
    (folder / "test_synth.py").write_text(SUITE)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("COVERAGE_PROCESS_START", None)
    cmd = [sys.executable, "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider", "-q",
           "--rootdir", str(folder), "test_synth.py", "--conformance-report", "out",
           "--conformance-coverage", "synthpkg", *args]
    return subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, dict]]:
    """The three sessions run concurrently (they are independent)."""
    base = tmp_path_factory.mktemp("cov")
    procs = {name: _start(base / name, *args) for name, args in {
        "serial_gate_fails": ["--conformance-fail-under", "50"],
        "xdist_gate_passes": ["-n", "2", "--conformance-fail-under", "40"],
        "no_gate": []}.items()}
    out = {}
    for name, proc in procs.items():
        text, _ = proc.communicate(timeout=180)
        out[name] = (proc.returncode, text, load_results(base / name / "out" / "results.json"))
    return out


@pytest.mark.parametrize("name", ["serial_gate_fails", "xdist_gate_passes", "no_gate"])
def test_the_figure_is_the_hand_computed_one(runs, name) -> None:  # noqa: ANN001
    cov = runs[name][2]["coverage"]
    assert cov["package"] == "synthpkg"
    assert cov["percent"] == EXPECTED_PERCENT, runs[name][1]
    assert (cov["statements"], cov["missing_statements"], cov["branches"], cov["missing_branch_arcs"]) == (8, 4, 4, 3)
    f = cov["files"]["synthpkg/__init__.py"]
    assert f["missing_lines"] == "4-6, 10"
    assert f["partial_branches"] == "2->4"  # arcs from line 4 are implied by the missing line
    assert [u["name"] for u in f["uncovered_functions"]] == ["unused", "sign"]
    assert cov["warnings"] == []


def test_the_gate_fails_the_session_with_a_clear_line(runs) -> None:  # noqa: ANN001
    code, text, doc = runs["serial_gate_fails"]
    assert code == 1
    assert f"FAILED: branch coverage of synthpkg reached by the suite: {EXPECTED_PERCENT:.2f}%" in text
    assert "is below --fail-under 50" in text
    assert doc["coverage"]["passed"] is False and doc["run"]["exit_status"] == 1
    code, text, doc = runs["xdist_gate_passes"]
    assert code == 0, text
    assert "gate --fail-under 40 passed" in text and doc["coverage"]["passed"] is True
    code, text, doc = runs["no_gate"]
    assert code == 0 and doc["coverage"]["passed"] is None and doc["coverage"]["fail_under"] is None


def test_no_coverage_data_files_are_left_per_process(runs) -> None:  # noqa: ANN001
    """Workers' data files are combined into one .coverage (which `coverage html --data-file` reads)."""
    folder = Path(runs["xdist_gate_passes"][2]["run"]["report_dir"])
    assert sorted(p.name for p in folder.glob(".coverage*")) == [".coverage"]


# ---- condensing, gaps, defaults ------------------------------------------------------------------------------
def test_ranges() -> None:
    assert branch_coverage.line_ranges([9, 1, 2, 3, 7, 10]) == "1-3, 7, 9-10"
    assert branch_coverage.line_ranges([]) == ""
    assert branch_coverage.partial_branches([[12, 14], [20, -18], [30, 31]], [30]) == "12->14, 20->exit"


def test_package_for_backend() -> None:
    assert branch_coverage.package_for_backend("minigrad") == "minigrad"
    assert branch_coverage.package_for_backend("mylib.adapters:Backend") == "mylib"
    assert branch_coverage.package_for_backend("torch") is None


def _report(fn_missing: dict[str, list[int]]) -> dict:
    functions = {name: {"summary": {"missing_lines": len(m), "missing_branches": 0, "percent_covered": 0.0 if m else 100.0},
                        "missing_lines": m, "missing_branches": []} for name, m in fn_missing.items()}
    missing = sorted(n for m in fn_missing.values() for n in m)
    return {"meta": {"version": "7"}, "totals": {"percent_covered": 80.0, "percent_statements_covered": 85.0,
                                                 "percent_branches_covered": 60.0, "num_statements": 20,
                                                 "missing_lines": len(missing), "num_branches": 4, "missing_branches": 1},
            "files": {"pkg/a.py": {"summary": {"num_statements": 20, "missing_lines": len(missing), "percent_covered": 80.0},
                                   "missing_lines": missing, "missing_branches": [], "functions": functions}}}


def test_gaps_are_marked_accepted_open_or_stale() -> None:
    policy = {"target": 95.0, "gaps": [
        {"file": "pkg/a.py", "function": "repr_", "reason": "printing is not compared"},
        {"file": "pkg/a.py", "function": "covered_now", "reason": "was uncovered once"},
        {"file": "pkg/gone.py", "reason": "file removed"},
    ]}
    s = branch_coverage.summarise(_report({"repr_": [3, 4], "op": [9], "covered_now": [], "": []}), "pkg", policy, 95.0)
    uncovered = {u["name"]: u for u in s["files"]["pkg/a.py"]["uncovered_functions"]}
    assert set(uncovered) == {"repr_", "op"}
    assert uncovered["repr_"]["accepted"] == "printing is not compared" and uncovered["op"]["accepted"] is None
    assert [g["state"] for g in s["gaps"]] == ["open", "stale", "stale"]
    assert "remove it" in s["gaps"][1]["note"] and "no measured" in s["gaps"][2]["note"]
    # accepted gaps explain a shortfall, they never hide one
    assert s["percent"] == 80.0 and s["passed"] is False
    assert branch_coverage.gate_message(s).startswith("FAILED: branch coverage of pkg reached by the suite: 80.00%")


def test_the_gaps_file_is_well_formed() -> None:
    doc = json.loads(branch_coverage.GAPS_FILE.read_text())
    for package, entry in doc.items():
        assert entry["target"] is None or 0 < entry["target"] <= 100
        for gap in entry["gaps"]:
            assert set(gap) <= {"file", "function", "reason"} and gap["file"].startswith(package + "/")
            assert len(gap["reason"]) > 15, gap


def _args(**kw) -> argparse.Namespace:  # noqa: ANN003
    base = {"no_coverage": False, "coverage_package": None, "backend": "minigrad", "fail_under": None,
            "profile": "ci", "ops": None}
    return argparse.Namespace(**{**base, **kw})


def test_cli_defaults_gate_only_a_full_ci_run() -> None:
    target = branch_coverage.load_policy("minigrad")["target"]
    assert coverage_options(_args()) == ("minigrad", target)
    assert coverage_options(_args(profile="quick")) == ("minigrad", None)
    assert coverage_options(_args(ops="exp")) == ("minigrad", None)
    assert coverage_options(_args(profile="quick", fail_under=60.0)) == ("minigrad", 60.0)
    assert coverage_options(_args(fail_under=0.0)) == ("minigrad", None)
    assert coverage_options(_args(no_coverage=True)) == (None, None)
    assert coverage_options(_args(backend="torch")) == (None, None)
    assert coverage_options(_args(backend="x.y:B", coverage_package="xlib")) == ("xlib", None)


def test_report_shows_files_uncovered_lines_target_and_gaps() -> None:
    policy = {"target": 95.0, "gaps": [{"file": "pkg/a.py", "function": "repr_", "reason": "printing <is> not compared"}]}
    section = branch_coverage.summarise(_report({"repr_": [3, 4], "op": [9]}), "pkg", policy, 95.0)
    html = render_html(build_results([], run={"profile": "ci"}, coverage=section))
    assert 'id="coverage"' in html and "pkg/a.py" in html and "lines 3-4, 9" in html
    assert "against a target of 95%" in html and "FAILED" in html and "coverage gate failed" in html
    assert "accepted: printing &lt;is&gt; not compared" in html  # escaped
    assert 'id="coverage"' not in render_html(build_results([], run={}))
