"""The collection plugin, end to end: a small synthetic suite run in subprocesses with and without
pytest-xdist must give the same records; hypothesis shrinking keeps the final replay only; errors,
crashed workers and Ctrl-C still produce records and a results file; no files without the option."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance.results import load_results

ROOT = Path(__file__).resolve().parents[2]

SUITE = textwrap.dedent('''
    import os

    import numpy as np
    import pytest
    from hypothesis import Phase, given, settings, strategies as st

    CASE = {"version": 1, "leaves": [{"name": "x0", "shape": [2], "dtype": "float64",
            "requires_grad": True, "values": [1.0, 2.0]}],
            "nodes": [{"id": 0, "op": "log", "inputs": ["x0"], "attrs": {}}], "outputs": ["n0"]}


    def rec(rid, verdict="pass", ratio=0.0, subject="exp", **kw):
        d = {"id": rid, "kind": "op", "subject": subject, "ops": [subject], "oracle": "torch64",
             "dtype": "float64", "backend": "minigrad", "verdict": verdict, "checks": [], "edge_values": [],
             "worst": {"quantity": "out[0]", "shape": [2], "ratio": ratio, "max_abs_err": ratio * 1e-7,
                       "max_rel_err": ratio * 1e-7, "index": [1], "expected": 2.0, "actual": 2.0,
                       "atol": 1e-7, "rtol": 1e-7, "ok": ratio <= 1}}
        d.update(kw)
        return d


    @pytest.mark.parametrize("i", range(3))
    def test_pass(conformance_recorder, i):
        conformance_recorder.add(rec(f"op-exp-{i}", ratio=0.01 * i, edge_values=["zero"] if i == 0 else []))


    @settings(print_blob=True, derandomize=True, database=None, max_examples=60, deadline=None,
              phases=[p for p in Phase if p.name != "explain"])
    @given(st.integers(0, 1000))
    def test_shrinks(conformance_recorder, x):
        failing = x >= 10
        rid = f"op-log-{x}"
        extra = {}
        if failing:
            # artefacts written on every failing example; the plugin must keep only the final one
            extra["arrays_file"] = conformance_recorder.write_arrays(
                rid, {"out[0]": {"expected": np.array([1.0, 2.0]), "actual": np.array([1.0, 2.0 + x])}})
            extra["repro"] = conformance_recorder.write_case(rid, CASE, "print('repro %d')\\n" % x)
            extra["case"] = CASE
            extra["first_bad_node"] = 0
        extra["is_final_seen"] = conformance_recorder.is_final
        conformance_recorder.add(rec(rid, verdict="fail" if failing else "pass", ratio=x / 5.0, subject="log", **extra))
        assert not failing, "log mismatch"


    def test_backend_error(conformance_recorder):
        conformance_recorder.set_context(id="op-div-ctx", kind="op", subject="div", ops=["div"],
                                         oracle="torch64", dtype="float64")
        conformance_recorder.add(rec("op-div-pass", subject="div"))
        raise ValueError("<script>alert(1)</script> backend exploded")


    def test_plain_failure():
        assert 1 == 2


    def test_known(conformance_recorder):
        conformance_recorder.add(rec("op-sqrt-kd", verdict="known_difference", ratio=1e10, subject="sqrt",
                                     known_difference={"id": "sqrt-zero", "reason": "r", "evidence": "e"}))


    def test_crash(conformance_recorder):
        if not os.environ.get("PYTEST_XDIST_WORKER"):
            pytest.skip("only crashes under xdist")
        os._exit(3)
''')

CLEAN = textwrap.dedent('''
    def test_ok(conformance_recorder):
        for i in range(5):
            conformance_recorder.add({"id": f"op-exp-{i}", "verdict": "pass", "kind": "op", "subject": "exp"})
''')

INTERRUPT = textwrap.dedent('''
    def test_first(conformance_recorder):
        conformance_recorder.add({"id": "op-exp-before", "verdict": "pass", "kind": "op", "subject": "exp"})


    def test_second():
        raise KeyboardInterrupt


    def test_third(conformance_recorder):
        conformance_recorder.add({"id": "op-exp-after", "verdict": "pass", "kind": "op", "subject": "exp"})
''')


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    env["COLUMNS"] = "120"
    return env


def _start(folder: Path, source: str, *args: str) -> subprocess.Popen[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_synth.py").write_text(source)
    cmd = [sys.executable, "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider", "-q",
           "-W", "ignore::DeprecationWarning", "--rootdir", str(folder), "test_synth.py", *args]
    return subprocess.Popen(cmd, cwd=folder, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, int]]:
    """Run every synthetic session concurrently (they are independent) and collect the outcomes."""
    base = tmp_path_factory.mktemp("plugin")
    specs = {
        "serial": (SUITE, ["--conformance-report", "out", "--conformance-profile", "ci", "--conformance-seed", "7",
                           "--conformance-command", "python -m conformance run --profile ci"]),
        "xdist": (SUITE, ["-n", "2", "--conformance-report", "out", "--conformance-profile", "ci"]),
        "plain": (SUITE, []),
        "clean": (CLEAN, ["--conformance-report", "out"]),
        "interrupt": (INTERRUPT, ["--conformance-report", "out"]),
    }
    procs = {name: (base / name, _start(base / name, src, *args)) for name, (src, args) in specs.items()}
    out = {}
    for name, (folder, proc) in procs.items():
        text, _ = proc.communicate(timeout=120)
        out[name] = (folder, text, proc.returncode)
    return out


def _records(folder: Path) -> dict[str, dict]:
    doc = load_results(folder / "out" / "results.json")
    return {r["id"]: r for r in doc["records"]}


def test_same_records_with_and_without_xdist(runs):
    serial, xdist = _records(runs["serial"][0]), _records(runs["xdist"][0])
    crashed = {k for k, r in xdist.items() if r["verdict"] == "crashed"}
    assert {k: r["verdict"] for k, r in serial.items()} == {
        k: r["verdict"] for k, r in xdist.items() if k not in crashed}
    for rid in serial:
        for field in ("subject", "ops", "kind", "oracle", "reproduce_failure", "arrays_file", "nodeid"):
            assert serial[rid][field] == xdist[rid][field], (rid, field)
    s_doc = load_results(runs["serial"][0] / "out" / "results.json")
    x_doc = load_results(runs["xdist"][0] / "out" / "results.json")
    assert s_doc["counts"] == {"pass": s_doc["counts"]["pass"], "fail": 1, "known_difference": 1, "error": 2,
                               "crashed": 0}
    assert x_doc["counts"] == {**s_doc["counts"], "crashed": 1}
    assert s_doc["run"]["workers"] == 1 and x_doc["run"]["workers"] == 2


def test_hypothesis_failure_keeps_final_shrunk_replay_only(runs):
    folder = runs["serial"][0] / "out"
    recs = _records(runs["serial"][0])
    fails = [r for r in recs.values() if r["verdict"] == "fail"]
    assert [r["id"] for r in fails] == ["op-log-10"]  # the shrunk example, not the first failing one
    fail = fails[0]
    assert fail["is_final_seen"] is True
    assert re.fullmatch(r"@reproduce_failure\('[\d.]+', b'[^']+'\)", fail["reproduce_failure"])
    assert fail["nodeid"] == "test_synth.py::test_shrinks"
    # passing examples are all kept, and none of them is from a failing example
    log_pass = [r for r in recs.values() if r["subject"] == "log" and r["verdict"] == "pass"]
    assert log_pass and all(int(r["id"].rsplit("-", 1)[1]) < 10 for r in log_pass)
    # artefacts of non-final shrink steps are gone; the final one is referenced and on disk
    assert sorted(p.name for p in (folder / "arrays").iterdir()) == ["op-log-10.json"]
    assert sorted(p.name for p in (folder / "repro").iterdir()) == ["op-log-10.py"]
    assert (folder / "repro" / "op-log-10.py").read_text() == "print('repro 10')\n"
    assert fail["repro"]["case_file"] == "cases/op-log-10.json"
    assert fail["repro"]["command"] == "python -m conformance repro out/cases/op-log-10.json"
    assert json.loads((folder / fail["arrays_file"]).read_text())["out[0]"]["actual"]["data"] == [1.0, 12.0]


def test_backend_exception_becomes_error_record(runs):
    recs = _records(runs["serial"][0])
    err = recs["op-div-ctx"]
    assert err["verdict"] == "error" and err["subject"] == "div" and err["ops"] == ["div"]
    assert err["message"].startswith("ValueError: <script>alert(1)</script> backend exploded")
    assert recs["op-div-pass"]["verdict"] == "pass"
    plain = [r for r in recs.values() if r["nodeid"] == "test_synth.py::test_plain_failure"]
    assert len(plain) == 1 and plain[0]["verdict"] == "error" and plain[0]["kind"] == "test"
    assert "assert 1 == 2" in plain[0]["message"]


def test_crashed_worker_becomes_crashed_record(runs):
    recs = _records(runs["xdist"][0])
    crashed = [r for r in recs.values() if r["verdict"] == "crashed"]
    assert len(crashed) == 1
    assert crashed[0]["nodeid"] == "test_synth.py::test_crash"
    assert "crashed while running" in crashed[0]["message"]


def test_run_metadata_and_summary(runs):
    folder, text, code = runs["serial"]
    doc = load_results(folder / "out" / "results.json")
    run = doc["run"]
    assert code == 1
    assert (run["profile"], run["seed"], run["interrupted"]) == ("ci", 7, False)
    assert run["command"] == "python -m conformance run --profile ci"
    assert doc["environment"]["python"] and doc["environment"]["cpu"]
    html = folder / "out" / "index.html"
    assert html.is_file()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    idx = next(i for i, ln in enumerate(lines) if "Conformance report" in ln)
    assert lines[idx].endswith(str(html.resolve())), lines[idx]
    summary = "\n".join(lines[:idx])
    assert "known difference" in summary and "op-log-10" in summary


def test_clean_run_says_so_in_one_line(runs):
    folder, text, code = runs["clean"]
    assert code == 0
    lines = [ln for ln in text.splitlines() if "conform" in ln.lower() and "=====" not in ln]
    assert lines == [f"All 5 records conform. Report: {(folder / 'out' / 'index.html').resolve()}"]


def test_no_files_without_report_option(runs):
    folder, text, code = runs["plain"]
    assert code == 1
    made = sorted(p.name for p in folder.iterdir() if p.name != "__pycache__" and not p.name.startswith("."))
    assert made == ["test_synth.py"]
    assert "Conformance report" not in text


def test_interrupted_run_still_writes_results(runs):
    folder, text, code = runs["interrupt"]
    assert code == 2
    doc = load_results(folder / "out" / "results.json")
    assert doc["run"]["interrupted"] is True
    assert [r["id"] for r in doc["records"]] == ["op-exp-before"]
    assert (folder / "out" / "index.html").is_file()
    assert "run interrupted" in text


def test_replay_command_names_a_non_default_backend(tmp_path: Path) -> None:
    """A discrepancy found in a third-party backend must replay in that backend, not in minigrad."""
    from conformance.plugin import Recorder

    rec = Recorder(tmp_path, "reports/x", backend="pkg.mod:Mine")
    repro = rec.write_case("op-exp-torch64-1", {"version": 1}, "print(1)\n")
    assert repro["command"] == "python -m conformance repro reports/x/cases/op-exp-torch64-1.json --backend pkg.mod:Mine"
    default = Recorder(tmp_path, "reports/x", backend="minigrad").write_case("a", {"version": 1}, "")
    assert "--backend" not in default["command"]
